"""The scheduler role: lead (one process per database), then run the recurring jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from adapters.registry import TYPES
from bot.core import heartbeats
from bot.core.alerts import dispatch, groups
from bot.core.integrations import webhooks
from bot.core.paging.shifts import Shifts
from bot.core.paging.ticks import Escalations
from bot.core.services import Services
from domain import Verb
from domain.acting import MAX_LEVEL, Actor
from scheduler import runner
from storage import maintenance, syncs
from storage.leader import LeaderLock
from storage.notify import notify_outbox
from storage.schema import utcnow

log = logging.getLogger(__name__)
RETENTION_CHECK_SECONDS = 3600.0
CREDENTIALS_CHECK_SECONDS = 600.0
SWEEP_SECONDS = 60.0
SWEEP_OVERDUE_SECONDS = 60.0
HEALTH_CONCURRENCY = 8
STANDBY_RETRY_SECONDS = 5.0


class SchedulerService:
    """The work behind the scheduler's jobs."""

    def __init__(self, services: Services, clock: Callable[[], datetime] = utcnow) -> None:
        self.services, self._clock = services, clock
        self.scheduler: Any = None  # set when the jobs start; `refresh` edits its jobs
        self._due: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: set[str] = set()
        self._runners: list[asyncio.Task[None]] = []
        self.escalations = Escalations(services.db, services.cache, services.ingest.wake_workers)
        self.shifts = Shifts(services.db, services.keyring, services.factory)
        self.watching_since = clock()  # heartbeats are not late for the time before this

    async def sync_integration(self, integration_id: str) -> None:
        """Queue a due sync for the sync runners (`CHATOPS_SYNC_CONCURRENCY` of them), so slow
        providers cannot take every database connection. A sync still waiting from its last
        turn is not queued twice."""
        if integration_id in self._waiting:
            return
        if not self._runners:
            self._runners = [
                asyncio.create_task(self._run_syncs(), name=f"sync-runner-{n}")
                for n in range(self.services.settings.sync_concurrency)
            ]
        self._waiting.add(integration_id)
        self._due.put_nowait(integration_id)
        self.services.metrics.sync_queue.set(self._due.qsize())

    async def _run_syncs(self) -> None:
        while True:
            integration_id = await self._due.get()
            self.services.metrics.sync_queue.set(self._due.qsize())
            try:
                await self.run_sync(integration_id)
            except Exception:  # a sync records its own failures; this is a bug, logged
                log.exception("sync crashed", extra={"integration": integration_id})
            finally:
                self._waiting.discard(integration_id)

    async def run_sync(self, integration_id: str) -> None:
        """The sync itself, taken from the queue by a runner."""
        await self.services.sync.run(integration_id, trigger="schedule")

    @property
    def queued(self) -> int:
        """Syncs due and waiting for a runner."""
        return self._due.qsize()

    async def stop(self) -> None:
        """Stop the sync runners; a sync cut short is recorded as interrupted by the next run."""
        for task in self._runners:
            task.cancel()
        await asyncio.gather(*self._runners, return_exceptions=True)
        self._runners = []

    async def check_health(self) -> int:
        """Health-check every active integration, a few at a time."""
        async with self.services.db.session() as session:
            ids = [w.id for w in await syncs.watched(session)]
        remaining = iter(ids)  # a few checkers share it: no task per integration
        healthy = 0

        async def checker() -> None:
            nonlocal healthy
            for integration_id in remaining:
                ok = await self.services.checks.check_health(integration_id)
                healthy += bool(ok)  # added after the await: `+=` would read before it

        await asyncio.gather(*(checker() for _ in range(HEALTH_CONCURRENCY)))
        log.info("health checks", extra={"checked": len(ids), "healthy": healthy})
        return healthy

    async def check_credentials(self) -> int:
        """Lapsed credentials (status `expired`), and providers whose status or audience
        changed; each tells the admins."""
        await self.services.checks.check_providers()
        return await self.services.checks.check_credentials()

    async def sweep_outbox(self) -> int:
        """Wake every worker for deliveries overdue by a minute (a lost wake-up, a dead lease)."""
        before = self._clock() - timedelta(seconds=SWEEP_OVERDUE_SECONDS)
        async with self.services.db.session() as session, session.begin():
            overdue = await maintenance.overdue_deliveries(session, before=before)
            if overdue:
                await notify_outbox(session)
        self.services.metrics.outbox_overdue.set(overdue)
        if overdue:
            self.services.worker.wake()
            log.warning("outbox sweeper found overdue deliveries", extra={"count": overdue})
        return overdue

    async def apply_webhooks(self) -> int:
        """Provider webhooks recorded a minute ago or more and never applied: a crash."""
        return await webhooks.apply_unapplied(
            self.services, older_than=timedelta(seconds=SWEEP_OVERDUE_SECONDS)
        )

    async def refresh(self) -> None:
        """Derive one sync job per integration that syncs from the database."""
        async with self.services.db.session() as session:
            watched = await syncs.watched(session)
        wanted = [
            runner.SyncJob(
                w.id, w.sync_interval_minutes, f"sync {w.id} every {w.sync_interval_minutes} min"
            )
            for w in watched
            if w.sync_enabled
            and w.type in TYPES
            and TYPES[w.type].syncs
            and TYPES[w.type].available
        ]
        if self.scheduler is None:
            return
        added, changed, removed = runner.reconcile(self.scheduler, wanted, self._clock())
        self.services.metrics.scheduled_jobs.labels("sync").set(len(wanted))
        if added or changed or removed:
            log.info(
                "sync jobs refreshed",
                extra={
                    "added": added,
                    "changed": changed,
                    "removed": removed,
                    "total": len(wanted),
                },
            )

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

    async def tend_escalations(self) -> int:
        """Escalation policies (next steps whose wait is over, reminders, acknowledgements
        that lasted too long), alerts of silences that ended, group cards' replies, missed
        heartbeats, and shift hand-offs (announcements, Slack user groups)."""
        now = self._clock()
        moved = await self.escalations.tick(now)
        moved += await dispatch.release_ended(self.services.db, self.services.cache, now)
        moved += await groups.tend(self.services.db, now)
        if moved:
            self.services.ingest.wake_workers()
        moved += await heartbeats.check(self.services, now, self.watching_since)
        return moved + await self.shifts.tend(now)

    async def tend_snoozes(self) -> int:
        """Snoozes that ended come back; Alertmanager silences that should not be are expired."""
        actions = self.services.actions
        woke = await actions.wake_snoozed(self._clock())
        tended = await actions.silences.tend() if actions.silences else 0
        return woke + tended

    async def retain(self) -> int:
        """Delete what is older than the retention period (90 days by default)."""
        before = self._clock() - timedelta(days=self.services.settings.retention_days)
        async with self.services.db.session() as session, session.begin():
            counts = await maintenance.purge(session, before=before)
        if any(counts.values()):
            log.info("retention", extra=counts)
        return sum(counts.values())


