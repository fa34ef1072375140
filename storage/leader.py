"""Leader election for schedulers: a PostgreSQL advisory lock held on its own connection."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.engine.url import make_url

LOCK_ID = 0x43484154  # "CHAT": one scheduler leads per database


class LeaderLock:
    """Held while this process leads; released when it stops or its connection dies."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Any = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock on a live connection."""
        return self._conn is not None and not self._conn.is_closed()

    async def try_acquire(self) -> bool:
        """Take the lock if no other scheduler has it; SQLite has one process and always leads."""
        if self._url.startswith("sqlite"):
            return True
        if self.held:
            return True
        import asyncpg

        parsed = make_url(self._url)
        conn = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_ID):
            self._conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        """Give the lock up (closing the connection releases it)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
