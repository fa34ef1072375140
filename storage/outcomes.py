"""What a try of a delivery writes: the attempt's row, and the delivery's outcome (sent,
to be retried, dead, folded into a digest), each fenced by the lease so only the worker
holding the row may record it. Every send runs these: their statements are built once, the
row and its lease as parameters (`_HELD`), values as parameters where they always differ.
They are Core statements on the tables, not the ORM's: an ORM update flushed the session and
matched its objects first, which cost more than the write (nothing here reads those objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from domain import DeliveryStatus, OutboxItem
from storage.db import at_commit
from storage.schema import Delivery, DeliveryAttempt, param, table_of, utcnow

# Only the worker holding the lease may record an outcome (fencing): the row, and the lease
# end this worker was given (another worker's claim gives the row another).
_DELIVERIES = table_of(Delivery)
_ROWS = _DELIVERIES.c
_HELD = and_(_ROWS.id == bindparam("item_id"), _ROWS.lease_until == bindparam("held_until"))
_TRIED = insert(table_of(DeliveryAttempt))


def _fence(item: OutboxItem) -> dict[str, Any]:
    return {"item_id": item.id, "held_until": item.lease_until}


async def record_attempt(
    session: AsyncSession,
    item: OutboxItem,
    *,
    started: datetime,
    status_code: int | None,
    error: str | None,
    retry_after: float | None = None,
) -> None:
    """Keep one row per try, so the history shows each attempt: written as the transaction
    commits, with the other tries it records, in one statement."""
    values = {
        "delivery_id": item.id,
        "attempt": item.attempts,
        "status_code": status_code,
        "error_message": error,
        "retry_after_seconds": retry_after,
        "started_at": started,
        "duration_ms": int((utcnow() - started).total_seconds() * 1000),
    }
    at_commit(session, _write_attempts, values)


def _write_attempts(session: Session, rows: list[Any]) -> None:
    """A batch of sends records its tries in one statement rather than one each."""
    session.execute(_TRIED, rows)


def _outcome(**values: Any) -> Any:
    """An outcome written to the row this worker holds, releasing its lease."""
    return update(_DELIVERIES).where(_HELD).values(lease_until=None, **values)


_SENT = _outcome(
    status=DeliveryStatus.SENT.value,
    status_code=param(_ROWS.status_code, "b_status_code"),
    message_ref=param(_ROWS.message_ref, "b_ref"),
    card_payload=param(_ROWS.card_payload, "b_payload"),
    target=param(_ROWS.target, "b_target"),
    sent_at=param(_ROWS.sent_at, "b_sent_at"),
    error_message=None,
)
_DEAD = _outcome(
    status=DeliveryStatus.DEAD.value,
    error_message=param(_ROWS.error_message, "b_error"),
    status_code=param(_ROWS.status_code, "b_status_code"),
    failures=_ROWS.failures + 1,
)


@dataclass(frozen=True)
class Sent:
    """What a successful send leaves on its row."""

    status_code: int | None
    ref: str | None
    payload: dict[str, Any] | None
    target: str

    def values(self, item: OutboxItem) -> dict[str, Any]:
        return {
            **_fence(item),
            "b_status_code": self.status_code,
            "b_ref": self.ref,
            "b_payload": self.payload,
            "b_target": self.target,
            "b_sent_at": utcnow(),
        }


async def mark_sent(session: AsyncSession, item: OutboxItem, sent: Sent) -> bool:
    """Record a successful send now; False when the lease was lost to another worker. For a
    send whose transaction goes on to write what depends on it (a group's card)."""
    result = await session.execute(_SENT, sent.values(item))
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class Kept:
    """Whether a write deferred to commit found the row still held (known once committed)."""

    kept: bool = False


def mark_sent_at_commit(session: AsyncSession, item: OutboxItem, sent: Sent) -> Kept:
    """`mark_sent` written as the transaction commits, with the other sends it records: two
    statements for the batch instead of one each (each costs more than its row's write)."""
    kept = Kept()
    at_commit(session, _write_sent, (sent.values(item), kept))
    return kept


# The rows of a batch still held by their leases, locked so no claim takes them before commit
# (an executemany's row count cannot tell which of its rows matched on every driver).
_STILL_HELD = (
    select(_ROWS.id, _ROWS.lease_until)
    .where(tuple_(_ROWS.id, _ROWS.lease_until).in_(bindparam("held", expanding=True)))
    .order_by(_ROWS.id)
    .with_for_update()
)


def _write_sent(session: Session, batch: list[tuple[dict[str, Any], Kept]]) -> None:
    held = sorted(_held(values) for values, _ in batch)
    still = {(row.id, row.lease_until) for row in session.execute(_STILL_HELD, {"held": held})}
    rows = [values for values, _ in batch if _held(values) in still]
    if rows:
        session.execute(_SENT, rows)
    for values, kept in batch:
        kept.kept = _held(values) in still


def _held(values: dict[str, Any]) -> tuple[str, datetime]:
    return values["item_id"], values["held_until"]


async def mark_retry(
    session: AsyncSession,
    item: OutboxItem,
    *,
    when: datetime,
    error: str | None,
    status_code: int | None,
    failed: bool,
    counted: bool = True,
) -> None:
    """Schedule another try at `when`; `failed` spends retry budget, `counted` keeps the try."""
    values: dict[str, Any] = {
        "status": (DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING).value,
        "next_attempt_at": when,
    }
    if error is not None:
        values["error_message"] = error
        values["status_code"] = status_code
    if failed:
        values["failures"] = _ROWS.failures + 1
    if not counted:
        values["attempts"] = _ROWS.attempts - 1
    await session.execute(_outcome(**values), _fence(item))


async def mark_dead(
    session: AsyncSession, item: OutboxItem, *, error: str, status_code: int | None
) -> bool:
    """Move a row to dead-letter; False when the lease was lost."""
    values = {**_fence(item), "b_error": error, "b_status_code": status_code}
    result = await session.execute(_DEAD, values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_folded(session: AsyncSession, item: OutboxItem, digest_id: str) -> bool:
    """An update of a card that only exists inside a digest: the digest shows it instead.

    Only the alert's card (its post) is a member of the digest; this row just says where.
    """
    result = await session.execute(
        _outcome(status=DeliveryStatus.FOLDED.value, error_message=f"shown in digest {digest_id}"),
        _fence(item),
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
