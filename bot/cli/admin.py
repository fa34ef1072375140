"""`chatops integrations|channels|routes|keys`: the admin commands, run against the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from typing import Any

from bot.cli.common import UsageError, cli_by
from bot.core.documents import channel_document, route_document
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.integrations import admin as service
from bot.core.integrations import channels
from bot.core.services import Services
from bot.infra.secrets import SecretKeyError, generate_key
from bot.infra.settings import Settings
from domain import Scope


def add_admin_commands(sub: Any) -> None:
    """Register the admin subcommands on the top-level parser."""
    integ = sub.add_parser(
        "integrations", help="list, add, show, test, sync, logs, enable, disable, remove"
    )
    isub = integ.add_subparsers(dest="action", metavar="ACTION")
    isub.add_parser("list", help="every integration, secrets masked")
    add = isub.add_parser("add", help="add an integration; secret settings are prompted for")
    add.add_argument("type", choices=service.type_ids())
    add.add_argument("--name", required=True)
    add.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a non-secret setting; repeatable",
    )
    add.add_argument(
        "--secrets-stdin",
        action="store_true",
        help="read secret settings as NAME=VALUE lines from standard input",
    )
    for verb in ("show", "test", "enable", "disable", "remove"):
        p = isub.add_parser(verb, help=f"{verb} an integration by name or id")
        p.add_argument("name")
    isync = isub.add_parser("sync", help="run an integration's sync now and print what it did")
    isync.add_argument("name")
    isync.add_argument("--incremental", action="store_true", help="from the last cursor only")
    ilogs = isub.add_parser("logs", help="an integration's sync history, newest first")
    ilogs.add_argument("name")
    ilogs.add_argument("--limit", type=int, default=20)
    for p in (integ, *isub.choices.values()):
        p.add_argument("--tenant", default="default")

    chan = sub.add_parser("channels", help="destinations that routes send to")
    csub = chan.add_subparsers(dest="action", metavar="ACTION")
    csub.add_parser("list")
    cadd = csub.add_parser("add", help="a destination of an integration")
    cadd.add_argument("name")
    cadd.add_argument("--integration", required=True, help="integration name or id")
    cadd.add_argument("--target", default="", help="e.g. a webhook URL or a Slack channel id")
    cadd.add_argument("--rate-per-minute", type=int)
    crm = csub.add_parser("remove")
    crm.add_argument("name")
    for p in (chan, *csub.choices.values()):
        p.add_argument("--tenant", default="default")

    routes = sub.add_parser("routes", help="which alerts go to which channel")
    rsub = routes.add_subparsers(dest="action", metavar="ACTION")
    rsub.add_parser("list")
    radd = rsub.add_parser("add", help="send matching alerts to a channel")
    radd.add_argument("channel", help="channel name or id")
    radd.add_argument("--event", dest="event_glob", default="*", help="event-type glob")
    radd.add_argument("--min", dest="min_priority", default="INFO", help="minimum priority")
    radd.add_argument("--stakeholder", action="append", default=[])
    radd.add_argument("--source", dest="source_glob", default="*")
    radd.add_argument("--user", dest="user_id")
    radd.add_argument("--level", dest="escalation_level", type=int, default=0)
    radd.add_argument("--default", action="store_true", help="only for alerts no other route takes")
    radd.add_argument(
        "--actions",
        help="the verbs its cards offer, comma-separated (default: all), e.g. acknowledge,resolve",
    )
    rrm = rsub.add_parser("remove")
    rrm.add_argument("route_id")
    for p in (routes, *rsub.choices.values()):
        p.add_argument("--tenant", default="default")

    conf = sub.add_parser("config", help="the whole configuration as one YAML file")
    csub2 = conf.add_subparsers(dest="action", metavar="ACTION")
    export = csub2.add_parser("export", help="write integrations, channels, routes, preferences")
    export.add_argument(
        "--output", help="a file or s3://bucket/key to write (default: standard output)"
    )
    export.add_argument("--tenant", help="one tenant only (default: every tenant)")
    apply = csub2.add_parser("apply", help="make the database match a file; prints the plan")
    apply.add_argument("location", help="the file, or s3://bucket/key")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    apply.add_argument(
        "--prune",
        action="store_true",
        help="also delete what the file does not name (asks first on a terminal)",
    )
    apply.add_argument(
        "--yes", action="store_true", help="with --prune: delete without asking (for scripts)"
    )
    apply.add_argument("--tenant", help="apply one tenant of the file only")
    imported = csub2.add_parser(
        "import-alertmanager",
        help="turn an Alertmanager configuration into this bot's file; says what it left out",
    )
    imported.add_argument("location", help="alertmanager.yml, or s3://bucket/key")
    imported.add_argument("--output", help="the file to write (default: standard output)")
    imported.add_argument("--tenant", default="default", help="the tenant the file is for")

    keys = sub.add_parser("keys", help="encryption keys for stored secrets, and REST API keys")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    ksub.add_parser("generate", help="print a new key to put first in CHATOPS_SECRET_KEY")
    ksub.add_parser("rotate", help="re-encrypt every stored secret with the newest key")
    api = ksub.add_parser("api", help="REST API keys: one tenant each, shown once, stored hashed")
    asub = api.add_subparsers(dest="api_action", required=True, metavar="ACTION")
    create = asub.add_parser("create", help="make a key and print it (the only time it is shown)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", required=True, help="the actor its calls are audited as")
    create.add_argument("--scope", required=True, choices=[s.value for s in Scope])
    listing = asub.add_parser("list", help="keys with tenant, scope and prefix; never the secret")
    listing.add_argument("--tenant", help="one tenant's keys only")
    revoke = asub.add_parser("revoke", help="revoke a key by tenant and name, at once")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("--name", required=True)

    trail = sub.add_parser("audit", help="who changed or did what, newest first")
    trail.add_argument("--since", default="1d", help="a duration back (1d, 4h) or an ISO time")
    trail.add_argument("--tenant", help="one tenant only (default: every tenant)")
    trail.add_argument("--actor", help="one actor only (slack:U123, key:ci, cli:ana...)")
    trail.add_argument("--kind", help="a kind (integration.create) or its first word (route)")
    trail.add_argument("--limit", type=int, default=100, help="at most this many (1-500)")
    trail.set_defaults(action="list")


def run_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Run an admin subcommand; 2 on bad input, 1 on other failures."""
    if args.command == "keys" and args.action == "generate":
        print(generate_key())
        return 0
    if getattr(args, "action", None) is None:
        raise UsageError(f"{args.command}: choose an action (see chatops {args.command} --help)")
    try:
        return asyncio.run(_run(args, settings))
    except (InvalidRequest, NotFound, Conflict, SecretKeyError) as exc:
        raise UsageError(str(exc)) from None


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.instance import check_key
    from bot.runtime.app import build_services

    services = build_services(settings)
    try:
        if services.db.is_sqlite:
            await services.db.upgrade()
        if not await services.db.pending_migrations():
            await check_key(services.db, services.keyring)  # never write with a stranger's key
        handler = {
            "integrations": _integrations,
            "channels": _channels,
            "routes": _routes,
            "keys": _keys,
            "config": _config,
            "audit": _audit,
        }[args.command]
        return await handler(args, services)
    finally:
        await services.announced()  # other processes hear of what changed before this exits
        await services.http.aclose()
        await services.db.dispose()


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _settings_from(args: argparse.Namespace) -> dict[str, Any]:
    secret_settings = service.secret_settings(args.type)
    secret = {name for name, _label in secret_settings}
    values: dict[str, Any] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidRequest(f"--set {item!r}: use NAME=VALUE")
        if name in secret:
            raise InvalidRequest(
                f"{name} is secret, so --set does not take it (it would stay in your shell "
                f"history): leave it out to be asked, or pipe it in: "
                f"echo '{name}=...' | chatops integrations add {args.type} --name "
                f"{args.name!r} --secrets-stdin"
            )
        values[name] = value
    if args.secrets_stdin:
        for line in sys.stdin.read().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
    elif sys.stdin.isatty():
        for name, label in secret_settings:
            answer = getpass.getpass(f"{label} ({name}): ")
            if answer:
                values[name] = answer
    else:  # no terminal to ask on: say how to give them
        needed = [s.name for s in service.required_secrets(args.type) if s.name not in values]
        if needed:
            lines = " ".join(f"{n}=..." for n in needed)
            raise InvalidRequest(
                f"{', '.join(needed)} required and secret, and there is no terminal to ask on: "
                f"pipe NAME=VALUE lines to --secrets-stdin, for example "
                f"printf '%s\\n' {lines} | chatops integrations add {args.type} "
                f"--name {args.name!r} --secrets-stdin"
            )
    return values


