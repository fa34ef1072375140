"""PostgreSQL closing the bot's pooled connections (a restart, a failover, a proxy's idle
timeout): the next piece of work after a pause gets a live connection, not an error."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import text

from storage.db import Database
from tests.pg import Cluster

_names = itertools.count()


async def test_connections_closed_by_the_server_are_replaced_after_a_pause(
    pg_cluster: Cluster | None,
) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"reconnect{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    db = Database(pg_cluster.url(name), ping_after=0.2)
    try:
        async with db.session() as session:
            before = await session.scalar(text("SELECT pg_backend_pid()"))
        pg_cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        await asyncio.sleep(0.3)  # idle past `ping_after`: pinged before use, found closed
        async with db.session() as session, session.begin():
            after = await session.scalar(text("SELECT pg_backend_pid()"))
        assert after != before  # a new connection, and no error on the way
    finally:
        await db.dispose()
