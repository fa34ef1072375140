"""What a send did, written down: the attempt, and then sent, tried again later (a 429's
`Retry-After`, or an exponential, jittered backoff while the retry budget and time last), or
dead-lettered (the admins told); refused credentials mark the integration disconnected."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError, AuthError, RateLimited
from bot.core.config_cache import ConfigCache
from bot.core.delivery import grouping
from bot.core.delivery.flow import Flow
from bot.core.delivery.limits import backoff
from bot.core.delivery.records import dead_letter_event, summary, target_of
from bot.core.group_commit import GroupCommit
from bot.infra.metrics import Metrics
from cards.redact import scrub_urls
from domain import ChannelInfo, Delivered, DeliveryKind, EventIn, OutboxItem, Outgoing
from storage import digests, syncs
from storage import outcomes as outcome_rows
from storage.db import Database
from storage.schema import utcnow

log = logging.getLogger(__name__)

RATE_LIMIT_TRIES = 20  # 429s do not spend the retry budget, but they are not endless either
BACKOFF_CAP = 120.0  # the longest pause between two tries of one delivery
FOLDS = (DeliveryKind.DIGEST, DeliveryKind.GROUP)  # cards standing for many alerts

DeadLetterHook = Callable[[EventIn], Awaitable[object]]
RefusedHook = Callable[[str, str, str, str], Awaitable[None]]  # tenant, id, name, error


class Outcomes:
    """Records outcomes for the delivery worker, each in the worker's shared transaction."""

    def __init__(
        self,
        db: Database,
        cache: ConfigCache,
        writes: GroupCommit,
        metrics: Metrics,
        flow: Flow,
        rng: random.Random,
        *,
        wake: Callable[[], None],
        due_in: Callable[[float], None],
        on_dead: DeadLetterHook | None = None,
        on_refused: RefusedHook | None = None,
    ) -> None:
        self._db, self._cache, self._writes, self._metrics = db, cache, writes, metrics
        self._flow, self._rng = flow, rng
        self.wake, self._due_in = wake, due_in  # look again now; a row comes back in N s
        self._on_dead, self._on_refused = on_dead, on_refused

    async def crashed(self, item: OutboxItem, exc: Exception) -> None:
        """A crash is a failed attempt: retried within the budget, then dead-lettered.

        If even this cannot be written (the database is gone), the lease expires and the
        row is claimed again, and the claim count below ends it: never lost, never endless.
        """
        error = f"internal error while sending: {type(exc).__name__}"
        try:
            async with self._db.session() as session, session.begin():
                await outcome_rows.record_attempt(
                    session, item, started=utcnow(), status_code=None, error=error
                )
                if await self.retry_with_backoff(session, item, error, None):
                    return
            await self.dead(item, error, None, None)
        except Exception:
            log.exception("could not record a crashed delivery", extra={"delivery_id": item.id})

    async def succeeded(
        self,
        item: OutboxItem,
        channel: ChannelInfo,
        started: datetime,
        delivered: Delivered,
        message: Outgoing,
        group: grouping.CardToSend | None = None,
    ) -> None:
        payload, target = summary(message), target_of(channel)

        async def record(session: AsyncSession) -> outcome_rows.Kept:
            await outcome_rows.record_attempt(
                session, item, started=started, status_code=delivered.status_code, error=None
            )
            sent = outcome_rows.Sent(delivered.status_code, delivered.ref, payload, target)
            if group is None and message.digest is None:  # nothing more to write: at commit
                return outcome_rows.mark_sent_at_commit(session, item, sent)
            kept = await outcome_rows.mark_sent(session, item, sent)
            if kept and group is not None:
                await grouping.recorded(session, item, group, utcnow())
            elif kept and message.digest is not None:
                await digests.requeue_if_grown(session, item.id, message.digest.count, utcnow())
            return outcome_rows.Kept(kept)

        kept = (await self._writes.run(record)).kept
        if item.kind is DeliveryKind.UPDATE:
            self.wake()  # a later update of the same card may be waiting for this one
        if not kept:
            log.warning(
                "sent, but the lease had passed to another worker", extra={"delivery_id": item.id}
            )
        if message.alert is not None:
            kind = self._metrics.event_type(message.alert.event_type)
        else:
            kind = "group" if group is not None else "digest"
        self._metrics.sent.labels(channel.type, item.priority.value, kind).inc()
        self._metrics.latency.labels(channel.type).observe(
            max(0.0, (utcnow() - item.created_at).total_seconds())
        )
        log.info(
            "delivered",
            extra={
                "delivery_id": item.id,
                "channel": channel.name,
                "status_code": delivered.status_code,
            },
        )

    async def failed(
        self, item: OutboxItem, channel: ChannelInfo, started: datetime, exc: AdapterError
    ) -> None:
        error = scrub_urls(str(exc))[:2000]
        reason = type(exc).__name__
        code = str(exc.status_code) if exc.status_code is not None else "none"
        self._metrics.failed.labels(channel.type, item.priority.value, reason, code).inc()
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        wait: float | None = None
        failed = True
        if isinstance(exc, RateLimited) and item.attempts < item.max_attempts + RATE_LIMIT_TRIES:
            await self._flow.pause(channel, exc.retry_after)
            wait = exc.retry_after + self._rng.uniform(0, 0.1 * exc.retry_after + 0.05)
            failed = False
        elif exc.retryable:
            wait = self.backoff(item)

        async def record(session: AsyncSession) -> None:
            await outcome_rows.record_attempt(
                session,
                item,
                started=started,
                status_code=exc.status_code,
                error=error,
                retry_after=retry_after,
            )
            if wait is not None:
                await outcome_rows.mark_retry(
                    session,
                    item,
                    when=utcnow() + timedelta(seconds=wait),
                    error=error,
                    status_code=exc.status_code,
                    failed=failed,
                )

        await self._writes.run(record)
        if wait is not None and not failed:
            log.warning("rate limited", extra={"delivery_id": item.id, "retry_after": wait})
            return
        if wait is not None:
            log.warning(
                "delivery failed; will retry", extra={"delivery_id": item.id, "error": error}
            )
            return
        if isinstance(exc, AuthError) and channel.integration_id:
            await self.disconnect(channel.integration_id, error)
        await self.dead(item, error, exc.status_code, channel)

    def backoff(self, item: OutboxItem) -> float | None:
        """The exponential, jittered pause before the next try, or None: the budget is spent.

        The budget is the retry count and, beyond it, the delivery's retry time
        (`retry_until`): a destination down for a few minutes is tried until it is back."""
        counted_out = item.failures + 1 >= item.max_attempts
        left = (item.retry_until - utcnow()).total_seconds() if item.retry_until else 0.0
        if counted_out and left <= 0:
            return None
        wait = backoff(item.failures + 1, item.retry_delay_seconds, cap=BACKOFF_CAP, rng=self._rng)
        return min(wait, max(1.0, left)) if counted_out else wait

    async def retry_with_backoff(
        self, session: AsyncSession, item: OutboxItem, error: str, status_code: int | None
    ) -> bool:
        """Schedule another try after an exponential, jittered pause while the budget lasts."""
        wait = self.backoff(item)
        if wait is None:
            return False
        await outcome_rows.mark_retry(
            session,
            item,
            when=utcnow() + timedelta(seconds=wait),
            error=error,
            status_code=status_code,
            failed=True,
        )
        return True

    async def disconnect(self, integration_id: str, error: str) -> None:
        """Credentials refused: mark the integration disconnected until someone fixes them,
        and tell the tenant's admins (one open credentials alert per integration)."""
        async with self._db.session() as session, session.begin():
            await syncs.record_status(
                session, integration_id, connection_status="disconnected", connection_error=error
            )
            named = await syncs.tenant_and_name(session, integration_id)
        self._cache.invalidate()
        log.error("integration disconnected", extra={"integration": integration_id, "error": error})
        if self._on_refused is not None and named is not None:
            tenant, name = named
            await self._on_refused(tenant, integration_id, name, error)

    async def retry_later(self, item: OutboxItem, seconds: float, note: str | None) -> None:
        when = utcnow() + timedelta(seconds=seconds)
        self._due_in(seconds)

        async def record(session: AsyncSession) -> None:
            await outcome_rows.mark_retry(
                session, item, when=when, error=note, status_code=None, failed=False, counted=False
            )

        await self._writes.run(record)

    async def dead(
        self, item: OutboxItem, error: str, status_code: int | None, channel: ChannelInfo | None
    ) -> None:
        async def record(session: AsyncSession) -> tuple[bool, int]:
            if not await outcome_rows.mark_dead(
                session, item, error=error, status_code=status_code
            ):
                return False, 0
            if item.kind in FOLDS:  # what it folded, unseen, is lost with it
                return True, await digests.unshown_members_dead(session, item.id, error)
            return True, 0

        moved, lost = await self._writes.run(record)
        if not moved:
            return
        kind = channel.type if channel else item.channel_type
        self._metrics.dead.labels(kind).inc(1 + lost)
        log.error(
            "delivery dead-lettered",
            extra={"delivery_id": item.id, "error": error, "alerts_in_digest": lost},
        )
        if self._on_dead is not None:  # a dead digest tells the admins like any dead letter
            await self._on_dead(dead_letter_event(item, error, channel, folded=lost))