async def _integrations(args: argparse.Namespace, services: Services) -> int:
    tenant = args.tenant
    if args.action == "list":
        rows = await service.listed(services, tenant)
        _print([service.integration_document(r, services.keyring) for r in rows])
        return 0
    if args.action == "add":
        body = {"type": args.type, "name": args.name, "settings": _settings_from(args)}
        row = await service.create(services, tenant, body, cli_by())
        _print(service.integration_document(row, services.keyring))
        return 0
    if args.action == "test":
        outcome = await service.test(services, tenant, args.name, cli_by())
        _print(outcome)
        return 0 if outcome["success"] else 1
    if args.action == "sync":
        row = await service.one(services, tenant, args.name)
        ran = await services.sync.run(
            row.id, kind="incremental" if args.incremental else "full", trigger="cli"
        )
        print(f"{row.name}: {ran.describe()}")
        return 0 if ran.status == "success" else 1
    if args.action == "logs":
        row, runs = await service.history(services, tenant, args.name, max(1, args.limit))
        _print([service.sync_document(r) for r in runs])
        return 0
    if args.action in ("enable", "disable"):
        row = await service.update(
            services, tenant, args.name, {"is_active": args.action == "enable"}, cli_by()
        )
        print(f"{row.name}: {'enabled' if row.is_active else 'disabled'}")
        return 0
    if args.action == "remove":
        row = await service.remove(services, tenant, args.name, cli_by())
        print(f"removed {row.name}")
        return 0
    row = await service.one(services, tenant, args.name)
    _print(service.integration_document(row, services.keyring))
    return 0


