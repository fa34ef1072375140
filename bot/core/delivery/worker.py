"""Delivery workers: claim due outbox rows, send them through adapters, record every attempt."""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError, AuthError, RateLimited
from adapters.factory import AdapterFactory
from adapters.kinds import BuildOptions
from adapters.registry import shows_digests
from bot.core.config_cache import ConfigCache
from bot.core.delivery import grouping
from bot.core.delivery.limits import Circuits, RateLimits, backoff
from bot.core.delivery.pacing import SharedPace
from bot.core.delivery.records import dead_letter_event, summary, target_of
from bot.core.group_commit import GroupCommit
from bot.infra.logs import correlation_id
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring, SecretKeyError
from cards.redact import scrub_urls
from domain import (
    Alert,
    ChannelInfo,
    Delivered,
    DeliveryKind,
    EventIn,
    OutboxItem,
    Outgoing,
)
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import digests, outbox, syncs
from storage.db import Database
from storage.schema import utcnow

log = logging.getLogger(__name__)

RATE_LIMIT_TRIES = 20  # 429s do not spend the retry budget, but they are not endless either
CLAIMS_PAST_BUDGET = 3  # claims with no recorded outcome (each try died) before dead-letter
UPDATE_RATE_FACTOR = 4  # edits may go this many times faster than new posts
DIGEST_AFTER_SECONDS = 10.0  # fold a channel's queue into a digest when it is this far behind
MAX_DUE_TIMES = 20_000  # held-back rows whose due time the loop keeps, to wake for each
BACKOFF_CAP = 120.0  # the longest pause between two tries of one delivery
FOLDS = (DeliveryKind.DIGEST, DeliveryKind.GROUP)  # cards standing for many alerts
INLINE_WAIT = 0.25  # a pager's alert back a little before its slot waits for it in place


# A destination allowed a thousand sends a second or more is not paced across processes:
# each process keeps its own bucket, and sends skip the shared slot's statement.
SHARED_BELOW_PER_MINUTE = 60_000.0


@dataclass(frozen=True)
class WorkerOptions:
    """How hard the workers push."""

    concurrency: int = 8
    batch: int = 50
    lease_seconds: float = 30.0
    send_timeout: float = 10.0
    idle_poll: float = 1.0
    public_url: str = ""
    allow_private_targets: bool = False
    slack_api_url: str = "https://slack.com/api/"
    # app id, password, tenant id: kept out of the repr, which logs and tracebacks may show
    teams: tuple[str, str, str] = field(default=("", "", ""), repr=False)

    @property
    def build(self) -> BuildOptions:
        """What adapters take from the settings."""
        return BuildOptions(self.allow_private_targets, self.slack_api_url, *self.teams)


DeadLetterHook = Callable[[EventIn], Awaitable[object]]
RefusedHook = Callable[[str, str, str, str], Awaitable[None]]  # tenant, id, name, error
Loaded = tuple[ChannelInfo, str | None] | None  # a channel and its encrypted credentials


@dataclass(frozen=True)
class Claimed:
    """What a claimed row needs, read with the claim: its channel, its alert, its card."""

    channel: Loaded = None
    alert: Alert | None = None
    ref: str | None = None  # the posted card an update edits


