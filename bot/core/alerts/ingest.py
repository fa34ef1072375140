"""Ingest: store an event, route it, and write its outbox rows in the same transaction."""

from __future__ import annotations

import logging
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
from bot.core.group_commit import Batched
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


class IngestService:
    """Turns events into stored alerts and outbox rows; `wake` tells the workers.

    Group commit: events that arrive while a transaction is being written wait for it and are
    then written together, in one transaction; every request is answered once its events are
    committed. Alone, an event is written at once; under load, many share one commit.
    """

    def __init__(
        self,
        db: Database,
        cache: ConfigCache,
        wake: Callable[[], None] = lambda: None,
        *,
        writers: int = 1,
    ) -> None:
        self._db = db
        self._wake = wake
        self.cache = cache
        self._tenants: BoundedSet[str] = BoundedSet()
        # one request's events commit together; requests arriving together share a commit
        self._commits: Batched[list[EventIn], list[IngestResult]] = Batched(
            self._write, most=BATCH_MAX, writers=writers, weight=len
        )

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
        return await self._commits(list(events))

    async def _write(self, requests: list[list[EventIn]]) -> list[list[IngestResult]]:
        """One transaction for the requests, their open alerts read in one query and their
        rows written in a few statements. If it fails (a duplicate key another process opened
        at the same moment, say), each request is written again on its own (`Batched`), so
        one bad request does not fail the others."""

        async def write() -> list[IngestResult]:
            async with self._db.session() as session, session.begin():
                return await self._submit_batch(session, [e for r in requests for e in r])

        try:
            flat = await retry_transient(write)
        except Exception as exc:
            if len(requests) > 1:
                log.warning(
                    "a batch of events failed; writing each request alone",
                    extra={"events": sum(map(len, requests)), "error": type(exc).__name__},
                )
            raise
        results, at = [], 0
        for request in requests:
            results.append(flat[at : at + len(request)])
            at += len(request)
        if any(r.deliveries for r in flat):
            self._wake()
        return results

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
        new: list[intake.NewEvent] = []
        stored = [
            intake.store_among(rows, new, e, k, now) for e, k in zip(events, keys, strict=True)
        ]
        await intake.write_new(session, new)  # the alerts first: the outbox rows refer to them
        await session.flush()  # and the repeats' changes, for the reads below
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
            queued = await queue_updates(session, alert, now, note, cache=self.cache)
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
