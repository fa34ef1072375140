"""The outbox: claiming due deliveries with a lease, and recording what became of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, exists, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter

from domain import Alert, DeliveryKind, DeliveryStatus, OutboxItem
from storage.convert import to_item
from storage.db import write_behind
from storage.schema import Delivery, DeliveryAttempt, new_id, table_of

RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.SENDING)


def _claim_statement() -> ReturningUpdate[Any]:
    """What `claim` runs: one statement, built once with its values as parameters (`now`,
    `limit`, `lease_until`), that picks the due rows (locking them, skipping those another
    worker is taking) and leases them, returning them whole. Core on the table: the ORM's
    would match and build objects nobody reads."""
    table = table_of(Delivery)
    rows, due, other = table.c, table.alias("due").c, table.alias("other").c
    now: BindParameter[datetime] = bindparam("now")
    # An update waits while another update of the same card is being sent: sent together,
    # the older could land last and leave the card showing a state that is gone.
    card_busy = exists().where(
        other.event_id == due.event_id,
        other.channel_id == due.channel_id,
        other.kind == DeliveryKind.UPDATE.value,
        other.status == DeliveryStatus.SENDING.value,
        other.lease_until > now,
        other.id != due.id,
    )
    picked = (
        select(due.id)
        .where(
            due.status.in_([s.value for s in RETRYABLE]),
            due.next_attempt_at <= now,
            or_(due.kind != DeliveryKind.UPDATE.value, ~card_busy),
        )
        .order_by(due.next_attempt_at)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(rows.id.in_(picked.scalar_subquery()))
        .values(
            status=DeliveryStatus.SENDING.value,
            lease_until=bindparam("lease_until"),
            next_attempt_at=bindparam("lease_until"),
            attempts=rows.attempts + 1,
        )
        .returning(*rows)
    )


_CLAIM = _claim_statement()


async def claim(
    session: AsyncSession, *, now: datetime, lease: float, limit: int
) -> list[OutboxItem]:
    """Lease up to `limit` due rows, the longest due first (oldest first in the batch too);
    skips rows other workers hold, and updates of a card while another update of it is on
    its way.

    A leased row's `next_attempt_at` is its lease end, so a row whose worker died
    becomes due again by itself when the lease runs out: nothing is lost on a crash.
    """
    values = {"now": now, "limit": limit, "lease_until": now + timedelta(seconds=lease)}
    rows = (await session.execute(_CLAIM, values)).all()
    return sorted((to_item(row) for row in rows), key=lambda item: item.created_at)


async def still_waiting(session: AsyncSession, delivery_id: str, notes: list[str] | None) -> bool:
    """Whether an update is still waiting to be claimed, adding `notes` to it if so; False when
    a worker has taken it meanwhile (the caller then queues another)."""
    values: dict[str, Any] = {"action_data": {"notes": notes}} if notes is not None else {}
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
        )
        .values(**values, id=delivery_id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def backlog(session: AsyncSession, channel_id: str) -> int:
    """How many new cards wait for this channel, due now or held back for its rate."""
    query = select(func.count()).where(
        Delivery.channel_id == channel_id,
        Delivery.kind == DeliveryKind.POST.value,
        Delivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
        Delivery.message_ref.is_(None),
    )
    return int((await session.scalar(query)) or 0)


async def post_ref(session: AsyncSession, event_id: str, channel_id: str) -> str | None:
    """The message reference of the card first posted for this event in this channel."""
    query = (
        select(Delivery.message_ref)
        .where(
            Delivery.event_id == event_id,
            Delivery.channel_id == channel_id,
            Delivery.kind == DeliveryKind.POST.value,
            Delivery.status == DeliveryStatus.SENT.value,
        )
        .order_by(Delivery.sent_at)
        .limit(1)
    )
    return (await session.scalar(query)) or None


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    """Deliveries per status, for metrics and `status`."""
    rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: int(count) for status, count in rows.all()}


async def oldest_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the longest-waiting due row became due."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
        Delivery.next_attempt_at <= now,
    )
    value = await session.scalar(query)
    return value if isinstance(value, datetime) or value is None else None


def attempts_query(delivery_ids: Sequence[str]) -> Any:
    """Every attempt of these deliveries, oldest first."""
    return (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.id)
    )


async def stuck(session: AsyncSession, now: datetime, lease: float) -> int:
    """Rows still `sending` a whole lease period after their lease ran out: no worker has them."""
    query = select(func.count()).where(
        Delivery.status == DeliveryStatus.SENDING.value,
        Delivery.lease_until < now - timedelta(seconds=lease),
    )
    return int((await session.scalar(query)) or 0)


async def take_back_leases(session: AsyncSession, now: datetime) -> int:
    """Make every leased row due now: for a single process, whose dead self held them."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING.value)
        .values(next_attempt_at=now, lease_until=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def retry_dead(
    session: AsyncSession,
    *,
    channel_id: str | None,
    delivery_id: str | None,
    now: datetime,
    note: str,
) -> int:
    """Queue again the dead deliveries of a channel (or one delivery); how many."""
    which = Delivery.channel_id == channel_id if channel_id else Delivery.id == delivery_id
    result = await session.execute(
        update(Delivery)
        .where(which, Delivery.status == DeliveryStatus.DEAD.value)
        .values(
            status=DeliveryStatus.PENDING.value,
            failures=0,
            next_attempt_at=now,
            error_message=note,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class Destination(Protocol):
    """Where a delivery goes: a channel row, or what the routing cache keeps of one."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def integration_id(self) -> str | None: ...
    @property
    def target(self) -> str: ...


def queue(
    session: AsyncSession,
    alert: Alert,
    channel: Destination,
    kind: DeliveryKind,
    now: datetime,
    *,
    max_attempts: int,
    retry_delay_seconds: float,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    user_id: str | None = None,
    error_message: str | None = None,
    action_data: dict[str, Any] | None = None,
    retry_for: float = 0.0,
) -> None:
    """Add one outbox row: the alert to post to (or update on) a channel; `retry_for`
    seconds of tries (with backoff) it keeps trying for at least, however many they are.

    Written with the other rows queued in the transaction, in one statement, before anything
    reads them (`write_behind`)."""
    row = {
        "id": new_id(),
        "tenant_id": alert.tenant,
        "event_id": alert.id,
        "channel_id": channel.id,
        "integration_id": channel.integration_id,
        "channel_type": channel.type,
        "target": channel.target,
        "kind": kind.value,
        "status": status.value,
        "attempts": 0,
        "failures": 0,
        "max_attempts": max_attempts,
        "retry_delay_seconds": retry_delay_seconds,
        "retry_until": now + timedelta(seconds=retry_for) if retry_for else None,
        "next_attempt_at": now,
        "user_id": user_id,
        "action_data": action_data,
        "priority": alert.priority.value,
        "event_type": alert.event_type,
        "correlation_id": alert.correlation_id,
        "stakeholders": list(alert.stakeholders),
        "error_message": error_message,
        "created_at": now,
        "updated_at": now,
    }
    write_behind(session, table_of(Delivery), row)


async def post_refs(
    session: AsyncSession, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """`post_ref` for many (event, channel) pairs in one query: the first card posted of each."""
    if not pairs:
        return {}
    query = (
        select(Delivery.event_id, Delivery.channel_id, Delivery.message_ref)
        .where(
            tuple_(Delivery.event_id, Delivery.channel_id).in_(sorted(set(pairs))),
            Delivery.kind == DeliveryKind.POST.value,
            Delivery.status == DeliveryStatus.SENT.value,
            Delivery.message_ref.is_not(None),
        )
        .order_by(Delivery.sent_at.desc())
    )
    refs: dict[tuple[str, str], str] = {}
    for event_id, channel_id, ref in (await session.execute(query)).all():
        if ref:
            refs[(str(event_id), str(channel_id))] = str(ref)  # the earliest is written last
    return refs
