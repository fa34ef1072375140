"""The sync engine, health checks and credential-expiry checks, with their notices to admins.

A sync reads the provider's state of what the bot sent there (PagerDuty incidents, Jira
issues) and applies it to the alerts: an acknowledgement made in PagerDuty acknowledges the
card. Every run is recorded in the sync log. A failure tells the admins only from the third
attempt in a row; from the sixth it becomes an `alert`; the first success after failures
resolves that notice and says the connection recovered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError, AuthError, RemoteState, SyncKind, SyncRequest
from adapters.factory import AdapterFactory
from adapters.registry import adapter_type
from bot.core.alerts.actions import ActionService
from bot.core.alerts.notices import Notifier
from bot.core.group_commit import Batched
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring
from cards.templates import integration_notice
from domain import Alert, AlertState, EventIn, Verb
from domain.acting import Actor
from storage import syncs
from storage.db import Database
from storage.schema import Integration, SyncLog, new_id, utcnow

log = logging.getLogger(__name__)

FAILURES_BEFORE_NOTICE = 3
MAX_REFS = 500  # open alerts looked up per sync, oldest first
FAILURES_BEFORE_ALERT = 6
STALE_RUN = timedelta(minutes=10)  # a run `running` for longer died with its process
BROKEN = ("error", "disconnected", "expired")


@dataclass(frozen=True)
class SyncOutcome:
    """What one run did, for the person or job that asked."""

    status: str  # success, failed or skipped
    sync_id: str | None = None
    processed: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    error: str | None = None
    attempt: int = 0

    def describe(self) -> str:
        """One line for chat and the CLI."""
        if self.status == "success":
            return (
                f"synced: {self.processed} records, {self.updated} alerts updated, "
                f"{self.failed} failed"
            )
        if self.status == "skipped":
            return f"skipped: {self.error}"
        return f"failed (attempt {self.attempt}): {self.error}"


@dataclass(frozen=True)
class Run:
    """A sync under way: its record, the integration as it was, and what the provider is asked."""

    sync_id: str
    tenant: str
    integration_id: str
    name: str
    type_id: str
    status_before: str | None
    attempt: int
    request: SyncRequest
    values: dict[str, Any] = field(repr=False)


def sync_dedup_key(integration_id: str) -> str:
    """The key of an integration's sync-failure notice: one open alert however many fail."""
    return f"integration:{integration_id}:sync"


