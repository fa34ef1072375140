"""Batches as group commit makes them: what arrives together is handled together, up to a
weight; several batches at once when allowed; one bad item fails only its caller; nothing
waits for ever when the writers stop. The unit beside `bot/core/group_commit.py` (ingest and
the delivery outcomes write through it)."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.group_commit import Batched


async def test_what_arrives_together_is_one_batch_up_to_its_weight() -> None:
    seen: list[list[list[int]]] = []

    async def handle(items: list[list[int]]) -> list[int]:
        seen.append(items)
        return [sum(i) for i in items]

    batched: Batched[list[int], int] = Batched(handle, most=10, weight=len)
    requests = [[1] * 4, [2] * 4, [3] * 4, [4] * 30]  # 30 alone is over the weight: one batch
    answers = await asyncio.gather(*(batched(r) for r in requests))
    assert answers == [4, 8, 12, 120]
    assert [len(b) for b in seen] == [2, 1, 1]  # 4+4, then 4 (4+30 is too heavy), then 30


async def test_one_bad_item_fails_only_its_caller() -> None:
    async def handle(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return [i * 2 for i in items]

    batched: Batched[int, int] = Batched(handle)
    answers = await asyncio.gather(*(batched(i) for i in (1, 13, 3)), return_exceptions=True)
    assert answers[0] == 2 and answers[2] == 6
    assert isinstance(answers[1], ValueError)


async def test_writers_handle_batches_side_by_side() -> None:
    running, most_at_once = 0, 0
    gate = asyncio.Event()

    async def handle(items: list[int]) -> list[int]:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await gate.wait()
        running -= 1
        return items

    batched: Batched[int, int] = Batched(handle, most=1, writers=3)
    calls = [asyncio.create_task(batched(i)) for i in range(6)]
    await asyncio.sleep(0.05)
    assert most_at_once == 3  # three writers, each with one item; the rest wait
    gate.set()
    assert await asyncio.gather(*calls) == list(range(6))


async def test_items_waiting_when_the_writer_stops_fail_instead_of_hanging() -> None:
    started = asyncio.Event()

    async def handle(items: list[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return items

    batched: Batched[int, int] = Batched(handle, most=1)
    first = asyncio.create_task(batched(1))
    await started.wait()
    second = asyncio.create_task(batched(2))
    await asyncio.sleep(0)
    for task in list(batched._running):  # shutdown cancels the writer
        task.cancel()
    with pytest.raises(RuntimeError, match="stopped before it was written"):
        await asyncio.wait_for(second, 5)
    with pytest.raises(RuntimeError, match="stopped while it was being written"):
        await asyncio.wait_for(first, 5)