async def _channels(args: argparse.Namespace, services: Services) -> int:
    if args.action == "list":
        _print([channel_document(c) for c in await channels.channels(services, args.tenant)])
    elif args.action == "add":
        body: dict[str, Any] = {
            "name": args.name,
            "target": args.target,
            "integration": args.integration,
        }
        if args.rate_per_minute:
            body["rate_per_minute"] = args.rate_per_minute
        _print(channel_document(await channels.add_channel(services, args.tenant, body, cli_by())))
    else:
        await channels.remove_channel(services, args.tenant, args.name, cli_by())
        print(f"removed {args.name}")
    return 0


async def _routes(args: argparse.Namespace, services: Services) -> int:
    if args.action == "list":
        _print([route_document(r) for r in await channels.routes(services, args.tenant)])
    elif args.action == "add":
        fields = ("event_glob", "min_priority", "source_glob", "user_id", "escalation_level")
        body = {k: getattr(args, k) for k in fields}
        body["channel"] = args.channel
        body["stakeholders"] = args.stakeholder
        body["default"] = args.default
        if args.actions is not None:
            body["actions"] = args.actions
        _print(route_document(await channels.add_route(services, args.tenant, body, cli_by())))
    else:
        removed = await channels.remove_route(services, args.tenant, args.route_id, cli_by())
        print(f"removed route {removed}")
    return 0


async def _config(args: argparse.Namespace, services: Services) -> int:
    from bot.core import config_files
    from bot.core.config_apply import ConfigError
    from bot.core.config_export import export_document, to_yaml

    endpoint = services.settings.s3_endpoint_url
    try:
        if args.action == "apply":
            return await apply_file(
                services, args.location, args.prune, args.tenant, args.dry_run, args.yes
            )
        if args.action == "import-alertmanager":
            return await _import_alertmanager(args, endpoint)
        text = to_yaml(await export_document(services.db, services.keyring, args.tenant))
        if args.output:
            await config_files.write(args.output, text, endpoint)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except ConfigError as exc:
        raise InvalidRequest(str(exc)) from None
    return 0


async def _import_alertmanager(args: argparse.Namespace, endpoint: str | None) -> int:
    """`config import-alertmanager`: the file on standard output (or --output), and on
    standard error the variables to set and what was not carried over."""
    from bot.core import config_files
    from bot.core.config_export import to_yaml
    from bot.core.config_import import HEADER, from_alertmanager, report

    raw = await config_files.read(args.location, endpoint)
    imported = from_alertmanager(raw, args.location, args.tenant)
    name = args.location.rsplit("/", 1)[-1]
    text = to_yaml(imported.document, HEADER.format(source=name))
    if args.output:
        await config_files.write(args.output, text, endpoint)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    sys.stderr.write(report(imported))
    return 0


