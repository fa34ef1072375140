"""On-call from chat, Slack and Teams alike: who is on call, overrides, paging someone by
hand, the people the bot knows, and `me` (who the bot takes you for)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.chat.grammar import CommandError, Context
from bot.core import oncall
from bot.core.errors import InvalidRequest, NotFound
from bot.core.paging import policies
from domain import parse_duration


async def oncall_command(ctx: Context, args: list[str]) -> str:
    """Who is on call now, and who is next: in one schedule, or in every one."""
    if args and args[0].lower() == "override":
        return await override(ctx, args[1:])
    services = ctx.services
    listed = await oncall.schedules(services, ctx.tenant)
    if not listed:
        return "No on-call schedules yet (POST /api/v1/schedules)."
    chosen = [s for s in listed if not args or s["name"] == " ".join(args)]
    if not chosen:
        return f"No schedule `{' '.join(args)[:100]}`; there are: " + ", ".join(
            f"`{s['name']}`" for s in listed
        )
    now = datetime.now(UTC)
    lines = []
    for doc in chosen:
        answer = await oncall.who_is_on_call(services, ctx.tenant, doc["name"], now)
        zone = ZoneInfo(doc["time_zone"])
        until = answer.until.astimezone(zone).strftime("%a %d %b %H:%M")
        who = answer.person or "nobody"
        line = f"{who} is on call for {doc['name']} until {until} ({doc['time_zone']})"
        if answer.overridden:
            line += ", an override"
        if answer.next_person:
            line += f"; then {answer.next_person}"
        lines.append(line + ".")
    return "\n".join(lines)


async def override(ctx: Context, args: list[str]) -> str:
    """`oncall override <schedule> <@person|me> <duration>`: on call from now for that long.
    Anyone may take a shift themselves (`me`); putting someone else on call is for admins."""
    if len(args) != 3:
        raise CommandError("Type `oncall override <schedule> <@person|me> <duration>`, e.g. 4h.")
    schedule, who, length = args
    if who.lower() != "me" and not ctx.is_admin:
        raise CommandError("Only admins put someone else on call; `me` takes the shift yourself.")
    person = await oncall.resolve_person(ctx.services, ctx.tenant, who, ctx.platform, ctx.actor.id)
    if person is None:
        hint = " Type `me` first to be known." if who.lower() == "me" else " See `people`."
        raise CommandError(f"I do not know who `{who[:40]}` is.{hint}")
    try:
        span = parse_duration(length)
    except ValueError as exc:
        raise CommandError(f"{exc}.") from None
    if span > oncall.MAX_OVERRIDE:
        raise CommandError("An override lasts 90 days at most.")
    start = datetime.now(UTC)
    try:
        await oncall.add_override(
            ctx.services, ctx.tenant, schedule, person, start, start + span, ctx.by
        )
    except (InvalidRequest, NotFound) as exc:
        raise CommandError(f"{exc}.") from None
    return f"{person} is on call for {schedule} for the next {length} (an override)."


async def page(ctx: Context, args: list[str]) -> str:
    """`page <@person|schedule> <alert-id>`: DM someone the alert's card now."""
    if len(args) != 2:
        raise CommandError("Type `page <@person|schedule> <alert-id>`.")
    who, alert_id = args
    person = await oncall.resolve_person(ctx.services, ctx.tenant, who, ctx.platform, ctx.actor.id)
    schedules = {s["name"] for s in await oncall.schedules(ctx.services, ctx.tenant)}
    if person is None and who not in schedules:
        raise CommandError(f"`{who[:40]}` is neither a person nor a schedule. See `people`.")
    try:
        whom = await policies.page(
            ctx.services,
            ctx.tenant,
            alert_id,
            person=person,
            schedule=None if person else who,
            by=ctx.who,
        )
    except (InvalidRequest, NotFound) as exc:
        raise CommandError(f"Not paged: {exc}.") from None
    return f"Paged {whom}: the card is on its way to them."


async def people(ctx: Context, args: list[str]) -> str:
    """The people the bot knows, and how it reaches each."""
    found = await oncall.people(ctx.services, ctx.tenant)
    if not found:
        return "Nobody yet. `me` adds you; admins add people by REST or the configuration file."
    lines = []
    for p in found:
        ways = [
            label
            for label, value in (
                ("Slack", p.slack_user_id),
                ("Teams", p.teams_aad_object_id),
                ("e-mail", p.email),
                ("SMS", p.phone),
            )
            if value
        ]
        lines.append(f"• {p.name} ({p.time_zone}): {', '.join(ways) or 'no way to reach them'}")
    return "\n".join(lines)


async def me(ctx: Context, args: list[str]) -> str:
    """Who the bot takes you for; the first time, it adds you from your chat identity."""
    person, made = await oncall.link_me(
        ctx.services, ctx.tenant, ctx.platform, ctx.actor.id, ctx.actor.name, ctx.by
    )
    first = "Added you as" if made else "You are"
    return (
        f"{first} {person.name} ({person.time_zone}). Pages reach you here by direct message; "
        "`oncall` says who is on call."
    )
