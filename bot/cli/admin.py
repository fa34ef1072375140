"""`chatops integrations|channels|routes|keys`: the admin commands, run against the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from pydantic import ValidationError

from bot.cli import config as cli_config
from bot.cli.common import UsageError, cli_by
from bot.core.documents import channel_document, route_document
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.integrations import admin as service
from bot.core.integrations import catalog, channels, documents
from bot.core.services import Services
from bot.core.specs import refusal
from bot.core.specs.integrations import IntegrationChange, IntegrationSpec
from bot.core.specs.routes import ChannelSpec, RouteSpec
from bot.infra.secrets import SecretKeyError, generate_key
from bot.infra.settings import Settings


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
            "config": cli_config.run,
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
    secret_settings = catalog.secret_settings(args.type)
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
        needed = [s.name for s in catalog.required_secrets(args.type) if s.name not in values]
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
        _print([documents.integration_document(r) for r in rows])
        return 0
    if args.action == "add":
        spec = IntegrationSpec(type=args.type, name=args.name, settings=_settings_from(args))
        row = await service.create(services, tenant, spec, cli_by())
        _print(documents.integration_document(row))
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
        _row, runs = await service.history(services, tenant, args.name, max(1, args.limit))
        _print(runs)
        return 0
    if args.action in ("enable", "disable"):
        change = IntegrationChange(is_active=args.action == "enable")
        row = await service.update(services, tenant, args.name, change, cli_by())
        print(f"{row.name}: {'enabled' if row.is_active else 'disabled'}")
        return 0
    if args.action == "remove":
        row = await service.remove(services, tenant, args.name, cli_by())
        print(f"removed {row.name}")
        return 0
    row = await service.one(services, tenant, args.name)
    _print(documents.integration_document(row))
    return 0


async def _channels(args: argparse.Namespace, services: Services) -> int:
    if args.action == "list":
        _print([channel_document(c) for c in await channels.channels(services, args.tenant)])
    elif args.action == "add":
        given = {
            "name": args.name,
            "target": args.target,
            "integration": args.integration,
            "rate_per_minute": args.rate_per_minute or None,
        }
        try:
            spec = ChannelSpec.model_validate({k: v for k, v in given.items() if v is not None})
        except ValidationError as exc:
            raise InvalidRequest(refusal(exc, ChannelSpec)) from None
        made = await channels.add_channel(services, args.tenant, spec, cli_by())
        _print(channel_document(made))
    else:
        await channels.remove_channel(services, args.tenant, args.name, cli_by())
        print(f"removed {args.name}")
    return 0


async def _routes(args: argparse.Namespace, services: Services) -> int:
    if args.action == "list":
        _print([route_document(r) for r in await channels.routes(services, args.tenant)])
    elif args.action == "add":
        fields = ("event_glob", "min_priority", "source_glob", "user_id", "escalation_level")
        given = {k: getattr(args, k) for k in (*fields, "actions") if getattr(args, k) is not None}
        try:
            spec = RouteSpec.model_validate(
                {
                    **given,
                    "channel": args.channel,
                    "stakeholders": args.stakeholder,
                    "default": args.default,
                }
            )
        except ValidationError as exc:
            raise InvalidRequest(refusal(exc, RouteSpec)) from None
        _print(route_document(await channels.add_route(services, args.tenant, spec, cli_by())))
    else:
        removed = await channels.remove_route(services, args.tenant, args.route_id, cli_by())
        print(f"removed route {removed}")
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