async def start(services: Services, work: SchedulerService | None = None) -> Any:
    """Build and start the scheduler, with the sync jobs derived before it starts."""
    settings = services.settings
    work = work or SchedulerService(services)
    scheduler = runner.build(
        work,
        runner.Intervals(
            escalation=settings.escalation_check_seconds,
            retention=RETENTION_CHECK_SECONDS,
            health=settings.health_check_minutes * 60,
            credentials=CREDENTIALS_CHECK_SECONDS,
            sweep=SWEEP_SECONDS,
            refresh=settings.schedule_refresh_seconds,
            paging=settings.paging_check_seconds,
        ),
    )
    work.scheduler = scheduler
    try:
        await work.refresh()
    except Exception:  # the refresh job tries again; the fixed jobs start regardless
        log.exception("could not derive the sync jobs from the database yet")
    scheduler.start()
    return scheduler


async def run(services: Services, stop: asyncio.Event) -> None:
    """Stand by until this process holds the leader lock, then run the jobs until `stop`."""
    lock = LeaderLock(services.db.url)
    scheduler = None
    work = SchedulerService(services)
    try:
        while not stop.is_set():
            if scheduler is None:
                try:
                    leading = await lock.try_acquire()
                except OSError as exc:
                    log.warning("cannot reach the database to lead", extra={"error": str(exc)})
                    leading = False
                if leading:
                    scheduler = await start(services, work)
                    log.info("this process leads the scheduler")
            elif not services.db.is_sqlite and not lock.held:
                log.warning("lost the scheduler lead; standing by")
                scheduler.shutdown(wait=False)
                await work.stop()
                work, scheduler = SchedulerService(services), None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=STANDBY_RETRY_SECONDS)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await work.stop()
        await lock.release()
