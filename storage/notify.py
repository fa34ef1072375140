"""PostgreSQL LISTEN/NOTIFY: committed outbox rows wake workers in every process at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "chatops_outbox"
log = logging.getLogger("chatops.notify")


async def notify_outbox(session: AsyncSession) -> None:
    """Queue a wake-up for listeners; PostgreSQL delivers it when the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_notify('{CHANNEL}', '')"))


async def listen(url: str, wake: Callable[[], None], stop: asyncio.Event) -> None:
    """Call `wake` on every notification until `stop`; reconnect when the connection drops."""
    import asyncpg

    parsed = make_url(url)
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(
                host=parsed.host,
                port=parsed.port,
                user=parsed.username,
                password=parsed.password,
                database=parsed.database,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning(
                "cannot LISTEN for outbox wake-ups; polling meanwhile", extra={"error": str(exc)}
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            continue
        try:
            await conn.add_listener(CHANNEL, lambda *_args: wake())
            while not stop.is_set() and not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=30)
                if not stop.is_set():
                    await conn.execute("SELECT 1")  # notice a dead connection
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox listener lost its connection", extra={"error": str(exc)})
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
