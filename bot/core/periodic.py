"""The work the scheduler runs on a clock, owned here: health checks, the outbox sweep, overdue
escalation, the tending of escalation policies, silences, group cards, heartbeats, shifts and
snoozes, and retention. `bot/runtime/scheduling.py` only decides when (and leads: one process
per database); each function takes the time it runs for, so a test can move the clock."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.registry import TYPES
from bot.core import heartbeats
from bot.core.alerts import dispatch, groups
from bot.core.paging.shifts import Shifts
from bot.core.paging.ticks import Escalations
from bot.core.services import Services
from domain import Verb
from domain.acting import MAX_LEVEL, Actor
from storage import maintenance, syncs
from storage.notify import notify_outbox

log = logging.getLogger(__name__)
OVERDUE = timedelta(seconds=60)  # a delivery this late lost its wake-up or its lease
HEALTH_CONCURRENCY = 8


@dataclass(frozen=True)
class SyncDue:
    """An integration that syncs, and how often."""

    integration_id: str
    minutes: int


async def syncing(services: Services) -> list[SyncDue]:
    """Every integration that syncs (active, of a type that syncs and is still offered)."""
    async with services.db.session() as session:
        watched = await syncs.watched(session)
    return [
        SyncDue(w.id, w.sync_interval_minutes)
        for w in watched
        if w.sync_enabled and w.type in TYPES and TYPES[w.type].syncs and TYPES[w.type].available
    ]


async def check_health(services: Services) -> int:
    """Health-check every active integration, a few at a time; how many are healthy."""
    async with services.db.session() as session:
        ids = [w.id for w in await syncs.watched(session)]
    remaining = iter(ids)  # a few checkers share it: no task per integration
    healthy = 0

    async def checker() -> None:
        nonlocal healthy
        for integration_id in remaining:
            ok = await services.checks.check_health(integration_id)
            healthy += bool(ok)  # added after the await: `+=` would read before it

    await asyncio.gather(*(checker() for _ in range(HEALTH_CONCURRENCY)))
    log.info("health checks", extra={"checked": len(ids), "healthy": healthy})
    return healthy


async def sweep_outbox(services: Services, now: datetime) -> int:
    """Wake every worker for deliveries overdue by a minute (a lost wake-up, a dead lease)."""
    async with services.db.session() as session, session.begin():
        overdue = await maintenance.overdue_deliveries(session, before=now - OVERDUE)
        if overdue:
            await notify_outbox(session)
    services.metrics.outbox_overdue.set(overdue)
    if overdue:
        services.worker.wake()
        log.warning("outbox sweeper found overdue deliveries", extra={"count": overdue})
    return overdue


async def escalate_overdue(services: Services, now: datetime) -> int:
    """Escalate every alert nobody acknowledged within the configured delay (per level)."""
    minutes = services.settings.escalate_after_minutes
    if not minutes:
        return 0
    async with services.db.session() as session:
        due = await maintenance.overdue_for_escalation(
            session, now=now, delay=timedelta(minutes=minutes), max_level=MAX_LEVEL
        )
    actor = Actor("scheduler", f"ChatOps (nobody acknowledged in {minutes} min)", "scheduler")
    escalated = 0
    for alert_id in due:
        outcome = await services.actions.apply(Verb.ESCALATE, alert_id, actor)
        escalated += int(outcome.applied)
    if escalated:
        log.info("escalated unacknowledged alerts", extra={"count": escalated})
    return escalated


class Tending:
    """What moves on by itself as time passes: escalation policies (next steps, reminders,
    acknowledgements that lasted too long), alerts of silences that ended, group cards'
    replies, missed heartbeats, shift hand-offs, and snoozes that ended."""

    def __init__(self, services: Services, since: datetime) -> None:
        self.services = services
        self.escalations = Escalations(services.db, services.cache, services.ingest.wake_workers)
        self.shifts = Shifts(services.db, services.keyring, services.factory)
        self.since = since  # heartbeats are not late for the time before this

    async def tick(self, now: datetime) -> int:
        """Everything due by `now`; how many things moved."""
        services = self.services
        moved = await self.escalations.tick(now)
        moved += await dispatch.release_ended(services.db, services.cache, now)
        moved += await groups.tend(services.db, now)
        if moved:
            services.ingest.wake_workers()
        moved += await heartbeats.check(services, now, self.since)
        return moved + await self.shifts.tend(now)

    async def snoozes(self, now: datetime) -> int:
        """Snoozes that ended come back; Alertmanager silences that should not be are
        expired."""
        actions = self.services.actions
        woke = await actions.wake_snoozed(now)
        tended = await actions.silences.tend() if actions.silences else 0
        return woke + tended


async def retain(services: Services, now: datetime) -> int:
    """Delete what is older than the retention period (90 days by default)."""
    before = now - timedelta(days=services.settings.retention_days)
    async with services.db.session() as session, session.begin():
        counts = await maintenance.purge(session, before=before)
    if any(counts.values()):
        log.info("retention", extra=counts)
    return sum(counts.values())
