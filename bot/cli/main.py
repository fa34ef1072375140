"""The `chatops` command: run the bot, migrate, send events, administer integrations and routes."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Parser, UsageError
from bot.infra.settings import Settings, SettingsError, load_settings


def build_parser() -> Parser:
    """Every subcommand, with help a newcomer can follow."""
    parser = Parser(
        prog="chatops",
        description="Alerts into Slack and Microsoft Teams as cards you can act on.",
        epilog="Settings come from CHATOPS_* environment variables or ./.env; see the README.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    run = sub.add_parser("run", help="start the bot (web server, delivery workers, scheduler)")
    run.add_argument("--host", help="listen address (CHATOPS_HOST, default 127.0.0.1)")
    run.add_argument("--port", type=int, help="listen port (CHATOPS_PORT, default 3000)")
    run.add_argument(
        "--role",
        choices=["all", "web", "worker", "scheduler"],
        default="all",
        help="run one part only, for several processes on PostgreSQL",
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        help="apply this configuration file (or s3://bucket/key) first; refuse to start if it "
        "does not apply",
    )

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    db_sub.add_parser("upgrade", help="apply pending migrations")
    db_sub.add_parser("status", help="show whether migrations are pending")

    send = sub.add_parser("send", help="submit an event to a running bot and print its id")
    send.add_argument("--title", required=True)
    send.add_argument("--priority", help="CRITICAL, HIGH, MEDIUM, LOW or INFO")
    send.add_argument("--type", dest="event_type", help="event type, e.g. deploy.failed")
    send.add_argument("--body", help="longer text")
    send.add_argument("--dedup-key", help="repeat events with this key update one alert")
    send.add_argument("--stakeholder", action="append", default=[], help="repeatable")
    send.add_argument("--url", dest="link", help="link shown on the card")
    send.add_argument("--tenant", help="the tenant (a tenant's key sends to its own)")
    send.add_argument(
        "--api", help="the bot's base URL (default: http://CHATOPS_HOST:CHATOPS_PORT)"
    )
    send.add_argument(
        "--key",
        help="an API key (default: CHATOPS_API_KEY, then CHATOPS_API_TOKEN); "
        "a tenant's events:write key works",
    )

    prev = sub.add_parser("preview", help="print the card an event JSON would become")
    prev.add_argument("--format", choices=["blockkit", "adaptive"], required=True)
    prev.add_argument(
        "--state",
        choices=["triggered", "acknowledged", "escalated", "snoozed", "resolved"],
        default="triggered",
    )
    prev.add_argument(
        "file",
        nargs="?",
        default="-",
        help="event JSON, the shape of POST /api/v1/events (default: stdin)",
    )

    from bot.cli.admin_args import add_admin_commands

    add_admin_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        for line in exc.lines:
            print(f"chatops: {line}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return dispatch(args, settings)
    except UsageError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        from bot.runtime.database import database_refusal

        lines = database_refusal(exc)
        if lines is None:
            raise
        for line in lines:  # a locked SQLite file, a server that is down: said, not a traceback
            print(f"chatops: {line}", file=sys.stderr)
        return EXIT_ERROR


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen subcommand."""
    if args.command == "run":
        return run(args, settings)
    if args.command == "db":
        return asyncio.run(db_command(args.action, settings))
    if args.command == "send":
        return send(args, settings)
    if args.command == "preview":
        from bot.cli.preview import PreviewError, preview

        try:
            return preview(args.file, args.format, args.state, settings.public_url)
        except PreviewError as exc:
            raise UsageError(str(exc)) from None
    from bot.cli.admin import run_admin

    return run_admin(args, settings)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the bot and serve until interrupted."""

    from bot.core.alerts.defaults import DefaultsError, env_overrides
    from bot.infra.logs import setup_logging
    from bot.infra.secrets import SecretKeyError
    from bot.runtime import serving
    from bot.runtime.app import create_app

    setup_logging(settings.log_level, settings.log_format)
    host = args.host or settings.host
    port = args.port or settings.port
    if not 1 <= port <= 65535:
        raise UsageError(f"--port: got {port}; expected 1 to 65535")
    if args.config:
        asyncio.run(apply_at_start(settings, args.config))
    try:
        env_overrides()
        app = create_app(settings, role=args.role)
    except (DefaultsError, SecretKeyError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"chatops: serving on http://{host}:{port} (role {args.role}); "
        f"health at http://{host}:{port}/health",
        file=sys.stderr,
        flush=True,
    )
    try:
        asyncio.run(serving.serve(app, host, port, settings.request_header_seconds))
    except SecretKeyError as exc:  # this process's key is not the installation's
        raise UsageError(f"{exc}; not starting") from None
    return EXIT_OK


async def apply_at_start(settings: Settings, location: str) -> None:
    """`run --config`: the file applied before serving, or UsageError and no start."""
    from bot.cli.config import apply_file
    from bot.core.config_reading import ConfigError
    from bot.runtime.app import build_services

    services = build_services(settings)
    try:
        if services.db.is_sqlite:
            await services.db.upgrade()
        await apply_file(services, location, prune=False, tenant=None, dry_run=False)
    except ConfigError as exc:
        raise UsageError(f"--config: {exc}; not starting") from None
    finally:
        await services.announced()
        await services.http.aclose()
        await services.db.dispose()


async def db_command(action: str, settings: Settings) -> int:
    """`db upgrade` and `db status`."""
    from bot.runtime import database

    try:
        if action == "upgrade":
            print(await database.upgrade(settings))
        else:
            pending = await database.pending(settings)
            print("pending: " + ", ".join(pending) if pending else "schema is current")
            return EXIT_ERROR if pending else EXIT_OK
    except OSError as exc:
        print(f"chatops: cannot reach the database: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def send(args: argparse.Namespace, settings: Settings) -> int:
    """POST an event to a running bot."""
    import httpx

    token = (
        args.key
        or os.environ.get("CHATOPS_API_KEY", "")
        or (settings.api_token.get_secret_value() if settings.api_token else "")
    )
    if not token:
        raise UsageError(
            "no key: give --key, or set CHATOPS_API_KEY (a tenant's key, `chatops keys api "
            "create`) or CHATOPS_API_TOKEN (the operator's)"
        )
    body: dict[str, Any] = {"title": args.title}
    if args.tenant:
        body["tenant"] = args.tenant
    for name in ("priority", "event_type", "body", "dedup_key", "link"):
        value = getattr(args, name)
        if value is not None:
            body[name] = value
    if args.stakeholder:
        body["stakeholders"] = args.stakeholder
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    base = (args.api or f"http://{host}:{settings.port}").rstrip("/")
    try:
        resp = httpx.post(
            f"{base}/api/v1/events",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(f"chatops: cannot reach the bot at {base}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    data = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    if resp.status_code >= 400:
        message = data.get("error", {}).get("message", resp.text[:200])
        print(f"chatops: refused ({resp.status_code}): {message}", file=sys.stderr)
        return EXIT_USAGE if resp.status_code < 500 else EXIT_ERROR
    print(data.get("id") or json.dumps(data))
    for line in data.get("cleaned") or []:  # what the bot changed in the event, said aloud
        print(f"chatops: cleaned: {line}", file=sys.stderr)
    return EXIT_OK
