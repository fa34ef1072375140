"""Silences from chat: `silence <matchers> <duration> [comment]`, `silences`, and
`silence expire <id>`; everyone who works alerts may silence, and the audit names them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.chat.grammar import CommandError, Context
from bot.core.alerts import muting
from bot.core.errors import InvalidRequest, NotFound
from bot.core.specs.noise import SilenceSpec
from cards.style import spoken_utc
from domain import parse_duration

MATCHER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)")


async def silence(ctx: Context, args: list[str]) -> str:
    """`silence service="db" 2h disk swap`: mute matching alerts for that long."""
    if args and args[0].lower() == "expire":
        if len(args) != 2:
            raise CommandError("Type `silence expire <silence-id>` (see `silences`).")
        try:
            ended = await muting.expire(ctx.services, ctx.tenant, args[1], ctx.by)
        except NotFound as exc:
            raise CommandError(f"{exc}.") from None
        return f"Silence `{ended['id'][:8]}` expired: alerts it muted that still fire are posted."
    matchers = [a for a in args if MATCHER.match(a)]
    rest = args[len(matchers) :]
    if not matchers or not rest or any(MATCHER.match(a) for a in rest):
        raise CommandError(
            'Type `silence <label>="<value>"... <duration> [comment]`, e.g. '
            '`silence service="db" 2h disk swap`.'
        )
    try:
        parse_duration(rest[0])
    except ValueError as exc:
        raise CommandError(f"{exc}.") from None
    spec = SilenceSpec(matchers=matchers, duration=rest[0], comment=" ".join(rest[1:]))
    try:
        made = await muting.create(ctx.services, ctx.tenant, spec, ctx.by)
    except InvalidRequest as exc:
        raise CommandError(f"{exc}.") from None
    return silenced(made)


def silenced(made: dict[str, Any]) -> str:
    """What chat says of a silence just made (by command, Slack modal or Teams card)."""
    return (
        f"Silenced {', '.join(made['matchers'])} until {spoken_utc(made['ends_at'])} "
        f"(`{made['id'][:8]}`; `silence expire {made['id'][:8]}` ends it)."
    )


async def silences(ctx: Context, args: list[str]) -> str:
    """The silences that have not ended."""
    found = await muting.listed(ctx.services.db, ctx.tenant)
    if not found:
        return "No silences."
    return "\n".join(
        f"• `{s['id'][:8]}` {', '.join(s['matchers'])} until "
        f"{datetime.fromisoformat(s['ends_at']).astimezone(UTC):%a %d %b %H:%M} UTC"
        f" ({s['state']}, by {s['created_by']})" + (f": {s['comment']}" if s["comment"] else "")
        for s in found
    )
