"""The commands of the chat grammar; importing this module registers them."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.registry import TYPES, adapter_type
from bot.chat.commands import CommandError, Context, command, help_text
from bot.core.alerts import preferences
from bot.core.errors import InvalidRequest
from bot.core.integrations import admin as integration_service
from bot.model import Priority, Verb
from storage import admin, outbox
from storage import config as config_repo
from storage import events as events_repo
from storage.schema import Channel, Event, TenantAdmin, UserOverride, utcnow

SHOWN_SYNCS = 5  # `integrations show` lists this many recent syncs


@command("help", usage="help")
async def help_command(ctx: Context, args: list[str]) -> str:
    """Every command and how to type it."""
    return help_text()


@command("status", usage="status")
async def status(ctx: Context, args: list[str]) -> str:
    """Open alerts by priority and the delivery queue."""
    async with ctx.services.db.session() as session:
        rows = await session.execute(
            select(Event.priority, func.count())
            .where(Event.tenant_id == ctx.tenant, Event.state != "resolved")
            .group_by(Event.priority)
        )
        counts = dict(rows.all())
        depth = await outbox.counts_by_status(session)
    opened = ", ".join(f"{counts[p.value]} {p.value}" for p in Priority if counts.get(p.value))
    waiting = depth.get("pending", 0) + depth.get("failed", 0)
    return (
        f"Open alerts: {opened or 'none'}. Deliveries waiting: {waiting}, "
        f"dead-lettered: {depth.get('dead', 0)}."
    )


async def _channel_here(ctx: Context, session: AsyncSession) -> Channel:
    """The channel row for where the command was typed, made on first use."""
    if ctx.integration_id is None:
        raise CommandError("This workspace has no connected integration to post with.")
    channel = (
        await session.scalars(
            select(Channel).where(
                Channel.tenant_id == ctx.tenant,
                Channel.type == ctx.platform,
                Channel.target == ctx.channel_id,
            )
        )
    ).first()
    if channel is None:
        channel = await admin.add_channel(
            session,
            Channel(
                tenant_id=ctx.tenant,
                name=f"{ctx.platform}:{ctx.channel_name or ctx.channel_id}"[:255],
                type=ctx.platform,
                integration_id=ctx.integration_id,
                target=ctx.channel_id,
                config={},
                rate_per_minute=TYPES[ctx.platform].rate_per_minute,
            ),
        )
    return channel


@command("subscribe", usage="subscribe [<event-glob>] [min=<PRIORITY>] [default]", admin=True)
async def subscribe(ctx: Context, args: list[str]) -> str:
    """Route matching alerts to this channel."""
    glob, minimum, is_default = "*", "INFO", False
    for arg in args:
        if arg.lower() == "default":
            is_default = True
        elif arg.lower().startswith("min="):
            minimum = arg.split("=", 1)[1].upper()
        else:
            glob = arg
    if minimum not in Priority.__members__:
        raise CommandError(
            f"`{minimum}` is not a priority; use one of {', '.join(p.value for p in Priority)}."
        )
    async with ctx.services.db.session() as session, session.begin():
        channel = await _channel_here(ctx, session)
        try:
            route = integration_service.new_route(
                ctx.tenant,
                {"event_glob": glob, "min_priority": minimum, "default": is_default},
                channel,
                f"{ctx.platform}:{ctx.actor.id}",
            )
        except InvalidRequest as exc:
            raise CommandError(str(exc)) from None
        session.add(route)
        await session.flush()
    ctx.services.ingest.cache.invalidate()
    return (
        f"Subscribed: alerts matching `{glob}` at {minimum} or above will appear here. "
        f"Route `{route.id[:8]}`; `unsubscribe {route.id[:8]}` stops it."
    )


@command("unsubscribe", usage="unsubscribe <route-id>", admin=True)
async def unsubscribe(ctx: Context, args: list[str]) -> str:
    """Remove a route."""
    if len(args) != 1:
        raise CommandError("Give the route id (see `routes`).")
    async with ctx.services.db.session() as session, session.begin():
        try:
            route = await admin.route(session, ctx.tenant, args[0])
        except admin.NotFound as exc:
            raise CommandError(f"{exc}.") from None
        await session.delete(route)
    ctx.services.ingest.cache.invalidate()
    return f"Route `{route.id[:8]}` removed."


@command("routes", usage="routes")
async def routes(ctx: Context, args: list[str]) -> str:
    """Every route of this workspace."""
    async with ctx.services.db.session() as session:
        rows = await admin.routes(session, ctx.tenant)
        channels = {c.id: c.name for c in await admin.channels(session, ctx.tenant)}
    if not rows:
        return "No routes yet. `subscribe` in a channel sends alerts there."
    return "\n".join(
        f"• `{r.id[:8]}` `{r.event_glob}` min {r.min_priority} → {channels.get(r.channel_id, '?')}"
        + (f" (level {r.escalation_level})" if r.escalation_level else "")
        for r in rows
    )


@command("integrations", usage="integrations [list|show|test|enable|disable|remove|sync <name>]")
async def integrations(ctx: Context, args: list[str]) -> str:
    """List integrations, or act on one."""
    action = args[0].lower() if args else "list"
    if action == "list":
        async with ctx.services.db.session() as session:
            rows = await admin.integrations(session, ctx.tenant)
        if not rows:
            return "No integrations yet."
        return "\n".join(
            f"• {r.name} ({r.type}): {'enabled' if r.is_active else 'disabled'}, "
            f"{r.connection_status or 'not tested'}"
            for r in rows
        )
    if action == "add":
        kind = args[1] if len(args) > 1 else ""
        known = ", ".join(sorted(TYPES))
        if kind not in TYPES:
            raise CommandError(f"Name a type: {known}.")
        if ctx.open_form is not None:
            return await ctx.open_form(kind)
        return (
            f"Adding a {kind} integration takes a form with its secrets, which is not built "
            f"yet in chat: use `chatops integrations add {kind}` or the REST API."
        )
    if len(args) < 2:
        raise CommandError(f"Name the integration to {action}.")
    return await _integration_action(ctx, action, " ".join(args[1:]))


async def _integration_action(ctx: Context, action: str, name: str) -> str:
    services = ctx.services
    try:
        if action == "show":
            return await _show_integration(ctx, name)
        if action == "test":
            outcome = await integration_service.test(services, ctx.tenant, name)
            return (
                f"✅ {name}: {outcome['detail']}"
                if outcome["success"]
                else f"❌ {name}: {outcome['error']}"
            )
        if action in ("enable", "disable"):
            row = await integration_service.update(
                services, ctx.tenant, name, {"is_active": action == "enable"}
            )
            services.ingest.cache.invalidate()
            return f"{row.name} is now {action}d."
        if action == "remove":
            async with services.db.session() as session, session.begin():
                row = await admin.integration(session, ctx.tenant, name)
                await admin.remove_integration(session, row)
                session.add(
                    events_repo.audit_row(
                        ctx.tenant,
                        "integration.remove",
                        f"{ctx.platform}:{ctx.actor.id}",
                        ctx.platform,
                        {"integration": row.name, "id": row.id, "by": ctx.actor.name},
                    )
                )
            services.ingest.cache.invalidate()
            return f"{row.name} removed, with its channels."
        if action == "sync":
            return await _sync_integration(ctx, name)
    except admin.NotFound as exc:
        raise CommandError(f"{exc}.") from None
    raise CommandError(f"`{action}` is not something integrations can do.")


async def _show_integration(ctx: Context, name: str) -> str:
    """Settings (secrets masked), status, sync schedule and the last few syncs."""
    services = ctx.services
    async with services.db.session() as session:
        row = await admin.integration(session, ctx.tenant, name)
        history = await admin.sync_logs(session, row.id, SHOWN_SYNCS, 0)
    doc = integration_service.integration_document(row, services.keyring)
    settings = ", ".join(f"{k}={v}" for k, v in doc["settings"].items())
    lines = [
        f"*{row.name}* ({row.type}), {'enabled' if row.is_active else 'disabled'}, "
        f"connection {row.connection_status or 'not tested'}. Settings: {settings}"
    ]
    if row.sync_enabled:
        lines.append(f"Syncs every {row.sync_interval} min.")
    if row.credentials_expire_at:
        lines.append(f"Credentials expire {row.credentials_expire_at:%Y-%m-%d %H:%M} UTC.")
    for run in history:
        counts = (
            f"{run.records_processed} read, {run.records_updated} updated, "
            f"{run.records_failed} failed"
        )
        lines.append(
            f"• {run.started_at:%Y-%m-%d %H:%M} {run.sync_type} sync {run.status}: "
            + (counts if run.status == "success" else (run.error or "")[:200])
        )
    return "\n".join(lines)


async def _sync_integration(ctx: Context, name: str) -> str:
    """Run a full sync now and say what it did."""
    async with ctx.services.db.session() as session:
        row = await admin.integration(session, ctx.tenant, name)
    if not adapter_type(row.type).syncs:
        return f"{row.name} is a {row.type} integration; those do not sync."
    result = await ctx.services.sync.run(row.id, kind="full", trigger="manual")
    icon = {"success": "✅", "failed": "❌"}.get(result.status, "⏳")
    return f"{icon} {row.name}: {result.describe()}"


@command("prefs", usage="prefs [<category> on|off]")
async def prefs(ctx: Context, args: list[str]) -> str:
    """Show or change which integration events the admins hear about."""
    if args:
        if not ctx.is_admin:
            return "Sorry, only admins can change preferences."
        if len(args) != 2 or args[1].lower() not in ("on", "off"):
            raise CommandError("Say which category and on or off.")
        name = preferences.category(args[0])
        if name is None:
            raise CommandError(
                f"`{args[0]}` is not a category ({', '.join(preferences.DEFAULTS)})."
            )
        async with ctx.services.db.session() as session, session.begin():
            await config_repo.set_preference(
                session,
                ctx.tenant,
                {name: args[1].lower() == "on"},
                f"{ctx.platform}:{ctx.actor.id}",
            )
        ctx.services.ingest.cache.invalidate()
    async with ctx.services.db.session() as session:
        current = await config_repo.preferences(session, ctx.tenant) or dict(preferences.DEFAULTS)
    return "Integration events: " + ", ".join(
        f"{name} {'on' if on else 'off'}" for name, on in current.items()
    )


@command("me", usage="me [<type> on|off | retries <n>]")
async def me(ctx: Context, args: list[str]) -> str:
    """Your own delivery overrides on top of the system defaults."""
    user = f"{ctx.platform}:{ctx.actor.id}"
    if args:
        kind, value = [*args, ""][:2]
        if kind.lower() == "retries":
            if not value.isdigit() or int(value) > 10:
                raise CommandError("Retries is a number from 0 to 10.")
            field, setting, kinds = "retry_count", int(value), [ctx.platform.upper()]
        elif value.lower() in ("on", "off"):
            field, setting, kinds = "enabled", value.lower() == "on", [kind.upper()]
        else:
            raise CommandError("Say a type and on or off, or retries and a number.")
        async with ctx.services.db.session() as session, session.begin():
            for name in kinds:
                row = (
                    await session.scalars(
                        select(UserOverride).where(
                            UserOverride.tenant_id == ctx.tenant,
                            UserOverride.user_id == user,
                            UserOverride.integration_type == name,
                        )
                    )
                ).first()
                if row is None:
                    row = UserOverride(
                        tenant_id=ctx.tenant, user_id=user, integration_type=name, config={}
                    )
                    session.add(row)
                setattr(row, field, setting)
                row.updated_at = utcnow()
    async with ctx.services.db.session() as session:
        mine = await config_repo.overrides(session, ctx.tenant, user)
    if not mine:
        return "You use the system defaults."
    return "Your overrides: " + "; ".join(
        f"{k}: " + ", ".join(f"{f}={v}" for f, v in data.items()) for k, data in mine.items()
    )


@command("admins", usage="admins [add|remove <user-id> | channel here]")
async def admins(ctx: Context, args: list[str]) -> str:
    """The people admins made admins of this workspace, on this platform; their channel."""
    if [a.lower() for a in args] == ["channel", "here"]:
        return await _admin_channel_here(ctx)
    if args:
        if not ctx.is_admin:
            return "Sorry, only admins can change who is an admin."
        if len(args) != 2 or args[0].lower() not in ("add", "remove"):
            raise CommandError("Say add or remove and a user id.")
        user = args[1].strip("<@>").split("|", 1)[0]
        async with ctx.services.db.session() as session, session.begin():
            listed = await config_repo.is_listed_admin(session, ctx.tenant, ctx.platform, user)
            if args[0].lower() == "add" and not listed:
                session.add(
                    TenantAdmin(
                        tenant_id=ctx.tenant,
                        platform=ctx.platform,
                        user_id=user,
                        added_by=f"{ctx.platform}:{ctx.actor.id}",
                    )
                )
            elif args[0].lower() == "remove" and listed:
                await session.execute(
                    delete(TenantAdmin).where(
                        TenantAdmin.tenant_id == ctx.tenant,
                        TenantAdmin.platform == ctx.platform,
                        TenantAdmin.user_id == user,
                    )
                )
            session.add(
                events_repo.audit_row(
                    ctx.tenant,
                    f"admins.{args[0].lower()}",
                    f"{ctx.platform}:{ctx.actor.id}",
                    ctx.platform,
                    {"user": user},
                )
            )
    async with ctx.services.db.session() as session:
        listed_now = await config_repo.listed_admins(session, ctx.tenant)
    names = ", ".join(f"{p}:{u}" for p, u in listed_now)
    return f"Admins listed for this workspace: {names or 'none'} (plus CHATOPS_ADMINS" + (
        " and workspace admins and owners)." if ctx.platform == "slack" else ")."
    )


async def _admin_channel_here(ctx: Context) -> str:
    if not ctx.is_admin:
        return "Sorry, only admins can choose the admins' channel."
    async with ctx.services.db.session() as session, session.begin():
        channel = await _channel_here(ctx, session)
        await config_repo.set_admin_channel(session, ctx.tenant, channel.id)
        session.add(
            events_repo.audit_row(
                ctx.tenant,
                "admins.channel",
                f"{ctx.platform}:{ctx.actor.id}",
                ctx.platform,
                {"channel": channel.id},
            )
        )
    ctx.services.ingest.cache.invalidate()
    return (
        "This is now the admins' channel: integration problems (failed syncs and connection "
        "tests, expiring credentials, configuration changes) and dead letters come here, "
        "routes or not."
    )


async def _act(ctx: Context, verb: Verb, args: list[str]) -> str:
    if len(args) != 1:
        raise CommandError("Give the alert id.")
    outcome = await ctx.services.actions.apply(verb, args[0], ctx.actor)
    return outcome.message


@command("ack", usage="ack <alert-id>")
async def ack(ctx: Context, args: list[str]) -> str:
    """Acknowledge an alert."""
    return await _act(ctx, Verb.ACKNOWLEDGE, args)


@command("escalate", usage="escalate <alert-id>")
async def escalate(ctx: Context, args: list[str]) -> str:
    """Escalate an alert to the next level."""
    return await _act(ctx, Verb.ESCALATE, args)


@command("resolve", usage="resolve <alert-id>")
async def resolve(ctx: Context, args: list[str]) -> str:
    """Resolve an alert."""
    return await _act(ctx, Verb.RESOLVE, args)
