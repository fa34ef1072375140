"""Send paces on PostgreSQL: slots a channel's interval apart, whoever asks; a 429 pauses all."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from bot.core.delivery.pacing import SharedPace
from storage import paces
from storage.db import Database
from tests.pg import Cluster

_names = itertools.count()


@pytest.fixture
async def pg(pg_cluster: Cluster | None) -> AsyncIterator[Database]:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"paces{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    db = Database(pg_cluster.url(name))
    yield db
    await db.dispose()


async def test_two_processes_asking_at_once_get_slots_an_interval_apart(pg: Database) -> None:
    # Two engines: two processes' pools.
    other = Database(pg.url)
    try:
        async with pg.session() as a, a.begin():
            first = await paces.take(a, "C1", interval=2.0, horizon=2.0)
        async with other.session() as b, b.begin():
            second = await paces.take(b, "C1", interval=2.0, horizon=2.0)
            third = await paces.take(b, "C1", interval=2.0, horizon=2.0)
            waiting = await paces.wait(b, "C1")
        assert first is not None and first.delay == 0.0
        assert second is not None and 1.9 < second.delay <= 2.0  # the next slot, reserved
        assert abs(second.at - first.at - 2.0) < 1e-6
        assert third is None  # beyond the horizon: nothing reserved
        assert 3.8 < waiting <= 4.0
        async with other.session() as b, b.begin():
            fourth = await paces.take(b, "C2", interval=2.0, horizon=2.0)
            assert fourth is not None and fourth.delay == 0.0  # another channel
    finally:
        await other.dispose()


async def test_a_429_seen_by_one_process_pauses_the_channel_for_every_process(
    pg: Database,
) -> None:
    other = Database(pg.url)
    one, two = SharedPace(pg), SharedPace(other)
    async with pg.session() as session, session.begin():
        reserved = await paces.take(session, "C1", interval=0.01, horizon=0.01)
    assert reserved is not None
    assert await one.take("C1", per_minute=6000) == 0.0
    await one.pause("C1", 30.0)
    wait = await two.take("C1", per_minute=6000)
    await other.dispose()
    assert 29.0 < wait <= 30.0
    async with pg.session() as session:
        # A slot reserved before the pause does not stand once the pause covers it.
        still = await paces.paused_after(session, "C1", reserved)
        assert still is not None and 29.0 < still <= 30.0
    async with pg.session() as session:
        assert await one.free(session, "C1") == 0
        assert await one.free(session, "C9") == 1
