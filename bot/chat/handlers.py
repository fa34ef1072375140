"""The commands of the chat grammar, and `COMMANDS`, the table Slack and Teams run them from."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.chat import alerts, heartbeats, integrations, noise, on_call, reports
from bot.chat.grammar import Command, CommandError, Context, help_text, table
from bot.chat.grammar import run as commands_run
from bot.core import tenants, users
from bot.core.alerts import preferences, queries
from bot.core.errors import InvalidRequest, NotFound
from bot.core.integrations import channels
from bot.core.specs.routes import RouteSpec
from bot.core.specs.users import OverrideSpec
from domain import Priority

MATCHER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(=~|!~|!=|=)")  # a label matcher, not a glob


async def help_command(ctx: Context, args: list[str]) -> str:
    """Every command and how to type it."""
    return help_text(COMMANDS)


async def status(ctx: Context, args: list[str]) -> str:
    """Open alerts by priority and the delivery queue."""
    counts = await queries.open_counts(ctx.services, ctx.tenant)
    depth = (await queries.queue(ctx.services, datetime.now(UTC))).counts
    opened = ", ".join(f"{counts[p.value]} {p.value}" for p in Priority if counts.get(p.value))
    waiting = depth.get("pending", 0) + depth.get("failed", 0)
    return (
        f"Open alerts: {opened or 'none'}. Deliveries waiting: {waiting}, "
        f"dead-lettered: {depth.get('dead', 0)}."
    )


def _posting_here(ctx: Context) -> None:
    if ctx.integration_id is None:
        raise CommandError("This workspace has no connected integration to post with.")


async def subscribe(ctx: Context, args: list[str]) -> str:
    """Route matching alerts to this channel."""
    given: dict[str, Any] = {}  # what was typed; the spec has the defaults
    matchers: list[str] = []
    for arg in args:
        if arg.lower() == "default":
            given["default"] = True
        elif arg.lower().startswith("min="):
            given["min_priority"] = arg.split("=", 1)[1].upper()[:16]
        elif arg.lower().startswith("actions="):
            given["actions"] = arg.split("=", 1)[1]
        elif arg.lower().startswith("policy="):
            given["escalation_policy"] = arg.split("=", 1)[1][:255] or None
        elif arg.lower().startswith("group_by="):  # before matchers: it reads like one
            names = [n.strip() for n in arg.split("=", 1)[1].split(",") if n.strip()]
            given["group_by"] = names or None
        elif MATCHER.match(arg):
            matchers.append(arg)
        else:
            given["event_glob"] = arg[:255]
    minimum = given.get("min_priority")
    if minimum is not None and minimum not in Priority.__members__:
        raise CommandError(
            f"`{minimum}` is not a priority; use one of {', '.join(p.value for p in Priority)}."
        )
    _posting_here(ctx)
    spec = RouteSpec.model_validate({**given, "matchers": matchers or None})
    try:
        route = await channels.subscribe(ctx.services, ctx.place, spec, ctx.who)
    except InvalidRequest as exc:
        raise CommandError(str(exc)) from None
    offered = f" Cards offer {', '.join(route.actions)}." if route.actions else ""
    if route.matchers:
        offered += f" Only alerts whose labels match {', '.join(route.matchers)}."
    if route.escalation_policy:
        offered += f" Each new alert starts the escalation policy `{route.escalation_policy}`."
    if route.group_by:
        offered += f" Alerts with the same {', '.join(route.group_by)} share one card."
    return (
        f"Subscribed: alerts matching `{route.event_glob}` at {route.min_priority} or above will "
        f"appear here.{offered} "
        f"Route `{route.id[:8]}`; `unsubscribe {route.id[:8]}` stops it."
    )


async def unsubscribe(ctx: Context, args: list[str]) -> str:
    """Remove a route."""
    if len(args) != 1:
        raise CommandError("Give the route id (see `routes`).")
    try:
        removed = await channels.remove_route(ctx.services, ctx.tenant, args[0], ctx.by)
    except NotFound as exc:
        raise CommandError(f"{exc}.") from None
    return f"Route `{removed[:8]}` removed."


async def routes(ctx: Context, args: list[str]) -> str:
    """Every route of this workspace."""
    rows = await channels.routes(ctx.services, ctx.tenant)
    names = {c.id: c.name for c in await channels.channels(ctx.services, ctx.tenant)}
    if not rows:
        return "No routes yet. `subscribe` in a channel sends alerts there."
    return "\n".join(
        f"• `{r.id[:8]}` `{r.event_glob}` min {r.min_priority} → {names.get(r.channel_id, '?')}"
        + (f" (level {r.escalation_level})" if r.escalation_level else "")
        + (f" · offers {', '.join(r.actions)}" if r.actions else "")
        + (f" · pages by `{r.escalation_policy}`" if r.escalation_policy else "")
        + (f" · {', '.join(r.matchers)}" if r.matchers else "")
        + ("" if r.continue_ else " · stops here")
        for r in rows
    )


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
        await users.set_admin_preferences(
            ctx.services, ctx.tenant, {name: args[1].lower() == "on"}, ctx.by
        )
    current = await users.admin_preferences(ctx.services, ctx.tenant)
    return "Integration events: " + ", ".join(
        f"{name} {'on' if on else 'off'}" for name, on in current.items()
    )


async def me(ctx: Context, args: list[str]) -> str:
    """Who the bot takes you for (added from your chat identity the first time), and your own
    delivery overrides on top of the system defaults."""
    user = f"{ctx.platform}:{ctx.actor.id}"
    known = "" if args else await on_call.me(ctx, args) + "\n"
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
        spec = OverrideSpec.model_validate({field: setting})
        await users.set_override(ctx.services, ctx.tenant, user, kinds, spec, ctx.by)
    mine = await users.overrides(ctx.services, ctx.tenant, user)
    if not mine:
        return known + "You use the system defaults."
    return (
        known
        + "Your overrides: "
        + "; ".join(
            f"{k}: " + ", ".join(f"{f}={v}" for f, v in data.items()) for k, data in mine.items()
        )
    )


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
        await tenants.change_admin(
            ctx.services,
            ctx.tenant,
            ctx.platform,
            user,
            add=args[0].lower() == "add",
            actor=ctx.who,
        )
    listed_now = await tenants.listed_admins(ctx.services, ctx.tenant)
    names = ", ".join(f"{p}:{u}" for p, u in listed_now)
    return f"Admins listed for this workspace: {names or 'none'} (plus CHATOPS_ADMINS" + (
        " and workspace admins and owners)." if ctx.platform == "slack" else ")."
    )


async def _admin_channel_here(ctx: Context) -> str:
    if not ctx.is_admin:
        return "Sorry, only admins can choose the admins' channel."
    _posting_here(ctx)
    await channels.admin_channel_here(ctx.services, ctx.place, ctx.who)
    return (
        "This is now the admins' channel: integration problems (failed syncs and connection "
        "tests, expiring credentials, configuration changes) and dead letters come here, "
        "routes or not."
    )


COMMANDS = table(
    Command("help", help_command, usage="help"),
    Command(
        "oncall",
        on_call.oncall_command,
        usage="oncall [<schedule>] | oncall override <schedule> <@person|me> <duration>",
    ),
    Command("page", on_call.page, usage="page <@person|schedule> <alert-id>"),
    Command("people", on_call.people, usage="people"),
    Command(
        "silence",
        noise.silence,
        usage='silence <label>="<value>"... <duration> [comment] | silence expire <id>',
    ),
    Command("silences", noise.silences, usage="silences"),
    Command("heartbeats", heartbeats.heartbeats_command, usage="heartbeats"),
    Command("report", reports.report, usage=reports.USAGE),
    Command("heartbeat", heartbeats.heartbeat_command, usage=heartbeats.USAGE),
    Command("status", status, usage="status"),
    Command(
        "subscribe",
        subscribe,
        usage="subscribe [<event-glob>] [min=<PRIORITY>] [default] [actions=<verb>,<verb>] "
        '[<label>="<value>"...] '
        "[policy=<escalation policy>] [group_by=<label>,<label>]",
        admin=True,
    ),
    Command("unsubscribe", unsubscribe, usage="unsubscribe <route-id>", admin=True),
    Command("routes", routes, usage="routes"),
    Command(
        "integrations",
        integrations.integrations,
        usage="integrations [list|show|test|enable|disable|remove|sync <name>]",
    ),
    Command("prefs", prefs, usage="prefs [<category> on|off]"),
    Command("me", me, usage="me [<type> on|off | retries <n>]"),
    Command("admins", admins, usage="admins [add|remove <user-id> | channel here]"),
    Command("ack", alerts.ack, usage="ack <alert-id>"),
    Command("escalate", alerts.escalate, usage="escalate <alert-id>"),
    Command("resolve", alerts.resolve, usage="resolve <alert-id>"),
    Command("snooze", alerts.snooze, usage="snooze <alert-id> <30m|4h|1d>"),
    Command("unsnooze", alerts.unsnooze, usage="unsnooze <alert-id>"),
    Command("note", alerts.note, usage="note <alert-id> <text>", free_text=True),
)


async def run(ctx: Context, text: str) -> str:
    """Run one command line typed in Slack or Teams."""
    return await commands_run(ctx, text, COMMANDS)
