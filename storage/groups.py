"""Groups of alerts shown as one living card (`domain.grouping`): joining, reading, telling.

A group's card is a delivery of kind `group`; a member's own card row is folded into it (its
`digest_id` names the card), so an update of a member refreshes the group's card the way it
refreshes a storm's digest. Joining happens in the worker's claim transaction with the
channel's row taken FOR NO KEY UPDATE SKIP LOCKED, so one process at a time forms a channel's
groups and nothing here waits for another transaction's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import (
    Alert,
    AlertState,
    DeliveryKind,
    DeliveryStatus,
    Digest,
    GroupView,
    OutboxItem,
    Priority,
)
from storage.convert import to_alert
from storage.schema import AlertGroup, Channel, Delivery, Event, new_id

SHOWN = 5  # members a group's card lists in full
NOTES_MAX = 10  # change lines in one reply under the card


@dataclass(frozen=True)
class Joined:
    """Where a member went: its group's card, and whether the group was new."""

    card_id: str
    new: bool


async def lock_channel(session: AsyncSession, channel_id: str) -> bool:
    """Take the channel's row to form its groups; False when another process holds it."""
    mine = await session.scalar(
        select(Channel.id)
        .where(Channel.id == channel_id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    return mine is not None


async def join(
    session: AsyncSession, members: list[tuple[OutboxItem, dict[str, Any], str]], now: datetime
) -> list[Joined]:
    """Fold each member's card row into its group's card, opening groups that have none.

    A member is (its claimed row, what routing stored on it: route id, key, labels and the
    intervals in seconds, its title). A new group's card is due `wait` after its first member
    arrived; members joining a group already on screen refresh the card and are told under it
    in the next reply. A few statements per batch, whatever its size: the open groups and
    their cards are read at once, and the members folded in one executemany.
    """
    if not members:
        return []
    wanted = {(i.channel_id, str(spec["route"]), str(spec["key"])) for i, spec, _ in members}
    rows = (
        await session.scalars(
            select(AlertGroup).where(
                AlertGroup.channel_id.in_({w[0] for w in wanted}),
                AlertGroup.group_key.in_({w[2] for w in wanted}),
                AlertGroup.closed_at.is_(None),
            )
        )
    ).all()
    groups = {(g.channel_id, g.route_id, g.group_key): g for g in rows}
    cards = {
        c.id: c
        for c in (
            await session.scalars(
                select(Delivery).where(Delivery.id.in_([g.card_id for g in rows]))
            )
        ).all()
    }
    for key, group in list(groups.items()):
        card = cards.get(group.card_id)
        if card is None or card.status == DeliveryStatus.DEAD.value:
            group.closed_at = now  # its card could not be shown: start a fresh one
            del groups[key]
    joined, folded, told = [], [], set()
    for item, spec, title in members:
        key = (str(item.channel_id), str(spec["route"]), str(spec["key"]))
        new = key not in groups
        if new:
            group, card = _open_group(item, spec, now)
            session.add(card)
            session.add(group)
            groups[key], cards[card.id] = group, card
        group = groups[key]
        card = cards[group.card_id]
        if item.priority.rank > Priority(card.priority).rank:
            card.priority = item.priority.value  # the card is as urgent as its worst member
        folded.append({"member": item.id, "card": card.id, "why": f"grouped into card {card.id}"})
        if card.message_ref is not None:
            group.changes = [*(group.changes or []), f"🔥 {title}"]
            _reply_due(group)
            told.add(card.id)
        joined.append(Joined(card.id, new))
    await session.flush()
    table: Table = Delivery.__table__  # type: ignore[assignment]
    await session.execute(  # Core: one executemany, not the ORM's per-row bulk update
        update(table)
        .where(table.c.id == bindparam("member"))
        .values(
            status=DeliveryStatus.FOLDED.value,
            digest_id=bindparam("card"),
            lease_until=None,
            error_message=bindparam("why"),
            updated_at=now,
        ),
        folded,
    )
    for card_id in told:
        await refresh(session, card_id, now)
    return joined


def _open_group(
    item: OutboxItem, spec: dict[str, Any], now: datetime
) -> tuple[AlertGroup, Delivery]:
    """A new group and its card, due `wait` after its first member arrived."""
    wait = float(spec["wait"])
    card = Delivery(
        id=new_id(),
        tenant_id=item.tenant,
        event_id=None,
        channel_id=item.channel_id,
        integration_id=item.integration_id,
        channel_type=item.channel_type,
        kind=DeliveryKind.GROUP.value,
        status=DeliveryStatus.PENDING.value,
        max_attempts=item.max_attempts + 2,
        retry_delay_seconds=item.retry_delay_seconds,
        next_attempt_at=max(item.created_at + timedelta(seconds=wait), now) if wait > 0 else now,
        priority=item.priority.value,
        event_type="group",
        created_at=now,
        updated_at=now,
    )
    group = AlertGroup(
        id=new_id(),
        tenant_id=item.tenant,
        channel_id=item.channel_id,
        route_id=str(spec["route"]),
        group_key=str(spec["key"]),
        labels=dict(spec.get("labels") or {}),
        card_id=card.id,
        interval_seconds=float(spec["interval"]),
        repeat_seconds=float(spec["repeat"]),
        changes=[],
        created_at=now,
    )
    return group, card


async def retry_soon(session: AsyncSession, item: OutboxItem, now: datetime) -> None:
    """Another process is forming the channel's groups: the member is claimed again shortly."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == item.id)
        .values(
            status=DeliveryStatus.PENDING.value,
            lease_until=None,
            next_attempt_at=now + timedelta(seconds=0.2),
        )
    )


async def of_card(session: AsyncSession, card_id: str) -> AlertGroup | None:
    """The group a card shows, if the card is a group's."""
    return (
        await session.scalars(select(AlertGroup).where(AlertGroup.card_id == card_id).limit(1))
    ).first()


async def changed(session: AsyncSession, card_id: str, lines: list[str], now: datetime) -> bool:
    """A member changed (acknowledged, resolved…): the card is refreshed and the change told
    under it in the next reply. False when the card is not a group's."""
    group = await of_card(session, card_id)
    if group is None:
        return False
    if lines:
        group.changes = [*(group.changes or []), *lines][-200:]
        _reply_due(group)
    await refresh(session, card_id, now)
    return True


async def refresh(session: AsyncSession, card_id: str, now: datetime) -> None:
    """Send the card again. A card being sent right now is marked to go again after it."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == card_id, Delivery.status == DeliveryStatus.SENT.value)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id == card_id, Delivery.status == DeliveryStatus.SENDING.value)
        .values(action_data={"again": True})
    )


async def load(session: AsyncSession, group: AlertGroup, now: datetime) -> Digest:
    """What a group's card shows: its labels, counts by state, the first members in full."""
    card_id = group.card_id
    members = (
        select(Event.id)
        .join(Delivery, Delivery.event_id == Event.id)
        .where(Delivery.digest_id == card_id)
    )
    snoozed = (Event.snoozed_until.is_not(None)) & (Event.snoozed_until > now)
    state = case(
        (Event.state == AlertState.RESOLVED.value, "resolved"),
        (snoozed, "snoozed"),
        (Event.state == AlertState.ACKNOWLEDGED.value, "acknowledged"),
        else_="firing",
    )
    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(state, func.count()).where(Event.id.in_(members)).group_by(state)
            )
        ).all()
    )
    closed = case((Event.state == AlertState.RESOLVED.value, 1), else_=0)
    shown = (
        await session.scalars(
            select(Event)
            .where(Event.id.in_(members))
            .order_by(closed, Event.priority_rank.desc(), Event.first_seen)
            .limit(SHOWN)
        )
    ).all()
    span = (
        await session.execute(
            select(func.min(Event.first_seen), func.max(Event.last_seen)).where(
                Event.id.in_(members)
            )
        )
    ).one()
    view = GroupView(
        labels=dict(group.labels or {}),
        firing=int(counts.get("firing", 0)),
        acknowledged=int(counts.get("acknowledged", 0)),
        snoozed=int(counts.get("snoozed", 0)),
        resolved=int(counts.get("resolved", 0)),
    )
    alerts = tuple(to_alert(r) for r in shown)
    total = view.open + view.resolved
    return Digest(
        id=card_id,
        count=total,
        most_severe=alerts,
        by_priority={},
        since=span[0] or now,
        until=span[1] or now,
        group=view,
    )


