"""The scheduler role: lead (one process per database), then run the recurring jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.actions import MAX_LEVEL, Actor
from bot.model import Verb
from bot.services import Services
from scheduler import runner
from storage import maintenance
from storage.leader import LeaderLock
from storage.schema import utcnow

log = logging.getLogger("chatops.scheduler")
RETENTION_CHECK_SECONDS = 3600.0
STANDBY_RETRY_SECONDS = 5.0


class SchedulerService:
    """The work behind the scheduler's jobs."""

    def __init__(self, services: Services, clock: Callable[[], datetime] = utcnow) -> None:
        self.services, self._clock = services, clock

    async def escalate_overdue(self) -> int:
        """Escalate every alert nobody acknowledged within the policy's delay (per level)."""
        minutes = self.services.settings.escalate_after_minutes
        if not minutes:
            return 0
        async with self.services.db.session() as session:
            due = await maintenance.overdue_for_escalation(
                session, now=self._clock(), delay=timedelta(minutes=minutes), max_level=MAX_LEVEL
            )
        escalated = 0
        for alert_id in due:
            actor = Actor(
                "scheduler", f"ChatOps (nobody acknowledged in {minutes} min)", "scheduler"
            )
            outcome = await self.services.actions.apply(Verb.ESCALATE, alert_id, actor)
            escalated += int(outcome.applied)
        if escalated:
            log.info("escalated unacknowledged alerts", extra={"count": escalated})
        return escalated

    async def retain(self) -> int:
        """Delete what is older than the retention period (90 days by default)."""
        before = self._clock() - timedelta(days=self.services.settings.retention_days)
        async with self.services.db.session() as session, session.begin():
            counts = await maintenance.purge(session, before=before)
        if any(counts.values()):
            log.info("retention", extra=counts)
        return sum(counts.values())


async def run(services: Services, stop: asyncio.Event) -> None:
    """Stand by until this process holds the leader lock, then run the jobs until `stop`."""
    lock = LeaderLock(services.db.url)
    scheduler = None
    try:
        while not stop.is_set():
            if scheduler is None:
                try:
                    leading = await lock.try_acquire()
                except OSError as exc:
                    log.warning("cannot reach the database to lead", extra={"error": str(exc)})
                    leading = False
                if leading:
                    scheduler = runner.build(
                        SchedulerService(services),
                        escalation_seconds=services.settings.escalation_check_seconds,
                        retention_seconds=RETENTION_CHECK_SECONDS,
                    )
                    scheduler.start()
                    log.info("this process leads the scheduler")
            elif not services.db.is_sqlite and not lock.held:
                log.warning("lost the scheduler lead; standing by")
                scheduler.shutdown(wait=False)
                scheduler = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=STANDBY_RETRY_SECONDS)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await lock.release()
