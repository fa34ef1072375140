"""Group commit: writes that arrive while another is being committed wait for it, then
share one transaction.

With one SQLite connection (or a few PostgreSQL ones) the cost of a write is mostly per
transaction and per round trip, not per row: delivery outcomes that land together are written
together. Alone, a write is committed at once; under load, many share a commit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, retry_transient

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
Item = TypeVar("Item")
Result = TypeVar("Result")


class Batched(Generic[Item, Result]):
    """Calls `handle(items)` once for the items that arrive together; each caller gets its
    own result. For work whose statements are cheaper per batch than per item (one shared
    commit, one multi-row INSERT, one `IN` query). If a batch fails, each of its items is
    handled alone, so one bad item fails only its caller.
    """

    def __init__(
        self, handle: Callable[[list[Item]], Awaitable[list[Result]]], *, most: int = 200
    ) -> None:
        self._handle = handle
        self._most = most
        self._waiting: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # items offered in this turn of the loop join the batch
            batch = [self._waiting.popleft() for _ in range(min(self._most, len(self._waiting)))]
            await self._run(batch)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._handle([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._run([one])
            elif not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)


class GroupCommit:
    """Runs each write (a function of a session) in a transaction shared with its neighbours.

    A write must do database work only: if the shared transaction fails, every write of it
    runs again in a transaction of its own, so one failing write fails only its caller.
    """

    def __init__(self, db: Database, *, most: int = 200) -> None:
        self._db = db
        self._batch: Batched[Work, Any] = Batched(self._commit, most=most)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Commit `work` (with whatever else is waiting) and return what it returned."""
        result: T = await self._batch(work)
        return result

    async def _commit(self, works: list[Work]) -> list[Any]:
        async def commit() -> list[Any]:
            async with self._db.session() as session, session.begin():
                return [await work(session) for work in works]

        return await retry_transient(commit)
