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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from adapters.base import AdapterError, AuthError, RemoteState, SyncKind, SyncRequest
from adapters.factory import AdapterFactory
from adapters.registry import TYPES, adapter_type
from bot.actions import ActionService, Actor
from bot.metrics import Metrics
from bot.model import AlertState, EventIn, Verb
from bot.notices import Notifier
from bot.secrets import Keyring
from cards.templates import integration_notice
from storage import syncs
from storage.db import Database
from storage.schema import Integration, SyncLog, utcnow

log = logging.getLogger("chatops.sync")

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

    @property
    def running(self) -> int:
        """Syncs in flight in this process."""
        return sum(lock.locked() for lock in self._locks.values())

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
        now = self.clock()
        async with self._db.session() as session, session.begin():
            row = await session.get(Integration, integration_id)
            if row is None or not row.is_active:
                return SyncOutcome("skipped", error="the integration is removed or disabled")
            recent = await syncs.recent(session, integration_id)
            if recent.running_since(now - STALE_RUN):
                return SyncOutcome("skipped", error="another process is syncing it")
            if recent.stale_before(now - STALE_RUN):
                await syncs.abandon_stale(session, integration_id, now - STALE_RUN)
            cursor = None
            if kind == "incremental":
                cursor = recent.cursor or await syncs.last_cursor(session, integration_id)
            kind_of = adapter_type(row.type)
            refs: tuple[str, ...] = ()
            if kind_of.looks_up_refs:
                refs = tuple(await syncs.open_refs(session, integration_id, MAX_REFS))
            attempt = recent.failures_in_a_row + 1
            log_row = SyncLog(
                tenant_id=row.tenant_id,
                integration_id=row.id,
                provider=row.type,
                sync_type=kind,
                entities=list(kind_of.entities),
                status="running",
                attempt=attempt,
                started_at=now,
            )
            session.add(log_row)
            values = {**(row.config or {}), **self._keyring.decrypt(row.credentials)}
            tenant, name, type_id, status = row.tenant_id, row.name, row.type, row.connection_status
        started = time.perf_counter()
        try:
            adapter = await self._factory.get(tenant, integration_id, type_id, values)
            async with asyncio.timeout(self._timeout):
                result = await adapter.sync(
                    SyncRequest(kind, cursor, adapter_type(type_id).entities, refs)
                )
            updated, failed = await self.apply_states(
                tenant, integration_id, type_id, result.records
            )
        except (AdapterError, TimeoutError) as exc:
            error = str(exc) or f"timed out after {self._timeout:.0f} s"
            self._metrics.syncs.labels(type_id, "failed").inc()
            return await self._failed(log_row.id, tenant, integration_id, name, attempt, exc, error)
        finally:
            self._metrics.sync_seconds.labels(type_id).observe(time.perf_counter() - started)
        self._metrics.syncs.labels(type_id, "success").inc()
        outcome = SyncOutcome(
            "success",
            log_row.id,
            processed=len(result.records),
            updated=updated,
            failed=failed + result.failed,
            attempt=attempt,
        )
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(SyncLog)
                .where(SyncLog.id == log_row.id)
                .values(
                    status="success",
                    records_processed=outcome.processed,
                    records_updated=outcome.updated,
                    records_failed=outcome.failed,
                    cursor=result.cursor,
                    completed_at=self.clock(),
                )
            )
            await session.execute(
                update(Integration)
                .where(Integration.id == integration_id)
                .values(
                    last_sync_at=self.clock(),
                    last_error=None,
                    connection_status="connected",
                    connection_error=None,
                    updated_at=Integration.updated_at,  # a sync is not a change of settings
                )
            )
        log.info(
            "sync finished",
            extra={"integration": integration_id, "trigger": trigger, **outcome.__dict__},
        )
        if attempt > 1 or status in BROKEN:
            await self._recovered(tenant, integration_id, name, status, attempt)
        return outcome

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

    async def _failed(
        self,
        sync_id: str,
        tenant: str,
        integration_id: str,
        name: str,
        attempt: int,
        exc: Exception,
        error: str,
    ) -> SyncOutcome:
        async with self._db.session() as session, session.begin():
            stored = await session.get(SyncLog, sync_id)
            row = await session.get(Integration, integration_id)
            if stored is not None:
                stored.status = "failed"
                stored.error = error
                stored.completed_at = self.clock()
            if row is not None:
                row.last_error = error
                if attempt >= FAILURES_BEFORE_NOTICE or isinstance(exc, AuthError):
                    row.connection_status = (
                        "disconnected" if isinstance(exc, AuthError) else "error"
                    )
                    row.connection_error = error
        log.warning(
            "sync failed", extra={"integration": integration_id, "attempt": attempt, "error": error}
        )
        if attempt >= FAILURES_BEFORE_NOTICE:
            await self._notify_failure(tenant, integration_id, name, attempt, sync_id, error)
        return SyncOutcome("failed", sync_id, error=error, attempt=attempt)

    async def _notify_failure(
        self, tenant: str, integration_id: str, name: str, attempt: int, sync_id: str, error: str
    ) -> None:
        notice = integration_notice(
            "integration.sync.failed",
            integration_id,
            name,
            retry_count=str(attempt),
            error=error,
            task_id=sync_id,
        )
        repeated = attempt >= FAILURES_BEFORE_ALERT
        event = self._notifier.event(
            tenant,
            notice,
            dedup_key=sync_dedup_key(integration_id),
            facts={"integration": name, "attempts": str(attempt), "last error": error[:300]},
            metadata={"job": "sync", "integration_id": integration_id, "sync_id": sync_id},
            kind="alert" if repeated else None,
            title="Integration Sync Failure" if repeated else None,
            message=(
                f'Multiple sync tasks for "{name}" have failed ({attempt} in a row). '
                f"Immediate action required. Last error: {error}"
                if repeated
                else None
            ),
        )
        await self._notifier.send(event)

    async def _recovered(
        self, tenant: str, integration_id: str, name: str, old_status: str | None, attempt: int
    ) -> None:
        """Close the failure notice, and say the connection is back (preferences permitting)."""
        await self._notifier.send(
            EventIn(
                title="Integration sync recovered",
                tenant=tenant,
                event_type="integration.sync.failed",
                source="chatops",
                dedup_key=sync_dedup_key(integration_id),
                resolve=True,
            )
        )
        if old_status in BROKEN:
            await self._status_changed(tenant, integration_id, name, old_status, "connected")

    async def _status_changed(
        self, tenant: str, integration_id: str, name: str, old: str | None, new: str
    ) -> None:
        notice = integration_notice(
            "integration.connection.status.changed",
            integration_id,
            name,
            old_status=old or "unknown",
            new_status=new,
        )
        kind = "information" if new == "connected" else None
        await self._notifier.send(
            self._notifier.event(
                tenant,
                notice,
                dedup_key=f"integration:{integration_id}:status:{new}",
                facts={"integration": name, "was": old or "unknown", "now": new},
                metadata={"integration_id": integration_id},
                kind=kind,
            )
        )

    async def check_health(self, integration_id: str) -> bool | None:
        """Run the provider's health check; a change of connection status tells the admins."""
        async with self._db.session() as session:
            row = await session.get(Integration, integration_id)
            if row is None or not row.is_active:
                return None
            values = {**(row.config or {}), **self._keyring.decrypt(row.credentials)}
            tenant, name, type_id, old = row.tenant_id, row.name, row.type, row.connection_status
        try:
            adapter = await self._factory.get(tenant, integration_id, type_id, values)
            async with asyncio.timeout(self._timeout):
                health = await adapter.health_check()
        except (AdapterError, TimeoutError) as exc:
            health_ok, detail, expires = False, str(exc) or "timed out", None
        else:
            health_ok, detail, expires = health.ok, health.detail, health.expires_at
        new = "connected" if health_ok else "error"
        if old == "expired" and not health_ok:
            new = "expired"
        async with self._db.session() as session, session.begin():
            row = await session.get(Integration, integration_id)
            if row is None:
                return None
            row.connection_status = new
            row.connection_error = None if health_ok else detail
            row.last_connection_test_at = self.clock()
            row.last_connection_test_result = "passed" if health_ok else "failed"
            if expires is not None:
                row.credentials_expire_at = expires
        self._metrics.health.labels(type_id, "ok" if health_ok else "failed").inc()
        if new != old and (old is not None or not health_ok):
            await self._status_changed(tenant, integration_id, name, old, new)
        return health_ok

    async def check_providers(self) -> int:
        """Integrations whose provider changed status or audience (a release deprecated it, an
        operator disabled it): record the change and tell the admins. Returns how many."""
        changes = []
        async with self._db.session() as session, session.begin():
            for row in await syncs.all_integrations(session):
                kind = TYPES.get(row.type)
                if kind is None:
                    continue
                if row.provider_status != kind.status:
                    changes.append((row, "status", row.provider_status, kind.status))
                    row.provider_status = kind.status
                if row.audience != kind.audience:
                    changes.append((row, "audience", row.audience, kind.audience))
                    row.audience = kind.audience
        for row, what, old, new in changes:
            notice = integration_notice(
                f"integration.provider.{what}.changed",
                row.id,
                row.name,
                provider=TYPES[row.type].name,
                **{f"old_{what}": old or "unknown", f"new_{what}": new},
            )
            await self._notifier.send(
                self._notifier.event(
                    row.tenant_id,
                    notice,
                    dedup_key=f"integration:{row.id}:provider:{what}:{new}",
                    facts={"integration": row.name, "was": old or "unknown", "now": new},
                    metadata={"integration_id": row.id},
                )
            )
        return len(changes)

    async def check_credentials(self) -> int:
        """Mark lapsed credentials `expired` and tell the admins; return how many lapsed."""
        now = self.clock()
        async with self._db.session() as session, session.begin():
            lapsed = await syncs.credentials_lapsed(session, now)
            found = [(r.id, r.tenant_id, r.name, r.credentials_expire_at) for r in lapsed]
            for row in lapsed:
                row.connection_status = "expired"
                row.connection_error = "the credentials expired"
        for integration_id, tenant, name, when in found:
            notice = integration_notice("integration.credentials.expired", integration_id, name)
            facts: dict[str, Any] = {"integration": name}
            if when is not None:
                facts["expired"] = when.isoformat(timespec="minutes")
            await self._notifier.send(
                self._notifier.event(
                    tenant,
                    notice,
                    dedup_key=f"integration:{integration_id}:credentials",
                    facts=facts,
                    metadata={"integration_id": integration_id},
                )
            )
            log.warning("integration credentials expired", extra={"integration": integration_id})
        return len(found)


def _verb_for(remote: str, local: str) -> Verb | None:
    """The action that brings our alert to the provider's state, if it is behind."""
    if local == AlertState.RESOLVED.value:
        return None
    if remote == "resolved":
        return Verb.RESOLVE
    if remote == "acknowledged" and local == AlertState.TRIGGERED.value:
        return Verb.ACKNOWLEDGE
    return None