class SyncEngine:
    """Runs syncs and checks for one process; any process may run them."""

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        factory: AdapterFactory,
        actions: ActionService,
        notifier: Notifier,
        metrics: Metrics,
        *,
        timeout: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db, self._keyring, self._factory = db, keyring, factory
        self._actions, self._notifier, self._metrics = actions, notifier, metrics
        self._timeout, self.clock = timeout, clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._begins = Batched(self._begin_many)
        self._finishes = Batched(self._succeeded_many)

    async def retry(self, alert: Alert, _actor: Actor) -> SyncOutcome:
        """The sync a failed-sync alert stands for, run again now."""
        return await self.run(str(alert.metadata.get("integration_id")), trigger="retry")

    async def run(
        self, integration_id: str, *, kind: SyncKind = "incremental", trigger: str = "schedule"
    ) -> SyncOutcome:
        """One sync of the integration, recorded; never raises for the provider's failures."""
        lock = self._locks.setdefault(integration_id, asyncio.Lock())
        if lock.locked():
            return SyncOutcome("skipped", error="a sync of this integration is already running")
        async with lock:
            return await self._run(integration_id, kind, trigger)

    async def _run(self, integration_id: str, kind: SyncKind, trigger: str) -> SyncOutcome:
        run = await self._begin(integration_id, kind)
        if isinstance(run, SyncOutcome):
            return run
        started = time.perf_counter()
        try:
            adapter = await self._factory.get(run.tenant, integration_id, run.type_id, run.values)
            async with asyncio.timeout(self._timeout):
                result = await adapter.sync(run.request)
            updated, failed = await self.apply_states(
                run.tenant, integration_id, run.type_id, result.records
            )
        except (AdapterError, TimeoutError) as exc:
            self._metrics.syncs.labels(run.type_id, "failed").inc()
            return await self._failed(
                run, exc, str(exc) or f"timed out after {self._timeout:.0f} s"
            )
        finally:
            self._metrics.sync_seconds.labels(run.type_id).observe(time.perf_counter() - started)
        self._metrics.syncs.labels(run.type_id, "success").inc()
        outcome = SyncOutcome(
            "success",
            run.sync_id,
            processed=len(result.records),
            updated=updated,
            failed=failed + result.failed,
            attempt=run.attempt,
        )
        await self._succeeded(run, outcome, result.cursor)
        log.info(
            "sync finished",
            extra={"integration": integration_id, "trigger": trigger, **outcome.__dict__},
        )
        if run.attempt > 1 or run.status_before in BROKEN:
            await self._recovered(run)
        return outcome

    async def _begin(self, integration_id: str, kind: SyncKind) -> Run | SyncOutcome:
        """Record the run as started, with what the provider is asked; or why it is skipped.

        Runs starting together are recorded together (one read of their integrations and
        recent runs, one insert), which is what keeps thousands of syncs a minute cheap.
        """
        return await self._begins((integration_id, kind))

    async def _begin_many(self, asked: list[tuple[str, SyncKind]]) -> list[Run | SyncOutcome]:
        now = self.clock()
        ids = [integration_id for integration_id, _ in asked]
        async with self._db.session() as session, session.begin():
            rows = await syncs.integrations_by_id(session, ids)
            recents = await syncs.recent_many(session, [i for i in ids if i in rows])
            started: list[Run | SyncOutcome] = []
            # The run records go in as one insert at commit, not one per query below.
            with session.no_autoflush:
                for integration_id, kind in asked:
                    started.append(
                        await self._start_one(session, rows, recents, integration_id, kind, now)
                    )
        return started

    async def _start_one(
        self,
        session: AsyncSession,
        rows: dict[str, Integration],
        recents: dict[str, syncs.Recent],
        integration_id: str,
        kind: SyncKind,
        now: datetime,
    ) -> Run | SyncOutcome:
        """Why one integration is skipped, or its run started."""
        row = rows.get(integration_id)
        if row is None or not row.is_active:
            return SyncOutcome("skipped", error="the integration is removed or disabled")
        recent = recents[integration_id]
        if recent.running_since(now - STALE_RUN):
            return SyncOutcome("skipped", error="another process is syncing it")
        return await self._start(session, row, recent, kind, now)

    async def _start(
        self,
        session: AsyncSession,
        row: Integration,
        recent: syncs.Recent,
        kind: SyncKind,
        now: datetime,
    ) -> Run:
        """One run's record (flushed with the others of its batch) and what it asks."""
        if recent.stale_before(now - STALE_RUN):
            await syncs.abandon_stale(session, row.id, now - STALE_RUN)
        cursor = None
        if kind == "incremental":
            cursor = recent.cursor
            if cursor is None and recent.partial:  # older runs may still hold one
                cursor = await syncs.last_cursor(session, row.id)
        provider = adapter_type(row.type)
        refs: tuple[str, ...] = ()
        if provider.looks_up_refs:
            refs = tuple(await syncs.open_refs(session, row.id, MAX_REFS))
        log_row = SyncLog(
            id=new_id(),
            tenant_id=row.tenant_id,
            integration_id=row.id,
            provider=row.type,
            sync_type=kind,
            entities=list(provider.entities),
            status="running",
            attempt=recent.failures_in_a_row + 1,
            started_at=now,
        )
        session.add(log_row)
        return Run(
            sync_id=log_row.id,
            tenant=row.tenant_id,
            integration_id=row.id,
            name=row.name,
            type_id=row.type,
            status_before=row.connection_status,
            attempt=log_row.attempt,
            request=SyncRequest(kind, cursor, provider.entities, refs),
            values=self._keyring.with_secrets(row.config, row.credentials),
        )

    async def _succeeded(self, run: Run, outcome: SyncOutcome, cursor: str | None) -> None:
        """The run's record and the integration's status, written with the others finishing
        at the same moment (two statements for all of them)."""
        await self._finishes(
            {
                "run_id": run.sync_id,
                "integration": run.integration_id,
                "processed": outcome.processed,
                "updated": outcome.updated,
                "failed": outcome.failed,
                "cursor_after": cursor,
                "completed": self.clock(),
            }
        )

    async def _succeeded_many(self, runs: list[dict[str, Any]]) -> list[None]:
        async with self._db.session() as session, session.begin():
            await syncs.succeeded_many(session, runs)
        return [None] * len(runs)

    async def apply_states(
        self, tenant: str, integration_id: str, type_id: str, records: tuple[RemoteState, ...]
    ) -> tuple[int, int]:
        """Apply the provider's states to the alerts they belong to: (updated, failed)."""
        if not records:
            return 0, 0
        async with self._db.session() as session:
            known = await syncs.alerts_for_refs(session, integration_id, (r.ref for r in records))
        updated = failed = 0
        provider = adapter_type(type_id).name
        for record in records:
            if record.ref not in known:
                continue
            alert_id, state = known[record.ref]
            verb = _verb_for(record.state, state)
            if verb is None:
                continue
            who = record.by or provider
            actor = Actor(f"{type_id}:{who}", f"{who} (in {provider})", type_id, tenant)
            try:
                outcome = await self._actions.apply(verb, alert_id, actor)
            except Exception:  # one bad record does not stop the sync
                log.exception("applying a synced state failed", extra={"alert_id": alert_id})
                failed += 1
                continue
            updated += int(outcome.applied)
        return updated, failed

    async def _failed(self, run: Run, exc: Exception, error: str) -> SyncOutcome:
        disconnected = isinstance(exc, AuthError)
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(SyncLog)
                .where(SyncLog.id == run.sync_id)
                .values(status="failed", error=error, completed_at=self.clock())
            )
            changes: dict[str, Any] = {"last_error": error}
            if run.attempt >= FAILURES_BEFORE_NOTICE or disconnected:
                changes.update(
                    connection_status="disconnected" if disconnected else "error",
                    connection_error=error,
                )
            await syncs.record_status(session, run.integration_id, **changes)
        log.warning(
            "sync failed",
            extra={"integration": run.integration_id, "attempt": run.attempt, "error": error},
        )
        if run.attempt >= FAILURES_BEFORE_NOTICE:
            await self._notify_failure(run, error)
        return SyncOutcome("failed", run.sync_id, error=error, attempt=run.attempt)

    async def _notify_failure(self, run: Run, error: str) -> None:
        notice = integration_notice(
            "integration.sync.failed",
            run.integration_id,
            run.name,
            retry_count=str(run.attempt),
            error=error,
            task_id=run.sync_id,
        )
        repeated = run.attempt >= FAILURES_BEFORE_ALERT
        event = self._notifier.event(
            run.tenant,
            notice,
            dedup_key=sync_dedup_key(run.integration_id),
            facts={
                "integration": run.name,
                "attempts": str(run.attempt),
                "last error": error[:300],
            },
            metadata={"job": "sync", "integration_id": run.integration_id, "sync_id": run.sync_id},
            kind="alert" if repeated else None,
            title="Integration Sync Failure" if repeated else None,
            message=(
                f'Multiple sync tasks for "{run.name}" have failed ({run.attempt} in a row). '
                f"Immediate action required. Last error: {error}"
                if repeated
                else None
            ),
        )
        await self._notifier.send(event)

    async def _recovered(self, run: Run) -> None:
        """Close the failure notice, and say the connection is back (preferences permitting)."""
        await self._notifier.send(
            EventIn(
                title="Integration sync recovered",
                tenant=run.tenant,
                event_type="integration.sync.failed",
                source="chatops",
                dedup_key=sync_dedup_key(run.integration_id),
                resolve=True,
            )
        )
        if run.status_before in BROKEN:
            await self._notifier.status_changed(
                run.tenant, run.integration_id, run.name, run.status_before, "connected"
            )


def _verb_for(remote: str, local: str) -> Verb | None:
    """The action that brings our alert to the provider's state, if it is behind."""
    if local == AlertState.RESOLVED.value:
        return None
    if remote == "resolved":
        return Verb.RESOLVE
    if remote == "acknowledged" and local == AlertState.TRIGGERED.value:
        return Verb.ACKNOWLEDGE
    return None
