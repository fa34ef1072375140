"""Whether a send may go now, and when it comes back if not: each destination's circuit, its
rate (this process's token buckets, or on PostgreSQL the slots every process shares), each
alert to a pager in its own turn, and requests to one destination spaced by its interval."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.registry import shows_digests
from bot.core.delivery.limits import Circuit, Circuits, RateLimits
from bot.core.delivery.pacing import SharedPace
from domain import ChannelInfo, DeliveryKind, OutboxItem
from storage.db import Database

UPDATE_RATE_FACTOR = 4  # edits may go this many times faster than new posts
INLINE_WAIT = 0.25  # a pager's alert back a little before its slot waits for it in place
# A destination allowed a thousand sends a second or more is not paced across processes:
# each process keeps its own bucket, and sends skip the shared slot's statement.
SHARED_BELOW_PER_MINUTE = 60_000.0


def rate_key(item: OutboxItem, channel: ChannelInfo) -> tuple[str, float]:
    """The limit a send counts against: updates edit in place and are limited apart from posts."""
    if item.kind is DeliveryKind.UPDATE:
        return f"{channel.id}:update", float(channel.rate_per_minute * UPDATE_RATE_FACTOR)
    return channel.id, float(channel.rate_per_minute)


def is_pager(item: OutboxItem, channel: ChannelInfo) -> bool:
    """A new alert to a destination that folds nothing (a pager, a webhook): every alert goes,
    each in its turn."""
    return item.kind is DeliveryKind.POST and not shows_digests(channel.type)


class Flow:
    """The rates, circuits and turns of every destination this process sends to."""

    def __init__(self, db: Database) -> None:
        self.limits = RateLimits()
        # Several processes may send on PostgreSQL: there a channel's slots are shared.
        self._shared = None if db.is_sqlite else SharedPace(db)
        self.circuits = Circuits()
        self._next_start: dict[str, float] = {}
        self._turns: dict[str, float] = {}  # the last turn given to a held-back pager alert

    def shared_pace(self, per_minute: float) -> SharedPace | None:
        """The slots shared with other processes for a destination at this rate, or None
        when this process's own buckets pace it (SQLite; SHARED_BELOW_PER_MINUTE or more)."""
        return self._shared if per_minute < SHARED_BELOW_PER_MINUTE else None

    def circuit(self, channel: ChannelInfo) -> Circuit:
        """The destination's circuit: one per integration (or per channel without one)."""
        return self.circuits.get(channel.integration_id or channel.id)

    def blocked_for(self, channel: ChannelInfo) -> float:
        """Seconds until the destination's open circuit lets a send try again (0: closed)."""
        return self.circuit(channel).blocked_for(self.circuits.now())

    async def wait_for_slot(self, item: OutboxItem, channel: ChannelInfo) -> float:
        """Take a slot of the destination's rate: 0 when the send may go now, else the seconds
        until it comes back (a pager's alert: its own turn after the ones held before it)."""
        key, rate = rate_key(item, channel)
        shared = self.shared_pace(rate)
        wait = await shared.take(key, rate) if shared else self.limits.bucket(key, rate).take()
        pager = is_pager(item, channel)
        if pager and shared is None and 0 < wait <= min(INLINE_WAIT, 2 * 60.0 / rate):
            # Back in its turn, a hair early: wait here rather than go round the outbox again
            # (the shared pace already sleeps short waits itself).
            await asyncio.sleep(wait)
            wait = self.limits.bucket(key, rate).take()
        if wait > 0 and pager:
            wait = self._turn(key, rate, wait)
        return wait

    def _turn(self, key: str, per_minute: float, wait: float) -> float:
        """When a held-back alert for a destination that folds nothing comes back: one rate
        interval after the one held before it, so a storm to a pager is claimed again in
        turns, not all at once at the next free slot."""
        interval = 60.0 / max(per_minute, 1.0)
        now = time.monotonic()
        turn = max(now + wait, max(now, self._turns.get(key, 0.0)) + interval)
        self._turns[key] = turn
        return turn - now

    async def free(self, session: AsyncSession, key: str, per_minute: float) -> int:
        """How many sends the destination's rate lets out now."""
        shared = self.shared_pace(per_minute)
        if shared:
            return await shared.free(session, key)
        return self.limits.bucket(key, per_minute).available()

    async def pause(self, channel: ChannelInfo, seconds: float) -> None:
        """The destination said 429: no sends to it, from any process, for `seconds`."""
        self.limits.bucket(channel.id, channel.rate_per_minute).pause(seconds)
        shared = self.shared_pace(channel.rate_per_minute)
        if shared:
            await shared.pause(channel.id, seconds)

    async def space_out(self, item: OutboxItem, channel: ChannelInfo) -> None:
        """Start requests to one destination at least its interval apart.

        The bucket grants turns; this keeps the time between a grant and the request
        (a database read, a decryption) from bunching two requests together.
        """
        key, per_minute = rate_key(item, channel)
        interval = 60.0 / max(per_minute, 1.0)
        now = time.monotonic()
        start = max(now, self._next_start.get(key, 0.0))
        self._next_start[key] = start + interval
        if start > now:
            await asyncio.sleep(start - now)
