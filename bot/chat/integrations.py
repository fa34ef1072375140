"""`integrations list|show|test|sync|remove|enable|disable <name>`: an integration's state,
recent syncs and connection, from chat."""

from __future__ import annotations

from bot.chat.grammar import CommandError, Context
from bot.core.errors import NotFound
from bot.core.integrations import admin as integration_service
from bot.core.integrations import catalog
from bot.core.specs.integrations import IntegrationChange

SHOWN_SYNCS = 5  # `integrations show` lists this many recent syncs


async def integrations(ctx: Context, args: list[str]) -> str:
    """List integrations, or act on one."""
    action = args[0].lower() if args else "list"
    if action == "list":
        rows = await integration_service.listed(ctx.services, ctx.tenant)
        if not rows:
            return "No integrations yet."
        return "\n".join(
            f"• {r.name} ({r.type}): {'enabled' if r.is_active else 'disabled'}, "
            f"{r.connection_status or 'not tested'}"
            for r in rows
        )
    if action == "add":
        kind = args[1] if len(args) > 1 else ""
        known = ", ".join(catalog.type_ids())
        if catalog.type_name(kind) is None:
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
            outcome = await integration_service.test(services, ctx.tenant, name, ctx.by)
            return (
                f"✅ {name}: {outcome['detail']}"
                if outcome["success"]
                else f"❌ {name}: {outcome['error']}"
            )
        if action in ("enable", "disable"):
            change = IntegrationChange(is_active=action == "enable")
            row = await integration_service.update(services, ctx.tenant, name, change, ctx.by)
            return f"{row.name} is now {action}d."
        if action == "remove":
            row = await integration_service.remove(
                services, ctx.tenant, name, ctx.by, ctx.actor.name
            )
            return f"{row.name} removed, with its channels."
        if action == "sync":
            return await _sync_integration(ctx, name)
    except NotFound as exc:
        raise CommandError(f"{exc}.") from None
    raise CommandError(f"`{action}` is not something integrations can do.")


async def _show_integration(ctx: Context, name: str) -> str:
    """Settings (secrets masked), status, sync schedule and the last few syncs."""
    services = ctx.services
    row, history = await integration_service.history(services, ctx.tenant, name, SHOWN_SYNCS)
    settings = ", ".join(f"{k}={v}" for k, v in row.settings.items())
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
            f"{run['records_processed']} read, {run['records_updated']} updated, "
            f"{run['records_failed']} failed"
        )
        started = (run["started_at"] or "")[:16].replace("T", " ")
        lines.append(
            f"• {started} {run['sync_type']} sync {run['status']}: "
            + (counts if run["status"] == "success" else (run["error"] or "")[:200])
        )
    return "\n".join(lines)


async def _sync_integration(ctx: Context, name: str) -> str:
    """Run a full sync now and say what it did."""
    row = await integration_service.one(ctx.services, ctx.tenant, name)
    if not catalog.type_syncs(row.type):
        return f"{row.name} is a {row.type} integration; those do not sync."
    result = await ctx.services.sync.run(row.id, kind="full", trigger="manual")
    icon = {"success": "✅", "failed": "❌"}.get(result.status, "⏳")
    return f"{icon} {row.name}: {result.describe()}"
