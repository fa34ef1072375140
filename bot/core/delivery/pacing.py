"""One rate per destination across every worker process (PostgreSQL).

On SQLite one process delivers and its in-memory token buckets (`limits.RateLimits`) are
the whole truth. On PostgreSQL the bot and any `--role worker` processes send to the same
channels, so each destination's next free send slot lives in the database (`send_paces`):
a send reserves the slot with one statement, a 429 moves it past Retry-After for all.
Why a shared slot rather than channel ownership by lease: no hand-over gap when a process
dies, no idle channel owned by a busy process, and a 429 seen by one process pauses all.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from storage import paces
from storage.db import Database

HORIZON = 1.0  # reserve a slot at most this far ahead; beyond it the row waits in the outbox
MIN_WAIT = 0.05


class SharedPace:
    """Send slots kept in the database, so every process keeps one channel's rate together."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def free(self, session: AsyncSession, key: str) -> int:
        """Sends the destination takes now (0 or 1: a channel's rate has no burst)."""
        return 0 if await paces.wait(session, key) > 0 else 1

    async def take(self, key: str, per_minute: float) -> float:
        """Reserve a send slot: 0 once it has come (after sleeping until it), or the seconds
        to wait when the next slot is further than the horizon away or the destination is
        paused (nothing reserved), or when a 429 paused it while this one slept."""
        interval = 60.0 / max(per_minute, 1.0)
        async with self._db.session() as session, session.begin():
            slot = await paces.take(session, key, interval, min(interval, HORIZON))
            if slot is None:
                return max(MIN_WAIT, await paces.wait(session, key))
        if slot.delay <= 0:
            return 0.0
        await asyncio.sleep(slot.delay)
        async with self._db.session() as session:
            paused = await paces.paused_after(session, key, slot)
        return 0.0 if paused is None else max(MIN_WAIT, paused)

    async def pause(self, key: str, seconds: float) -> None:
        """The destination answered 429: no process sends to it for `seconds`."""
        async with self._db.session() as session, session.begin():
            await paces.pause(session, key, seconds)
