"""`report [7d|30d] [priority|source|event_type|channel]`: the response report in a few lines
(REST has it whole, as JSON or CSV)."""

from __future__ import annotations

import logging

from bot.chat.grammar import CommandError, Context
from bot.core import reports
from bot.core.errors import InvalidRequest

USAGE = "report [7d|30d] [priority|source|event_type|channel]"
log = logging.getLogger(__name__)


async def report(ctx: Context, args: list[str]) -> str:
    since = next((a for a in args if a[:1].isdigit()), None)
    group_by = next((a for a in args if not a[:1].isdigit()), None)
    if len(args) > 2:
        raise CommandError(f"Type `{USAGE}`.")
    try:
        ask = reports.ask_of(since, group_by)
    except InvalidRequest as exc:
        raise CommandError(f"{exc}.") from None
    text = reports.as_text(await reports.response(ctx.services, ctx.tenant, ask))
    if ctx.share_chart is None:
        return text
    try:
        said = await ctx.share_chart(since or "7d")
    except Exception as exc:  # the figures are said anyway
        log.warning("report chart not shown", extra={"error": type(exc).__name__})
        said = f"(The chart could not be shown: {type(exc).__name__}.)"
    return f"{text}\n{said}" if said else text
