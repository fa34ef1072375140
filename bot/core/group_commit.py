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

    A batch holds items up to `most` of `weight` (one item at least: a request of 300 events
    is one item weighing 300); `writers` batches may be handled at once (PostgreSQL commits
    several transactions side by side, SQLite one). An item still waiting when the last
    writer is cancelled (at shutdown) fails rather than waiting for ever.
    """

    def __init__(
        self,
        handle: Callable[[list[Item]], Awaitable[list[Result]]],
        *,
        most: int = 200,
        writers: int = 1,
        weight: Callable[[Item], int] = lambda _item: 1,
    ) -> None:
        self._handle = handle
        self._most = most
        self._writers = writers
        self._weight = weight
        self._waiting: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if len(self._running) < self._writers:
            task = asyncio.create_task(self._drain())
            self._running.add(task)
        # Shielded: a caller that goes away (a client hanging up) does not cancel the work
        # being done for it and its neighbours.
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # items offered in this turn of the loop join the batch
                if self._waiting:
                    await self._run(self._next_batch())
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)
            if not self._running:
                while self._waiting:
                    _item, done = self._waiting.popleft()
                    if not done.done():
                        done.set_exception(RuntimeError("stopped before it was written"))

    def _next_batch(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        """The oldest waiting items up to `most` of weight (one item at least)."""
        batch = [self._waiting.popleft()]
        size = self._weight(batch[0][0])
        while self._waiting and size + self._weight(self._waiting[0][0]) <= self._most:
            batch.append(self._waiting.popleft())
            size += self._weight(batch[-1][0])
        return batch

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._handle([item for item, _ in batch])
        except asyncio.CancelledError:  # shutdown: its callers hear it, not silence
            for _, done in batch:
                if not done.done():
                    done.set_exception(RuntimeError("stopped while it was being written"))
            raise
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
