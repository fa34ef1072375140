"""Delivery workers: claim due outbox rows, send them through adapters, record every attempt."""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError, RateLimited
from adapters.factory import AdapterFactory
from adapters.kinds import BuildOptions
from bot.core.config_cache import ConfigCache
from bot.core.delivery import grouping, storms
from bot.core.delivery.flow import Flow, is_pager
from bot.core.delivery.outcomes import (
    RATE_LIMIT_TRIES,
    DeadLetterHook,
    Outcomes,
    RefusedHook,
)
from bot.core.group_commit import GroupCommit
from bot.infra.logs import correlation_id
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring, SecretKeyError
from domain import (
    Alert,
    ChannelInfo,
    DeliveryKind,
    OutboxItem,
    Outgoing,
)
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import digests, outbox
from storage import outcomes as outcome_rows
from storage.db import Database
from storage.schema import utcnow

log = logging.getLogger(__name__)

CLAIMS_PAST_BUDGET = 3  # claims with no recorded outcome (each try died) before dead-letter
MAX_DUE_TIMES = 20_000  # held-back rows whose due time the loop keeps, to wake for each


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
        return BuildOptions(
            self.allow_private_targets,
            self.slack_api_url,
            *self.teams,
            send_timeout=self.send_timeout,
        )


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
        factory: AdapterFactory,
        *,
        on_dead: DeadLetterHook | None = None,
        on_refused: RefusedHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._db, self._cache, self._keyring, self._http = db, cache, keyring, http
        self._metrics, self._opts = metrics, options
        self._rng = rng or random.Random()
        self.factory = factory
        self._flow = Flow(db)
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(options.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._writes = GroupCommit(db)  # outcomes landing together share one transaction
        self._due: list[float] = []  # when the rows this process held back are due (a heap)
        self._outcomes = Outcomes(
            db,
            cache,
            self._writes,
            metrics,
            self._flow,
            self._rng,
            wake=self.wake,
            due_in=self._due_in,
            on_dead=on_dead,
            on_refused=on_refused,
        )

    def _due_in(self, seconds: float) -> None:
        """A row this process held back comes back in `seconds`: the loop wakes for it."""
        if len(self._due) < MAX_DUE_TIMES:  # past it, the poll finds the rest
            heapq.heappush(self._due, time.monotonic() + seconds)

    def wake(self) -> None:
        """New work was committed: look now instead of at the next poll."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set, then let sends in flight finish."""
        while not stop.is_set():
            # Cleared before the claim: work committed from here on wakes the wait below,
            # work committed before it is seen by the claim.
            self._wakeup.clear()
            try:
                more = await self.run_once()
            except Exception:
                log.exception("delivery loop failed; retrying")
                more = False
            if not more:
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

    async def run_once(self) -> bool:
        """Claim one batch (as many as there are free slots) and start sending it; whether
        to look again at once (a full batch: more may be due)."""
        free = max(1, min(self._opts.batch, self._opts.concurrency - len(self._inflight)))
        if len(self._inflight) >= self._opts.concurrency:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return True
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
            more = len(items) == free  # grouped or not: a short batch took all that was due
            items = [i for i in items if i.id not in grouped]
            channels = {i.id: ch[0] if (ch := claimed[i.id].channel) else None for i in items}
            sending = await storms.fold_storms(session, items, channels, self._flow)
        if len(sending) < len(items):
            self.wake()  # the digest they went into is due now
        items = sending
        for item in items:
            task = asyncio.create_task(self._guarded(item, claimed[item.id]))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return more

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

    async def _guarded(self, item: OutboxItem, claimed: Claimed | None = None) -> None:
        async with self._slots:
            try:
                await self._process(item, claimed or Claimed())
            except Exception as exc:
                log.exception("delivery crashed", extra={"delivery_id": item.id})
                await self._outcomes.crashed(item, exc)

    async def _process(self, item: OutboxItem, claimed: Claimed) -> None:
        if item.attempts > item.max_attempts + RATE_LIMIT_TRIES + CLAIMS_PAST_BUDGET:
            # Claimed again and again without an outcome: each try died before recording it.
            error = f"gave up after {item.attempts - 1} tries that never finished"
            return await self._outcomes.dead(item, error, None, None)
        loaded, alert, ref = claimed.channel, claimed.alert, claimed.ref
        digest, folded_into, group = None, None, None
        if item.kind is DeliveryKind.DIGEST:
            async with self._db.session() as session:
                digest = await digests.load(session, item.id, utcnow())
        if item.kind is DeliveryKind.GROUP:
            async with self._db.session() as session:
                group = await grouping.card(session, item, utcnow())
            if group is None:
                return await self._outcomes.dead(item, "its group is gone", None, None)
            digest = group.digest
        if item.kind is DeliveryKind.UPDATE and ref is None and item.event_id and item.channel_id:
            async with self._db.session() as session:
                folded_into = await digests.digest_showing(session, item.event_id, item.channel_id)
        correlation_id.set(alert.correlation_id if alert else None)
        if loaded is None or not loaded[0].is_active:
            return await self._outcomes.dead(
                item, "the channel was removed or disabled", None, None
            )
        channel, token = loaded
        if item.kind is DeliveryKind.UPDATE and ref is None and folded_into is not None:
            return await self._update_digest(item, folded_into, alert)
        if item.kind is DeliveryKind.UPDATE and ref is None:
            return await self._outcomes.retry_later(
                item, 5.0, "waiting for the card to be posted first"
            )
        if await self._held_back(item, channel):
            return
        try:
            values = self._keyring.with_secrets(channel.settings, token)
        except SecretKeyError as exc:
            return await self._outcomes.dead(item, str(exc), None, channel)
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
            await outcome_rows.mark_folded(session, item, digest_id)
            now = utcnow()
            if not await grouping.member_changed(session, digest_id, item.notes, alert, now):
                await digests.refresh(session, digest_id, now)
        self.wake()

    async def _held_back(self, item: OutboxItem, channel: ChannelInfo) -> bool:
        """Postpone (without spending an attempt) while the circuit is open or over the rate."""
        if await self._circuit_open(item, channel):
            return True
        wait = await self._flow.wait_for_slot(item, channel)
        if wait <= 0:
            return False
        if (
            item.kind is DeliveryKind.POST
            and not is_pager(item, channel)
            and await storms.fold_if_behind(self._db, item, channel)
        ):
            self.wake()
            return True
        await self._outcomes.retry_later(item, wait, None)
        return True

    async def _circuit_open(self, item: OutboxItem, channel: ChannelInfo) -> bool:
        """Whether the destination's circuit is open; if so the item waits (no attempt spent)."""
        blocked = self._flow.blocked_for(channel)
        if blocked > 0:
            await self._outcomes.retry_later(item, blocked, None)
        return blocked > 0

    async def _send(
        self,
        item: OutboxItem,
        channel: ChannelInfo,
        values: dict[str, object],
        message: Outgoing,
        group: grouping.CardToSend | None = None,
    ) -> None:
        started = utcnow()
        circuit = self._flow.circuit(channel)
        try:
            adapter = await self.factory.get(channel.tenant, channel.id, channel.type, values)
            await self._flow.space_out(item, channel)
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
            circuit.failure(self._flow.circuits.now())
            return await self._outcomes.failed(item, channel, started, AdapterError("timed out"))
        except AdapterError as exc:
            if not isinstance(exc, RateLimited):
                circuit.failure(self._flow.circuits.now())
            return await self._outcomes.failed(item, channel, started, exc)
        except Exception as exc:  # an adapter bug or an unusable setting: a failed attempt
            log.exception("send raised", extra={"delivery_id": item.id})
            circuit.failure(self._flow.circuits.now())
            failure = AdapterError(f"{channel.type}: could not send ({type(exc).__name__})")
            return await self._outcomes.failed(item, channel, started, failure)
        circuit.success()
        await self._outcomes.succeeded(item, channel, started, delivered, message, group)
