"""Digests: when a channel's queue outgrows its rate, its waiting cards fold into one message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import DeliveryKind, DeliveryStatus, Digest, OutboxItem, Priority
from storage.convert import to_alert
from storage.schema import Channel, Delivery, Event, new_id

WINDOW = timedelta(minutes=5)  # a digest keeps absorbing alerts for this long
SHOWN = 3  # alerts a digest shows in full


async def fold(
    session: AsyncSession,
    item: OutboxItem,
    *,
    now: datetime,
    also: Sequence[OutboxItem] = (),
) -> tuple[str | None, int]:
    """Fold every waiting new card of the item's channel into its open digest, with the item
    and the other rows of that channel the caller holds leases on (`also`).

    Returns the digest's id and how many cards were folded; (None, 0) when another process
    is folding this channel at this moment (the caller sends or holds its rows as usual). A
    digest that was already posted is queued again, so the message in the channel is updated
    in place.

    Nothing here waits for another transaction's lock, so folding cannot deadlock: the
    channel row is taken FOR NO KEY UPDATE SKIP LOCKED (one folder per channel at a time;
    ingest's inserts, which take FOR KEY SHARE through their foreign key, never wait for it),
    and waiting rows another worker has just claimed are skipped, not waited for.
    """
    assert item.channel_id is not None
    mine = await session.scalar(
        select(Channel.id)
        .where(Channel.id == item.channel_id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    if mine is None:
        return None, 0
    digest = await _open_digest(session, item, now)
    waiting = and_(
        Delivery.channel_id == item.channel_id,
        Delivery.kind == DeliveryKind.POST.value,
        Delivery.message_ref.is_(None),
        or_(
            Delivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
            *(
                and_(Delivery.id == held.id, Delivery.lease_until == held.lease_until)
                for held in (item, *also)
            ),
        ),
    )
    free = select(Delivery.id).where(waiting).with_for_update(skip_locked=True)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(free.scalar_subquery()))
        .values(
            status=DeliveryStatus.FOLDED.value,
            digest_id=digest.id,
            lease_until=None,
            error_message=f"folded into digest {digest.id}",
        )
    )
    folded = int(result.rowcount)  # type: ignore[attr-defined]
    if folded and digest.status not in (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value):
        digest.status = DeliveryStatus.PENDING.value
        digest.next_attempt_at = now
        digest.failures = 0
    return digest.id, folded


async def absorbing(session: AsyncSession, channel_id: str, now: datetime) -> bool:
    """Whether the channel has a digest still taking in alerts (a storm within the window)."""
    query = select(Delivery.id).where(
        Delivery.channel_id == channel_id,
        Delivery.kind == DeliveryKind.DIGEST.value,
        Delivery.created_at >= now - WINDOW,
        Delivery.status != DeliveryStatus.DEAD.value,
    )
    return (await session.scalar(query.limit(1))) is not None


async def _open_digest(session: AsyncSession, item: OutboxItem, now: datetime) -> Delivery:
    """The channel's digest still absorbing alerts, or a new one."""
    digest = (
        await session.scalars(
            select(Delivery)
            .where(
                Delivery.channel_id == item.channel_id,
                Delivery.kind == DeliveryKind.DIGEST.value,
                Delivery.created_at >= now - WINDOW,
                Delivery.status != DeliveryStatus.DEAD.value,
            )
            .order_by(Delivery.created_at.desc())
            .limit(1)
            .with_for_update(key_share=True)
        )
    ).first()
    if digest is None:
        digest = Delivery(
            id=new_id(),
            tenant_id=item.tenant,
            event_id=None,
            channel_id=item.channel_id,
            integration_id=item.integration_id,
            channel_type=item.channel_type,
            kind=DeliveryKind.DIGEST.value,
            status=DeliveryStatus.PENDING.value,
            max_attempts=item.max_attempts + 2,
            retry_delay_seconds=item.retry_delay_seconds,
            next_attempt_at=now,
            priority=item.priority.value,
            event_type="digest",
            created_at=now,
            updated_at=now,
        )
        session.add(digest)
        await session.flush()
    return digest


async def load(session: AsyncSession, digest_id: str, now: datetime) -> Digest:
    """What a digest says: how many alerts, by priority, the most severe in full."""
    members = (
        select(Event)
        .join(Delivery, Delivery.event_id == Event.id)
        .where(Delivery.digest_id == digest_id)
    )
    rows = (
        await session.scalars(members.order_by(Event.priority_rank.desc(), Event.first_seen))
    ).all()
    counts = await session.execute(
        select(Event.priority, func.count())
        .join(Delivery, Delivery.event_id == Event.id)
        .where(Delivery.digest_id == digest_id)
        .group_by(Event.priority)
    )
    by_priority = {p.value: 0 for p in Priority}
    by_priority.update({priority: int(n) for priority, n in counts.all()})
    alerts = [to_alert(r) for r in rows]
    return Digest(
        id=digest_id,
        count=len(alerts),
        most_severe=tuple(alerts[:SHOWN]),
        by_priority={k: v for k, v in by_priority.items() if v},
        since=min((a.first_seen for a in alerts), default=now),
        until=max((a.last_seen for a in alerts), default=now),
        alert_ids=tuple(a.id for a in alerts),
    )


async def requeue_if_grown(
    session: AsyncSession, digest_id: str, shown: int, now: datetime
) -> bool:
    """Queue the digest again when cards were folded into it while it was being sent."""
    members = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.digest_id == digest_id)
    )
    if int(members or 0) <= shown:
        return False
    await refresh(session, digest_id, now)
    return True


async def digest_showing(session: AsyncSession, event_id: str, channel_id: str) -> str | None:
    """The digest an alert's card was folded into in this channel, if it was."""
    query = select(Delivery.digest_id).where(
        Delivery.event_id == event_id,
        Delivery.channel_id == channel_id,
        Delivery.kind == DeliveryKind.POST.value,
        Delivery.status == DeliveryStatus.FOLDED.value,
        Delivery.digest_id.is_not(None),
    )
    return (await session.scalar(query.limit(1))) or None


async def refresh(session: AsyncSession, digest_id: str, now: datetime) -> None:
    """Send the digest again (an update of its message), so it shows its alerts' new states."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == digest_id, Delivery.status == DeliveryStatus.SENT.value)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now)
    )


async def unshown_members_dead(session: AsyncSession, digest_id: str, error: str) -> int:
    """A digest went dead: the alerts folded into it that no delivered message named (all of
    them when it was never posted; those folded since its last send otherwise) are dead too,
    so none stays `folded` into a digest nobody saw. Returns how many."""
    sent_at = await session.scalar(select(Delivery.sent_at).where(Delivery.id == digest_id))
    unshown = and_(
        Delivery.digest_id == digest_id,
        Delivery.status == DeliveryStatus.FOLDED.value,
        *((Delivery.updated_at > sent_at,) if sent_at is not None else ()),
    )
    result = await session.execute(
        update(Delivery)
        .where(unshown)
        .values(status=DeliveryStatus.DEAD.value, error_message=f"its digest failed: {error}")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
