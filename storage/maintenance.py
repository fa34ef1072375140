"""Queries the scheduler runs: alerts overdue for escalation, and retention of old records."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import AlertState, DeliveryStatus
from storage.schema import (
    ActionAudit,
    AlertGroup,
    Delivery,
    Escalation,
    Event,
    Route,
    SyncLog,
    WebhookEvent,
)


async def overdue_for_escalation(
    session: AsyncSession, *, now: datetime, delay: timedelta, max_level: int, limit: int = 200
) -> list[str]:
    """Unacknowledged alerts older than `delay` per level, with a route at the next level.

    Snoozed alerts wait; the time they were snoozed does not count."""
    next_level_route = exists().where(
        Route.tenant_id == Event.tenant_id,
        Route.escalation_level == Event.escalation_level + 1,
        Route.is_active.is_(True),
    )
    candidates = await session.execute(
        select(Event.id, Event.first_seen, Event.escalation_level, Event.paused_seconds)
        .where(
            Event.state == AlertState.TRIGGERED.value,
            Event.escalation_level < max_level,
            Event.first_seen <= now - delay,
            Event.snoozed_until.is_(None),  # a snooze stops the clock
            next_level_route,
            ~exists().where(Escalation.event_id == Event.id),  # a policy escalates it instead
        )
        .order_by(Event.first_seen)
        .limit(limit)
    )
    return [
        alert_id
        for alert_id, first_seen, level, paused in candidates.all()
        if first_seen + timedelta(seconds=paused or 0) <= now - delay * (level + 1)
    ]


async def purge(session: AsyncSession, *, before: datetime) -> dict[str, int]:
    """Delete audit records, resolved alerts (with their deliveries), groups closed (with their
    cards), inbound webhooks and sync history older than `before`; return how many of each."""
    counts = {}
    for name, statement in (
        ("audit", delete(ActionAudit).where(ActionAudit.at < before)),
        (
            "alerts",
            delete(Event).where(
                and_(Event.state == AlertState.RESOLVED.value, Event.resolved_at < before)
            ),
        ),
        (
            "group_cards",
            delete(Delivery).where(
                Delivery.id.in_(select(AlertGroup.card_id).where(AlertGroup.closed_at < before))
            ),
        ),
        ("groups", delete(AlertGroup).where(AlertGroup.closed_at < before)),
        ("webhook_events", delete(WebhookEvent).where(WebhookEvent.received_at < before)),
        ("sync_log", delete(SyncLog).where(SyncLog.started_at < before)),
    ):
        result = await session.execute(statement)
        counts[name] = int(result.rowcount)  # type: ignore[attr-defined]
    return counts


async def overdue_deliveries(session: AsyncSession, *, before: datetime) -> int:
    """Deliveries due since before `before`, leases run out included: the sweeper's count."""
    query = select(func.count()).where(
        Delivery.status.in_(
            (
                DeliveryStatus.PENDING.value,
                DeliveryStatus.FAILED.value,
                DeliveryStatus.SENDING.value,
            )
        ),
        Delivery.next_attempt_at <= before,
    )
    return int((await session.execute(query)).scalar_one())
