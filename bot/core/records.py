"""What core answers with when a transport reads what happened: a delivery, one try of it, an
audit entry, a sync run. Frozen copies of the stored rows' fields a reader may see (a
delivery's target masked: a webhook URL carries its secret), so no transport holds a database
row or can change one by mistake."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from cards.redact import mask_target
from storage.schema import ActionAudit, Delivery, DeliveryAttempt, SyncLog

T = TypeVar("T")


def _copied(record: type[T], row: object, **given: Any) -> T:
    """`record` with each of its fields taken from the row's attribute of that name, but the
    fields `given`."""
    values = {f.name: getattr(row, f.name) for f in fields(record) if f.name not in given}  # type: ignore[arg-type]
    return record(**values, **given)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One card (or page, or update) on its way to one destination."""

    id: str
    event_id: str | None
    channel_id: str | None
    channel_type: str
    target: str  # masked
    kind: str
    status: str
    attempts: int
    failures: int
    max_attempts: int
    status_code: int | None
    error_message: str | None
    message_ref: str | None
    user_id: str | None
    priority: str
    event_type: str
    correlation_id: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


def delivery_record(row: Delivery) -> DeliveryRecord:
    return _copied(DeliveryRecord, row, target=mask_target(row.target))


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try of a delivery and what the destination answered."""

    delivery_id: str
    attempt: int
    status_code: int | None
    error_message: str | None
    retry_after_seconds: float | None
    started_at: datetime
    duration_ms: int


def attempt_record(row: DeliveryAttempt) -> AttemptRecord:
    return _copied(AttemptRecord, row)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to an alert, from which state to which, and when."""

    verb: str
    actor: str
    platform: str
    outcome: str
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    at: datetime


def audit_record(row: ActionAudit) -> AuditRecord:
    return _copied(AuditRecord, row, data=dict(row.data or {}))


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """One sync run of an integration."""

    id: str
    sync_type: str
    status: str
    attempt: int
    entities: list[str]
    records_processed: int
    records_created: int
    records_updated: int
    records_failed: int
    cursor: str | None
    error: str | None
    started_at: datetime
    completed_at: datetime | None


def sync_record(row: SyncLog) -> SyncRecord:
    return _copied(SyncRecord, row, entities=list(row.entities or []))
