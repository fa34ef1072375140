"""Send paces on PostgreSQL: one next-free-slot per destination, shared by every process.

The slot is kept in the database's clock (`statement_timestamp()`), so processes on
machines whose clocks disagree still space their sends correctly. Each call is one
statement; the row is created on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_NOW = "extract(epoch from statement_timestamp())"

_TAKE = text(
    f"""
    INSERT INTO send_paces AS p (key, next_at) VALUES (:key, {_NOW} + :interval)
    ON CONFLICT (key) DO UPDATE
       SET next_at = greatest(p.next_at, {_NOW}) + :interval
     WHERE p.next_at <= {_NOW} + :horizon AND p.paused_until <= {_NOW}
    RETURNING p.next_at - :interval, p.next_at - :interval - {_NOW}
    """
)
_WAIT = text(f"SELECT greatest(next_at, paused_until) - {_NOW} FROM send_paces WHERE key = :key")
_PAUSED = text(
    f"SELECT paused_until - {_NOW} FROM send_paces WHERE key = :key AND paused_until > :slot"
)
_PAUSE = text(
    f"""
    INSERT INTO send_paces AS p (key, next_at, paused_until)
    VALUES (:key, {_NOW} + :seconds, {_NOW} + :seconds)
    ON CONFLICT (key) DO UPDATE
       SET next_at = greatest(p.next_at, {_NOW} + :seconds),
           paused_until = greatest(p.paused_until, {_NOW} + :seconds)
    """
)


@dataclass(frozen=True)
class Slot:
    """A reserved send slot: when it is (database clock) and the seconds until it."""

    at: float
    delay: float


async def take(session: AsyncSession, key: str, interval: float, horizon: float) -> Slot | None:
    """Reserve the destination's next slot if it starts within `horizon` seconds and the
    destination is not paused; None otherwise, and then nothing is reserved."""
    params = {"key": key, "interval": interval, "horizon": horizon}
    row = (await session.execute(_TAKE, params)).first()
    return None if row is None else Slot(float(row[0]), max(0.0, float(row[1])))


async def wait(session: AsyncSession, key: str) -> float:
    """Seconds until the destination's next slot is free (0 when it is free now)."""
    seconds = (await session.execute(_WAIT, {"key": key})).scalar()
    return max(0.0, float(seconds or 0.0))


async def paused_after(session: AsyncSession, key: str, slot: Slot) -> float | None:
    """If a pause (a 429 seen by any process) landed over a reserved slot, the seconds it
    still lasts; None when the slot still stands."""
    seconds = (await session.execute(_PAUSED, {"key": key, "slot": slot.at})).scalar()
    return None if seconds is None else max(0.0, float(seconds))


async def pause(session: AsyncSession, key: str, seconds: float) -> None:
    """The destination said to wait (429 Retry-After): no slot for anyone before then."""
    await session.execute(_PAUSE, {"key": key, "seconds": seconds})
