"""What a try of a delivery writes: the attempt's row, and the delivery's outcome (sent,
to be retried, dead, folded into a digest), each fenced by the lease so only the worker
holding the row may record it. Every send runs these: their statements are built once, the
row and its lease as parameters (`_HELD`), values as parameters where they always differ.
They are Core statements on the tables, not the ORM's: an ORM update flushed the session and
matched its objects first, which cost more than the write (nothing here reads those objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, update
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


async def mark_sent(
    session: AsyncSession,
    item: OutboxItem,
    *,
    status_code: int | None,
    ref: str | None,
    payload: dict[str, Any] | None,
    target: str,
) -> bool:
    """Record a successful send; False when the lease was lost to another worker."""
    values = {
        **_fence(item),
        "b_status_code": status_code,
        "b_ref": ref,
        "b_payload": payload,
        "b_target": target,
        "b_sent_at": utcnow(),
    }
    result = await session.execute(_SENT, values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
