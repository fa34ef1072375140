"""The scheduler role: lead (one process per database), then run the recurring jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.core import periodic
from bot.core.integrations import webhooks
from bot.core.services import Services
from scheduler import runner
from storage.leader import LeaderLock
from storage.schema import utcnow

log = logging.getLogger(__name__)
RETENTION_CHECK_SECONDS = 3600.0
CREDENTIALS_CHECK_SECONDS = 600.0
SWEEP_SECONDS = 60.0
STANDBY_RETRY_SECONDS = 5.0


class SchedulerService:
    """The work behind the scheduler's jobs."""

    def __init__(self, services: Services, clock: Callable[[], datetime] = utcnow) -> None:
        self.services, self._clock = services, clock
        self.scheduler: Any = None  # set when the jobs start; `refresh` edits its jobs
        self._due: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: set[str] = set()
        self._runners: list[asyncio.Task[None]] = []
        self.tending = periodic.Tending(services, since=clock())

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
        return await periodic.check_health(self.services)

    async def check_credentials(self) -> int:
        """Lapsed credentials (status `expired`), and providers whose status or audience
        changed; each tells the admins."""
        await self.services.checks.check_providers()
        return await self.services.checks.check_credentials()

    async def sweep_outbox(self) -> int:
        """Wake every worker for deliveries overdue by a minute (a lost wake-up, a dead lease)."""
        return await periodic.sweep_outbox(self.services, self._clock())

    async def apply_webhooks(self) -> int:
        """Provider webhooks recorded a minute ago or more and never applied: a crash."""
        return await webhooks.apply_unapplied(self.services, older_than=periodic.OVERDUE)

    async def refresh(self) -> None:
        """Derive one sync job per integration that syncs from the database."""
        wanted = [
            runner.SyncJob(
                d.integration_id, d.minutes, f"sync {d.integration_id} every {d.minutes} min"
            )
            for d in await periodic.syncing(self.services)
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
        """Escalate every alert nobody acknowledged within the configured delay (per level)."""
        return await periodic.escalate_overdue(self.services, self._clock())

    async def tend_escalations(self) -> int:
        """Escalation policies, silences that ended, group cards' replies, missed heartbeats
        and shift hand-offs (`periodic.Tending`)."""
        return await self.tending.tick(self._clock())

    async def tend_snoozes(self) -> int:
        """Snoozes that ended come back; Alertmanager silences that should not be are expired."""
        return await self.tending.snoozes(self._clock())

    async def retain(self) -> int:
        """Delete what is older than the retention period (90 days by default)."""
        return await periodic.retain(self.services, self._clock())


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