def notes_due(group: AlertGroup, now: datetime, posted: bool) -> tuple[tuple[str, ...], int]:
    """The reply to leave under the card now, and how many changes it tells: none before the
    card is posted (the card shows them) or within `interval` of the last reply."""
    changes = list(group.changes or [])
    if not posted or not changes:
        return (), 0
    last = group.notified_at
    if last is not None and now < last + timedelta(seconds=group.interval_seconds):
        return (), 0
    if len(changes) <= NOTES_MAX:
        return tuple(changes), len(changes)
    rest = len(changes) - (NOTES_MAX - 1)
    return (*changes[: NOTES_MAX - 1], f"… and {rest} more changes"), len(changes)


async def sent(
    session: AsyncSession, card_id: str, told: int, first: bool, still_open: int, now: datetime
) -> None:
    """The card went out: the changes it told are done, the channel was last told now, a
    group with no open member is closed, and a card marked to go again is due now."""
    group = await of_card(session, card_id)
    if group is None:
        return
    if first:
        group.changes, group.notified_at = [], now
    elif told:
        group.changes, group.notified_at = list(group.changes or [])[told:], now
    if still_open == 0:
        group.closed_at = now
    if group.notified_at is not None:
        wait = group.interval_seconds if group.changes else group.repeat_seconds
        group.check_at = group.notified_at + timedelta(seconds=wait)
    card = await session.get(Delivery, card_id)
    if card is not None and (card.action_data or {}).get("again"):
        card.action_data = None
        if card.status == DeliveryStatus.SENT.value:
            card.status, card.next_attempt_at = DeliveryStatus.PENDING.value, now


async def due(session: AsyncSession, now: datetime, limit: int = 500) -> list[AlertGroup]:
    """Open groups whose card is posted and whose reply may be due (what the tick looks at)."""
    query = (
        select(AlertGroup)
        .where(AlertGroup.closed_at.is_(None), AlertGroup.check_at <= now)
        .order_by(AlertGroup.check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


def _reply_due(group: AlertGroup) -> None:
    """Changes wait: the tick looks again when the next reply may go (a card not posted yet
    tells them when it is)."""
    if group.notified_at is not None:
        due = group.notified_at + timedelta(seconds=group.interval_seconds)
        group.check_at = min(group.check_at or due, due)


async def firing_members(session: AsyncSession, card_id: str, now: datetime) -> list[Alert]:
    """The group's members still firing: triggered, not snoozed (as alerts)."""
    rows = await session.scalars(
        select(Event)
        .join(Delivery, Delivery.event_id == Event.id)
        .where(
            Delivery.digest_id == card_id,
            Event.state == AlertState.TRIGGERED.value,
            (Event.snoozed_until.is_(None)) | (Event.snoozed_until <= now),
        )
    )
    return [to_alert(r) for r in rows.all()]
