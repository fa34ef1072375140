"""The worker's part in grouping (`domain.grouping`): claimed new cards whose route groups are
folded into their group's living card, and a group's card is read and recorded when it goes
out. The periodic part (replies due, repeats) is `bot.core.alerts.groups`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.registry import shows_digests
from cards.style import one_line
from domain import Alert, DeliveryKind, Digest, OutboxItem
from storage import groups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardToSend:
    """A group's card as it goes out now: what it shows, and the changes its reply tells."""

    digest: Digest
    notes: tuple[str, ...]
    told: int


async def fold_members(
    session: AsyncSession,
    items: list[OutboxItem],
    channel_types: dict[str, str],
    alerts: dict[str, Alert | None],
    now: datetime,
) -> set[str]:
    """Fold every claimed new card that belongs to a group into its group's card (in the
    claim's transaction); the ids of the rows folded or put back for a moment."""
    taken: set[str] = set()
    locked: dict[str, bool] = {}
    members = []
    for item in items:
        channel_type = channel_types.get(item.id)
        if (
            item.group is None
            or item.kind is not DeliveryKind.POST
            or item.message_ref is not None
            or item.channel_id is None
            or channel_type is None
            or not shows_digests(channel_type)  # pagers and webhooks get every alert
        ):
            continue
        if item.channel_id not in locked:
            locked[item.channel_id] = await groups.lock_channel(session, item.channel_id)
        taken.add(item.id)
        if not locked[item.channel_id]:  # another process is forming this channel's groups
            await groups.retry_soon(session, item, now)
            continue
        alert = alerts.get(item.id)
        members.append((item, item.group, one_line(alert.title) if alert else "an alert"))
    joined = await groups.join(session, members, now)
    if any(j.new for j in joined):
        log.info("new alert groups", extra={"count": sum(j.new for j in joined)})
    return taken


async def card(session: AsyncSession, item: OutboxItem, now: datetime) -> CardToSend | None:
    """The group's card to send for a claimed `group` row, with the reply due under it."""
    group = await groups.of_card(session, item.id)
    if group is None:
        return None
    digest = await groups.load(session, group, now)
    notes, told = groups.notes_due(group, now, posted=item.message_ref is not None)
    return CardToSend(digest, notes, told)


async def member_changed(
    session: AsyncSession, card_id: str, notes: tuple[str, ...], alert: Alert | None, now: datetime
) -> bool:
    """A member's card update lands on its group's card; False when the card is a digest."""
    title = one_line(alert.title) if alert else ""
    lines = [f"{note} · {title}" if title else note for note in notes]
    return await groups.changed(session, card_id, lines, now)


async def recorded(
    session: AsyncSession, item: OutboxItem, sent: CardToSend, now: datetime
) -> None:
    """The group's card went out: the changes told are done; a group nobody fires in closes."""
    view = sent.digest.group
    await groups.sent(
        session,
        item.id,
        sent.told,
        first=item.message_ref is None,
        still_open=view.open if view else 1,
        now=now,
    )
