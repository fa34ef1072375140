"""Working an alert from chat: ack, escalate, resolve, snooze (30m, 4h, 1d), unsnooze, note."""

from __future__ import annotations

import dataclasses
import re

from bot.chat.grammar import CommandError, Context
from domain import Verb
from domain.acting import Ask


async def _act(ctx: Context, verb: Verb, args: list[str], ask: Ask | None = None) -> str:
    if len(args) != 1:
        raise CommandError("Give the alert id.")
    # Typed in a channel, a verb obeys that channel's routes like its cards' buttons do.
    where = dataclasses.replace(ask or Ask(), where=ctx.channel_id.split(";messageid=")[0])
    outcome = await ctx.services.actions.apply(verb, args[0], ctx.actor, where)
    return outcome.message


DURATION = re.compile(r"^(\d{1,5})\s*(m|min|mins|minutes?|h|hours?|d|days?)?$", re.I)


UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}


def minutes_in(text: str) -> int:
    """`30m`, `2h`, `1d` or a number of minutes, as minutes."""
    found = DURATION.match(text.strip())
    if found is None:
        raise CommandError(f"`{text[:20]}` is not a duration; say 30m, 4h or 1d.")
    unit = (found.group(2) or "m")[0].lower()
    return int(found.group(1)) * UNIT_MINUTES[unit]


async def snooze(ctx: Context, args: list[str]) -> str:
    """Quiet an alert for a while: repeats are counted, nobody is paged, escalation waits."""
    if len(args) != 2:
        raise CommandError("Give the alert id and how long.")
    return await _act(ctx, Verb.SNOOZE, args[:1], Ask(minutes=minutes_in(args[1])))


async def unsnooze(ctx: Context, args: list[str]) -> str:
    """End a snooze now."""
    return await _act(ctx, Verb.UNSNOOZE, args)


async def note(ctx: Context, args: list[str]) -> str:
    """Add a note to an alert: kept in its audit trail and replied under every card."""
    if len(args) != 2:
        raise CommandError("Give the alert id and the note.")
    return await _act(ctx, Verb.NOTE, args[:1], Ask(text=args[1]))


async def ack(ctx: Context, args: list[str]) -> str:
    """Acknowledge an alert."""
    return await _act(ctx, Verb.ACKNOWLEDGE, args)


async def escalate(ctx: Context, args: list[str]) -> str:
    """Escalate an alert to the next level."""
    return await _act(ctx, Verb.ESCALATE, args)


async def resolve(ctx: Context, args: list[str]) -> str:
    """Resolve an alert."""
    return await _act(ctx, Verb.RESOLVE, args)
