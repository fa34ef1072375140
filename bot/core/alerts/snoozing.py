"""The snooze clock: ending a snooze (by hand, when an alert closes, or when it is due), with
the time the alert stood still added to its escalation clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.delivery.updates import queue_updates
from domain import Alert, Verb
from domain.acting import OPEN, WOKE
from storage import alerts as alerts_repo
from storage import snoozes
from storage.notify import notify_outbox
from storage.schema import Event, table_of, utcnow

EVENTS = table_of(Event).c  # `transition` takes conditions on the table's columns


async def end_snooze(
    session: AsyncSession, alert_id: str, now: datetime, *also: Any
) -> Alert | None:
    """End the open alert's snooze (if it still has one and `also` holds), adding the time it
    stood still to its escalation clock; the alert, or None when there was nothing to end."""
    began = await snoozes.snoozed_at(session, alert_id)
    return await alerts_repo.transition(
        session,
        alert_id,
        allowed_from=OPEN,
        values={**snoozes.SNOOZE_CLEARED, **snoozes.snooze_values(began, now)},
        also=(EVENTS.snoozed_until.is_not(None), *also),
    )


async def wake_one(alert_id: str, now: datetime, session: AsyncSession) -> bool:
    """End one due snooze: audited as the scheduler's, each copy of the card updated."""
    alert = await end_snooze(session, alert_id, now, EVENTS.snoozed_until <= now)
    if alert is None:
        return False
    data = {"name": "ChatOps (the snooze ended)"}
    session.add(
        alerts_repo.audit_row(
            alert.tenant, Verb.UNSNOOZE.value, "scheduler:snooze", "scheduler", data, alert=alert
        )
    )
    await queue_updates(session, alert, utcnow(), WOKE)  # `now` may be a test's clock
    await notify_outbox(session)
    return True