async def apply_file(
    services: Services,
    location: str,
    prune: bool,
    tenant: str | None,
    dry_run: bool,
    yes: bool = False,
) -> int:
    """Read, check and apply a configuration file, printing the plan; ConfigError if it
    cannot be applied (then nothing changed). A prune that deletes anything is shown first
    and asked about on a terminal, and needs `yes` otherwise."""
    from bot.core import config_apply, config_files

    raw = await config_files.read(location, services.settings.s3_endpoint_url)
    document = config_apply.parse(raw, location)

    async def run(dry: bool) -> config_apply.Outcome:
        return await config_apply.apply(
            services,
            document,
            source=location,
            prune=prune,
            tenant=tenant,
            dry_run=dry,
            env=os.environ,  # the operator's own environment fills the file's variables
        )

    if prune and not dry_run and not yes:
        plan = await run(True)
        deletions = [c for c in plan.changes if c.op == "-"]
        if deletions:
            if not sys.stdin.isatty():
                raise InvalidRequest(
                    f"--prune would delete {len(deletions)} thing(s) (see them with "
                    "--dry-run); add --yes to apply without a terminal to ask on"
                )
            for line in plan.lines():
                print(line)
            question = f"Apply, deleting {len(deletions)} of these? [y/N] "
            answer = (await asyncio.to_thread(input, question)).strip().lower()
            if answer not in ("y", "yes"):
                print("nothing changed", file=sys.stderr)
                return 1
    outcome = await run(dry_run)
    for line in outcome.lines():
        print(line)
    if outcome.changes:
        done = "would be made (dry run)" if dry_run else "made"
        print(f"{len(outcome.changes)} change(s) {done}", file=sys.stderr)
    return 0


async def _api_keys(args: argparse.Namespace, services: Services) -> int:
    keys = services.keys
    if args.api_action == "create":
        try:
            key, info = await keys.create(args.tenant, args.name, args.scope, by=cli_by())
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        print(key)
        print(
            f"created key {info.name!r} ({info.scope.value}) for tenant {info.tenant!r}; "
            "it is shown only now: keep it in a secret store",
            file=sys.stderr,
        )
        return 0
    if args.api_action == "list":
        for info in await keys.listed(args.tenant):
            state = f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "live"
            print(
                f"{info.tenant}\t{info.name}\t{info.scope.value}\tchk_{info.prefix}_…"
                f"\t{info.created_at:%Y-%m-%d}\t{state}"
            )
        return 0
    if not await keys.revoke(args.tenant, args.name, cli_by()):
        raise InvalidRequest(f"no live key {args.name!r} in tenant {args.tenant!r}")
    print(f"revoked key {args.name!r} of tenant {args.tenant!r}")
    return 0


async def _audit(args: argparse.Namespace, services: Services) -> int:
    from datetime import UTC, datetime

    from bot.core import audit

    try:
        since = audit.since_of(args.since, datetime.now(UTC))
    except ValueError as exc:
        raise InvalidRequest(f"--since: {exc}") from None
    if not 1 <= args.limit <= audit.MAX_LISTED:
        raise InvalidRequest(f"--limit: 1 to {audit.MAX_LISTED}")
    entries = await audit.trail(
        services.db, args.tenant, since=since, actor=args.actor, kind=args.kind, limit=args.limit
    )
    for e in entries:
        detail = json.dumps(e.data, sort_keys=True, ensure_ascii=False, default=str)
        about = f" alert {e.alert_id}" if e.alert_id else ""
        print(f"{e.at:%Y-%m-%dT%H:%M:%SZ}\t{e.tenant}\t{e.actor}\t{e.verb}{about}\t{detail}")
    if not entries:
        print("nothing in that time", file=sys.stderr)
    return 0


async def _keys(args: argparse.Namespace, services: Services) -> int:
    if args.action == "api":
        return await _api_keys(args, services)
    count = await service.rotate_secrets(services, cli_by())
    print(f"re-encrypted the secrets of {count} integration(s) with the newest key")
    return 0