class DeliveryWorker:
    """Sends what the outbox holds, at the rate each destination allows."""

    def __init__(
        self,
        db: Database,
        cache: ConfigCache,
        keyring: Keyring,
        http: httpx.AsyncClient,
        metrics: Metrics,
        options: WorkerOptions,
        on_dead: DeadLetterHook | None = None,
        rng: random.Random | None = None,
        factory: AdapterFactory | None = None,
        on_refused: RefusedHook | None = None,
    ) -> None:
        self._db, self._cache, self._keyring, self._http = db, cache, keyring, http
        self._metrics, self._opts, self._on_dead = metrics, options, on_dead
        self._on_refused = on_refused
        self._rng = rng or random.Random()
        self.factory = factory or AdapterFactory(http, options.build)
        self._limits = RateLimits()
        # Several processes may send on PostgreSQL: there a channel's slots are shared.
        self._shared = None if db.is_sqlite else SharedPace(db)
        self._circuits = Circuits()
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(options.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._writes = GroupCommit(db)  # outcomes landing together share one transaction
        self._next_start: dict[str, float] = {}
        self._turns: dict[str, float] = {}  # the last turn given to a held-back pager alert
        self._due: list[float] = []  # when the rows this process held back are due (a heap)

    def _shared_pace(self, per_minute: float) -> SharedPace | None:
        """The slots shared with other processes for a destination at this rate, or None
        when this process's own buckets pace it (SQLite; SHARED_BELOW_PER_MINUTE or more)."""
        return self._shared if per_minute < SHARED_BELOW_PER_MINUTE else None

    def wake(self) -> None:
        """New work was committed: look now instead of at the next poll."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set, then let sends in flight finish."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("delivery loop failed; retrying")
                claimed = 0
            if claimed == 0:
                self._wakeup.clear()
                waiter = asyncio.ensure_future(self._wakeup.wait())
                stopper = asyncio.ensure_future(stop.wait())
                # Back when the soonest row this process held back is due, not at the next
                # poll: a paced destination's next turn may be a hundredth of a second away.
                now = time.monotonic()
                while self._due and self._due[0] <= now:
                    heapq.heappop(self._due)
                soon = self._due[0] - now if self._due else self._opts.idle_poll
                await asyncio.wait(
                    {waiter, stopper},
                    timeout=min(self._opts.idle_poll, max(0.005, soon)),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                stopper.cancel()
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self._opts.send_timeout + 1)

    async def run_once(self) -> int:
        """Claim one batch (as many as there are free slots) and start sending it."""
        free = max(1, min(self._opts.batch, self._opts.concurrency - len(self._inflight)))
        if len(self._inflight) >= self._opts.concurrency:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        async with self._db.session() as session, session.begin():
            items = await outbox.claim(
                session, now=utcnow(), lease=self._opts.lease_seconds, limit=free
            )
            claimed = await self._read_for(session, items)
            grouped = await grouping.fold_members(
                session,
                items,
                {i.id: c.channel[0].type for i in items if (c := claimed[i.id]).channel},
                {i.id: claimed[i.id].alert for i in items},
                utcnow(),
            )
            taken = len(items)  # grouped or not, the loop looks again at once
            items = [i for i in items if i.id not in grouped]
            sending = await self._fold_storms(session, items, claimed)
        if len(sending) < len(items):
            self.wake()  # the digest they went into is due now
        items = sending
        for item in items:
            task = asyncio.create_task(self._guarded(item, claimed[item.id]))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return taken

    async def drain(self) -> None:
        """Wait for every send in flight (tests and shutdown)."""
        while self._inflight:
            await asyncio.wait(self._inflight)

    async def _read_for(self, session: AsyncSession, items: list[OutboxItem]) -> dict[str, Claimed]:
        """Channels, alerts and posted cards of a claimed batch, in a few queries."""
        channels: dict[str, Loaded] = {}

        def read_channel(channel_id: str) -> Awaitable[Loaded]:
            return config_repo.channel(session, channel_id)

        for channel_id in dict.fromkeys(i.channel_id for i in items if i.channel_id):
            channels[channel_id] = await self._cache.get(
                ("channel", channel_id), partial(read_channel, channel_id)
            )
        alerts = await alerts_repo.get_many(session, [i.event_id for i in items if i.event_id])
        refs = await outbox.post_refs(
            session,
            [
                (i.event_id, i.channel_id)
                for i in items
                if i.kind is DeliveryKind.UPDATE and i.event_id and i.channel_id
            ],
        )
        return {
            i.id: Claimed(
                channels.get(i.channel_id) if i.channel_id else None,
                alerts.get(i.event_id) if i.event_id else None,
                refs.get((i.event_id, i.channel_id))
                if i.kind is DeliveryKind.UPDATE and i.event_id and i.channel_id
                else i.message_ref,
            )
            for i in items
        }

    async def _fold_storms(
        self, session: AsyncSession, items: list[OutboxItem], claimed: dict[str, Claimed]
    ) -> list[OutboxItem]:
        """A channel sent more new cards than its rate lets out soon: fold them at once.

        Per channel, as many of the claimed new cards as its rate allows now are sent, the
        most severe first; the rest, with every card waiting for the channel, go into its
        digest in the same transaction, so a storm is visible in one message within a send.
        """
        posts: dict[str, list[OutboxItem]] = {}
        for item in items:
            loaded = claimed[item.id].channel
            if (
                item.kind is DeliveryKind.POST
                and item.message_ref is None
                and loaded
                and shows_digests(loaded[0].type)
            ):
                posts.setdefault(loaded[0].id, []).append(item)
        folded: set[str] = set()
        now = utcnow()
        for channel_id, waiting in posts.items():
            channel = claimed[waiting[0].id].channel
            assert channel is not None
            key, per_minute = _rate_key(waiting[0], channel[0])
            shared = self._shared_pace(per_minute)
            free = (
                await shared.free(session, key)
                if shared
                else self._limits.bucket(key, per_minute).available()
            )
            if len(waiting) <= free:
                continue
            backlog = await outbox.backlog(session, channel_id)
            behind = (len(waiting) - free + backlog) * 60.0 / per_minute > DIGEST_AFTER_SECONDS
            if not behind and not await digests.absorbing(session, channel_id, now):
                continue
            waiting.sort(key=lambda i: (-i.priority.rank, i.created_at))
            extra = waiting[free:]
            digest_id, count = await digests.fold(session, extra[0], now=now, also=extra[1:])
            if digest_id is None:  # another process is folding this channel: send as usual
                continue
            folded.update(i.id for i in extra)
            log.warning(
                "channel over its rate: alerts folded into a digest",
                extra={"channel": channel[0].name, "digest_id": digest_id, "folded": count},
            )
        return [i for i in items if i.id not in folded]

    async def _guarded(self, item: OutboxItem, claimed: Claimed | None = None) -> None:
        async with self._slots:
            try:
                await self._process(item, claimed or Claimed())
            except Exception as exc:
                log.exception("delivery crashed", extra={"delivery_id": item.id})
                await self._crashed(item, exc)

    async def _crashed(self, item: OutboxItem, exc: Exception) -> None:
        """A crash is a failed attempt: retried within the budget, then dead-lettered.

        If even this cannot be written (the database is gone), the lease expires and the
        row is claimed again, and the claim count below ends it: never lost, never endless.
        """
        error = f"internal error while sending: {type(exc).__name__}"
        try:
            async with self._db.session() as session, session.begin():
                await outbox.record_attempt(
                    session, item, started=utcnow(), status_code=None, error=error
                )
                if await self._retry_with_backoff(session, item, error, None):
                    return
            await self._dead(item, error, None, None)
        except Exception:
            log.exception("could not record a crashed delivery", extra={"delivery_id": item.id})

    async def _process(self, item: OutboxItem, claimed: Claimed) -> None:
        if item.attempts > item.max_attempts + RATE_LIMIT_TRIES + CLAIMS_PAST_BUDGET:
            # Claimed again and again without an outcome: each try died before recording it.
            error = f"gave up after {item.attempts - 1} tries that never finished"
            return await self._dead(item, error, None, None)
        loaded, alert, ref = claimed.channel, claimed.alert, claimed.ref
        digest, folded_into, group = None, None, None
        if item.kind is DeliveryKind.DIGEST:
            async with self._db.session() as session:
                digest = await digests.load(session, item.id, utcnow())
        if item.kind is DeliveryKind.GROUP:
            async with self._db.session() as session:
                group = await grouping.card(session, item, utcnow())
            if group is None:
                return await self._dead(item, "its group is gone", None, None)
            digest = group.digest
        if item.kind is DeliveryKind.UPDATE and ref is None and item.event_id and item.channel_id:
            async with self._db.session() as session:
                folded_into = await digests.digest_showing(session, item.event_id, item.channel_id)
        correlation_id.set(alert.correlation_id if alert else None)
        if loaded is None or not loaded[0].is_active:
            return await self._dead(item, "the channel was removed or disabled", None, None)
        channel, token = loaded
        if item.kind is DeliveryKind.UPDATE and ref is None and folded_into is not None:
            return await self._update_digest(item, folded_into, alert)
        if item.kind is DeliveryKind.UPDATE and ref is None:
            return await self._retry_later(item, 5.0, "waiting for the card to be posted first")
        if await self._held_back(item, channel):
            return
        try:
            values = self._keyring.with_secrets(channel.settings, token)
        except SecretKeyError as exc:
            return await self._dead(item, str(exc), None, channel)
        if channel.target:
            values["url"] = channel.target
        message = Outgoing(
            delivery_id=item.id,
            kind=item.kind,
            alert=alert,
            digest=digest,
            ref=ref,
            public_url=self._opts.public_url,
            notes=group.notes if group else item.notes,
            verbs=channel.verbs,
        )
        await self._send(item, channel, values, message, group)

    async def _update_digest(
        self, item: OutboxItem, digest_id: str, alert: Alert | None = None
    ) -> None:
        """The alert's card lives in a digest or a group's card: refresh that message, once
        for many (a group's card also tells the change in its next reply)."""
        async with self._db.session() as session, session.begin():
            await outbox.mark_folded(session, item, digest_id)
            now = utcnow()
            if not await grouping.member_changed(session, digest_id, item.notes, alert, now):
                await digests.refresh(session, digest_id, now)
        self.wake()

    async def _held_back(self, item: OutboxItem, channel: ChannelInfo) -> bool:
        """Postpone (without spending an attempt) while the circuit is open or over the rate."""
        if await self._circuit_open(item, channel):
            return True
        key, rate = _rate_key(item, channel)
        shared = self._shared_pace(rate)
        wait = await shared.take(key, rate) if shared else self._limits.bucket(key, rate).take()
        pager = item.kind is DeliveryKind.POST and not shows_digests(channel.type)
        if pager and shared is None and 0 < wait <= min(INLINE_WAIT, 2 * 60.0 / rate):
            # Back in its turn, a hair early: wait here rather than go round the outbox again
            # (the shared pace already sleeps short waits itself).
            await asyncio.sleep(wait)
            wait = self._limits.bucket(key, rate).take()
        if wait <= 0:
            return False
        if pager:
            wait = self._turn(key, rate, wait)  # a pager: every alert, each in its turn
        elif item.kind is DeliveryKind.POST and await self._fold_if_behind(item, channel):
            return True
        await self._retry_later(item, wait, None)
        return True

    def _turn(self, key: str, per_minute: float, wait: float) -> float:
        """When a held-back alert for a destination that folds nothing comes back: one rate
        interval after the one held before it, so a storm to a pager is claimed again in
        turns, not all at once at the next free slot."""
        interval = 60.0 / max(per_minute, 1.0)
        now = time.monotonic()
        turn = max(now + wait, max(now, self._turns.get(key, 0.0)) + interval)
        self._turns[key] = turn
        return turn - now

    async def _circuit_open(self, item: OutboxItem, channel: ChannelInfo) -> bool:
        """Whether the destination's circuit is open; if so the item waits (no attempt spent)."""
        circuit = self._circuits.get(channel.integration_id or channel.id)
        blocked = circuit.blocked_for(self._circuits.now())
        if blocked > 0:
            await self._retry_later(item, blocked, None)
        return blocked > 0

    async def _fold_if_behind(self, item: OutboxItem, channel: ChannelInfo) -> bool:
        """When the queue is more than DIGEST_AFTER_SECONDS behind the rate, fold it."""
        now = utcnow()
        async with self._db.session() as session, session.begin():
            waiting = await outbox.backlog(session, channel.id) + 1
            behind = waiting * 60.0 / channel.rate_per_minute > DIGEST_AFTER_SECONDS
            if not behind and not await digests.absorbing(session, channel.id, now):
                return False
            digest_id, folded = await digests.fold(session, item, now=now)
            if digest_id is None:  # another process is folding this channel right now
                return False
        log.warning(
            "channel over its rate: alerts folded into a digest",
            extra={"channel": channel.name, "digest_id": digest_id, "folded": folded},
        )
        self.wake()
        return True

    async def _send(
        self,
        item: OutboxItem,
        channel: ChannelInfo,
        values: dict[str, object],
        message: Outgoing,
        group: grouping.CardToSend | None = None,
    ) -> None:
        started = utcnow()
        circuit = self._circuits.get(channel.integration_id or channel.id)
        try:
            adapter = await self.factory.get(channel.tenant, channel.id, channel.type, values)
            await self._space_out(*_rate_key(item, channel))
            if await self._circuit_open(item, channel):  # it opened while this one waited
                return None
            sending = time.perf_counter()
            try:
                async with asyncio.timeout(self._opts.send_timeout):
                    delivered = await adapter.send(message)
            finally:  # failed sends too: a slow refusal is a slow send
                elapsed = time.perf_counter() - sending
                self._metrics.send_duration.labels(channel.type).observe(elapsed)
        except TimeoutError:
            circuit.failure(self._circuits.now())
            return await self._failed(item, channel, started, AdapterError("timed out"))
        except AdapterError as exc:
            if not isinstance(exc, RateLimited):
                circuit.failure(self._circuits.now())
            return await self._failed(item, channel, started, exc)
        except Exception as exc:  # an adapter bug or an unusable setting: a failed attempt
            log.exception("send raised", extra={"delivery_id": item.id})
            circuit.failure(self._circuits.now())
            failure = AdapterError(f"{channel.type}: could not send ({type(exc).__name__})")
            return await self._failed(item, channel, started, failure)
        circuit.success()
        await self._succeeded(item, channel, started, delivered, message, group)

    async def _space_out(self, key: str, per_minute: float) -> None:
        """Start requests to one destination at least its interval apart.

        The bucket grants turns; this keeps the time between a grant and the request
        (a database read, a decryption) from bunching two requests together.
        """
        interval = 60.0 / max(per_minute, 1.0)
        now = time.monotonic()
        start = max(now, self._next_start.get(key, 0.0))
        self._next_start[key] = start + interval
        if start > now:
            await asyncio.sleep(start - now)

    async def _succeeded(
        self,
        item: OutboxItem,
        channel: ChannelInfo,
        started: datetime,
        delivered: Delivered,
        message: Outgoing,
        group: grouping.CardToSend | None = None,
    ) -> None:
        payload, target = summary(message), target_of(channel)

        async def record(session: AsyncSession) -> bool:
            await outbox.record_attempt(
                session, item, started=started, status_code=delivered.status_code, error=None
            )
            kept = await outbox.mark_sent(
                session,
                item,
                status_code=delivered.status_code,
                ref=delivered.ref,
                payload=payload,
                target=target,
            )
            if kept and group is not None:
                await grouping.recorded(session, item, group, utcnow())
            elif kept and message.digest is not None:
                await digests.requeue_if_grown(session, item.id, message.digest.count, utcnow())
            return kept

        kept = await self._writes.run(record)
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

    async def _failed(
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
            self._limits.bucket(channel.id, channel.rate_per_minute).pause(exc.retry_after)
            shared = self._shared_pace(channel.rate_per_minute)
            if shared:
                await shared.pause(channel.id, exc.retry_after)
            wait = exc.retry_after + self._rng.uniform(0, 0.1 * exc.retry_after + 0.05)
            failed = False
        elif exc.retryable:
            wait = self._backoff(item)

        async def record(session: AsyncSession) -> None:
            await outbox.record_attempt(
                session,
                item,
                started=started,
                status_code=exc.status_code,
                error=error,
                retry_after=retry_after,
            )
            if wait is not None:
                await outbox.mark_retry(
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
            await self._disconnect(channel.integration_id, error)
        await self._dead(item, error, exc.status_code, channel)

    def _backoff(self, item: OutboxItem) -> float | None:
        """The exponential, jittered pause before the next try, or None: the budget is spent.

        The budget is the retry count and, beyond it, the delivery's retry time
        (`retry_until`): a destination down for a few minutes is tried until it is back."""
        counted_out = item.failures + 1 >= item.max_attempts
        left = (item.retry_until - utcnow()).total_seconds() if item.retry_until else 0.0
        if counted_out and left <= 0:
            return None
        wait = backoff(item.failures + 1, item.retry_delay_seconds, cap=BACKOFF_CAP, rng=self._rng)
        return min(wait, max(1.0, left)) if counted_out else wait

    async def _retry_with_backoff(
        self, session: AsyncSession, item: OutboxItem, error: str, status_code: int | None
    ) -> bool:
        """Schedule another try after an exponential, jittered pause while the budget lasts."""
        wait = self._backoff(item)
        if wait is None:
            return False
        await outbox.mark_retry(
            session,
            item,
            when=utcnow() + timedelta(seconds=wait),
            error=error,
            status_code=status_code,
            failed=True,
        )
        return True

    async def _disconnect(self, integration_id: str, error: str) -> None:
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

    async def _retry_later(self, item: OutboxItem, seconds: float, note: str | None) -> None:
        when = utcnow() + timedelta(seconds=seconds)
        if len(self._due) < MAX_DUE_TIMES:  # past it, the poll finds the rest
            heapq.heappush(self._due, time.monotonic() + seconds)

        async def record(session: AsyncSession) -> None:
            await outbox.mark_retry(
                session, item, when=when, error=note, status_code=None, failed=False, counted=False
            )

        await self._writes.run(record)

    async def _dead(
        self, item: OutboxItem, error: str, status_code: int | None, channel: ChannelInfo | None
    ) -> None:
        async def record(session: AsyncSession) -> tuple[bool, int]:
            if not await outbox.mark_dead(session, item, error=error, status_code=status_code):
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


def _rate_key(item: OutboxItem, channel: ChannelInfo) -> tuple[str, float]:
    """The limit a send counts against: updates edit in place and are limited apart from posts."""
    if item.kind is DeliveryKind.UPDATE:
        return f"{channel.id}:update", float(channel.rate_per_minute * UPDATE_RATE_FACTOR)
    return channel.id, float(channel.rate_per_minute)
