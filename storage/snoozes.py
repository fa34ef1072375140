"""Snoozes: their clock, the alerts whose snooze is over, and the Alertmanager silences that
mirror them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Alert, AlertState
from storage.convert import to_alert
from storage.schema import Event

SNOOZE_CLEARED = {"snoozed_at": None, "snoozed_until": None, "snoozed_by": None}


def snooze_values(alert_snoozed_at: datetime | None, now: datetime) -> dict[str, Any]:
    """The escalation clock of a snooze that ends now: the time it stood still, added up."""
    if alert_snoozed_at is None:
        return {}
    paused = max(0, int((now - alert_snoozed_at).total_seconds()))
    return {"paused_seconds": Event.paused_seconds + paused}


async def snoozed_at(session: AsyncSession, event_id: str) -> datetime | None:
    """When the alert's current snooze began."""
    return await session.scalar(select(Event.snoozed_at).where(Event.id == event_id))


async def snoozes_due(session: AsyncSession, now: datetime, *, limit: int = 200) -> list[str]:
    """Alerts whose snooze has ended, soonest first."""
    rows = await session.scalars(
        select(Event.id)
        .where(Event.snoozed_until.is_not(None), Event.snoozed_until <= now)
        .order_by(Event.snoozed_until)
        .limit(limit)
    )
    return list(rows.all())


@dataclass(frozen=True)
class SilenceWork:
    """An Alertmanager silence to create (snoozed, none yet) or to expire (no longer snoozed)."""

    alert: Alert
    silence_id: str | None


async def silences_to_tend(session: AsyncSession, *, limit: int = 100) -> list[SilenceWork]:
    """Silences whose alert is no longer snoozed, and snoozed Alertmanager alerts without one."""
    stale = select(Event).where(
        Event.silence_id.is_not(None),
        or_(Event.snoozed_until.is_(None), Event.state == AlertState.RESOLVED.value),
    )
    missing = select(Event).where(
        Event.silence_id.is_(None),
        Event.snoozed_until.is_not(None),
        Event.state != AlertState.RESOLVED.value,
        Event.source == "alertmanager",
    )
    found = [*(await session.scalars(stale.limit(limit))).all()]
    found += (await session.scalars(missing.limit(limit))).all()
    return [SilenceWork(to_alert(r), r.silence_id) for r in found]


async def set_silence(
    session: AsyncSession, event_id: str, silence_id: str | None, *, was: str | None
) -> bool:
    """Record the alert's silence (None: expired) if it is still `was`; whether it was."""
    condition = Event.silence_id.is_(None) if was is None else Event.silence_id == was
    result = await session.execute(
        update(Event).where(Event.id == event_id, condition).values(silence_id=silence_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def silence_of(session: AsyncSession, event_id: str) -> str | None:
    """The alert's Alertmanager silence, if it has one."""
    return await session.scalar(select(Event.silence_id).where(Event.id == event_id))
