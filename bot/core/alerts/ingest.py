"""Ingest: store an event, route it, and write its outbox rows in the same transaction."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy.event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts.dispatch import route_new
from bot.core.alerts.fanout import load_routing
from bot.core.alerts.normalize import dedup_key_for
from bot.core.config_cache import BoundedSet, ConfigCache
from bot.core.delivery.updates import queue_updates
from bot.infra.logs import correlation_id
from domain import Alert, EventIn
from storage import alerts as alerts_repo
from storage import intake
from storage.db import Database, retry_transient
from storage.notify import notify_outbox
from storage.schema import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What the events API answers: the alert's id and state, and whether it was a repeat."""

    id: str | None
    dedup_key: str
    state: str
    deduplicated: bool
    deliveries: int


BATCH_MAX = 200  # events written in one transaction at most


@dataclass
class _Unit:
    """Events that commit together (one request's), and the request waiting for them."""

    events: list[EventIn]
    done: asyncio.Future[list[IngestResult]]


class IngestService:
    """Turns events into stored alerts and outbox rows; `wake` tells the workers.

    Group commit: events that arrive while a transaction is being written wait for it and are
    then written together, in one transaction; every request is answered once its events are
    committed. Alone, an event is written at once; under load, many share one commit.
    """

    def __init__(
        self,
        db: Database,
        wake: Callable[[], None] = lambda: None,
        cache: ConfigCache | None = None,
        *,
        writers: int = 1,
    ) -> None:
        self._db = db
        self._wake = wake
        self.cache = cache or ConfigCache()
        self._tenants: BoundedSet[str] = BoundedSet()
        self._waiting: deque[_Unit] = deque()
        self._writers = writers  # transactions written at once (PostgreSQL takes several)
        self._writing = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def _remember_tenant_on_commit(self, session: AsyncSession, tenant: str) -> None:
        """Skip the tenant check next time, but only once the row is really committed.

        A request that fails after creating the tenant rolls it back; remembering it earlier
        would make every later event of that tenant fail on its foreign key.
        """
        sqlalchemy.event.listen(
            session.sync_session, "after_commit", lambda _s: self._tenants.add(tenant), once=True
        )

    def wake_workers(self) -> None:
        """Tell the delivery workers that new outbox rows are committed."""
        self._wake()

    async def submit(self, event: EventIn) -> IngestResult:
        """Store, dedup, route and queue one event, atomically; answered once committed."""
        return (await self.submit_many([event]))[0]

    async def submit_many(self, events: list[EventIn]) -> list[IngestResult]:
        """Store several events (one webhook's alerts) in one transaction: all or none."""
        if not events:
            return []
        unit = _Unit(list(events), asyncio.get_running_loop().create_future())
        self._waiting.append(unit)
        if self._writing < self._writers:
            self._writing += 1
            task = asyncio.create_task(self._write_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a client that hangs up does not cancel what is being committed for it.
        return await asyncio.shield(unit.done)

    async def _write_waiting(self) -> None:
        """Write what waits, batch after batch, until nothing does."""
        try:
            while self._waiting:
                await asyncio.sleep(0)  # requests read in this turn of the loop join the batch
                await self._write(self._next_batch())
        finally:
            self._writing -= 1
            for unit in self._waiting if self._writing == 0 else ():
                if not unit.done.done():  # cancelled at shutdown: nothing may wait forever
                    unit.done.set_exception(RuntimeError("ingest stopped"))

    def _next_batch(self) -> list[_Unit]:
        """The oldest waiting requests, up to BATCH_MAX events (one request at least)."""
        batch = [self._waiting.popleft()]
        size = len(batch[0].events)
        while self._waiting and size + len(self._waiting[0].events) <= BATCH_MAX:
            unit = self._waiting.popleft()
            batch.append(unit)
            size += len(unit.events)
        return batch

    async def _write(self, batch: list[_Unit]) -> None:
        """One transaction for the batch, its open alerts read in one query and its rows
        written in a few statements. If it fails (a duplicate key another process opened at
        the same moment, say), each request is written again on its own, event by event, so
        one bad request does not fail the others."""

        async def write_batch() -> list[IngestResult]:
            async with self._db.session() as session, session.begin():
                return await self._submit_batch(session, [e for u in batch for e in u.events])

        try:
            flat = await retry_transient(write_batch)
        except Exception as exc:
            log.warning(
                "a batch of events failed; writing each request alone",
                extra={"events": sum(len(u.events) for u in batch), "error": type(exc).__name__},
            )
            for unit in batch:
                await self._write_alone(unit)
            return
        results, at = [], 0
        for unit in batch:
            results.append(flat[at : at + len(unit.events)])
            at += len(unit.events)
        self._answer(batch, results)

    async def _write_alone(self, unit: _Unit) -> None:
        async def write_one() -> list[IngestResult]:
            async with self._db.session() as session, session.begin():
                return [await self.submit_in(session, e) for e in unit.events]

        try:
            done = await retry_transient(write_one)
        except Exception as exc:
            if not unit.done.done():
                unit.done.set_exception(exc)
            return
        self._answer([unit], [done])

    def _answer(self, batch: list[_Unit], results: list[list[IngestResult]]) -> None:
        for unit, done in zip(batch, results, strict=True):
            if not unit.done.done():
                unit.done.set_result(done)
        if any(r.deliveries for done in results for r in done):
            self._wake()

    async def _submit_batch(
        self, session: AsyncSession, events: list[EventIn]
    ) -> list[IngestResult]:
        """`submit_in` for many events: one read of their open alerts, one flush at the end."""
        now = utcnow()
        keys = [dedup_key_for(e) for e in events]
        for tenant in dict.fromkeys(e.tenant for e in events if e.tenant not in self._tenants):
            await alerts_repo.ensure_tenant(session, tenant)
            self._remember_tenant_on_commit(session, tenant)
        rows = await intake.open_rows(
            session, [(e.tenant, k) for e, k in zip(events, keys, strict=True)]
        )
        stored = [
            intake.store_among(session, rows, e, k, now) for e, k in zip(events, keys, strict=True)
        ]
        await session.flush()  # the alerts first (one statement): the outbox rows refer to them
        results = []
        for event, key, done in zip(events, keys, stored, strict=True):
            correlation_id.set(event.correlation_id)
            results.append(await self._after_store(session, event, key, done, now))
        if any(r.deliveries for r in results):
            await notify_outbox(session)
        return results

    async def submit_in(self, session: AsyncSession, event: EventIn) -> IngestResult:
        """`submit` inside a transaction the caller owns."""
        now = utcnow()
        key = dedup_key_for(event)
        correlation_id.set(event.correlation_id)
        if event.tenant not in self._tenants:
            await alerts_repo.ensure_tenant(session, event.tenant)
            self._remember_tenant_on_commit(session, event.tenant)
        stored = await intake.store(session, event, key, now)
        result = await self._after_store(session, event, key, stored, now)
        if result.deliveries:
            await notify_outbox(session)
        return result

    async def _after_store(
        self,
        session: AsyncSession,
        event: EventIn,
        key: str,
        stored: intake.Stored | None,
        now: datetime,
    ) -> IngestResult:
        """Audit what was cleaned; route a new alert, or update the cards of a repeat."""
        if stored is None:
            log.info("resolve for no open alert ignored", extra={"dedup_key": key})
            return IngestResult(None, key, "resolved", False, 0)
        alert = stored.alert
        if event.cleaned:
            log.warning("event cleaned", extra={"alert_id": alert.id, "cleaned": event.cleaned})
            session.add(alerts_repo.cleaned_audit(alert, event))
        if stored.deduplicated and alert.snoozed:
            queued = 0  # snoozed: counted and kept, shown when the snooze ends
        elif stored.deduplicated:
            note = (
                f"✅ Resolved by {alert.resolved_by}"
                if stored.resolved_now
                else f"🔁 Fired again ({alert.occurrences} times in all)"
            )
            queued = await queue_updates(session, alert, now, note)
        else:
            queued = await self._route(session, alert, now)
        log.info(
            "event stored",
            extra={
                "alert_id": alert.id,
                "dedup_key": key,
                "deduplicated": stored.deduplicated,
                "deliveries": queued,
            },
        )
        return IngestResult(alert.id, key, alert.state.value, stored.deduplicated, queued)

    async def _route(self, session: AsyncSession, alert: Alert, now: datetime) -> int:
        config = await self.cache.get(
            ("routing", alert.tenant), lambda: load_routing(session, alert.tenant)
        )
        return await route_new(session, alert, now, config, self.cache)
