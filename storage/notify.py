"""PostgreSQL LISTEN/NOTIFY: committed outbox rows wake workers in every process at once, and a
configuration change clears every process's routing cache."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.db import at_commit

CHANNEL = "chatops_outbox"
CONFIG_CHANNEL = "chatops_config"
log = logging.getLogger(__name__)


_NOTIFY_OUTBOX = text(f"SELECT pg_notify('{CHANNEL}', '')")


async def notify_outbox(session: AsyncSession) -> None:
    """Wake listeners when the transaction commits: said once as it commits, however many
    writes of a shared transaction (group commit) queued rows."""
    if session.get_bind().dialect.name == "postgresql":
        at_commit(session, _wake_listeners)


def _wake_listeners(session: Session, _writes: list[Any]) -> None:
    session.execute(_NOTIFY_OUTBOX)  # PostgreSQL delivers it when the commit is done


async def notify_config(session: AsyncSession) -> None:
    """Tell every process that configuration changed (delivered when the transaction commits)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_notify('{CONFIG_CHANNEL}', '')"))


async def listen(url: str, handlers: Mapping[str, Callable[[], None]], stop: asyncio.Event) -> None:
    """Call the handler of each channel on its notifications until `stop`; reconnect when the
    connection drops."""
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
            for channel, handler in handlers.items():
                await conn.add_listener(channel, _calling(handler))
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


def _calling(handler: Callable[[], None]) -> Callable[..., None]:
    def on_notification(*_args: Any) -> None:
        handler()

    return on_notification
