"""On PostgreSQL a configuration change made in one process reaches the routing of every other
at once (LISTEN/NOTIFY), not when their routing cache expires."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.config_cache import ConfigCache
from bot.infra.settings import Settings
from bot.runtime.app import build_services, create_app
from tests.conftest import API_TOKEN
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite: one process
async def test_a_route_added_in_one_process_routes_in_the_other_at_once(
    client: Client, settings: Settings
) -> None:
    # only a notification can refresh the other process's configuration
    other = create_app(settings, services=build_services(settings, cache=ConfigCache(ttl=3600)))
    sink = await Sink(secret="s3cret").start()
    try:
        async with TestClient(TestServer(other, host="127.0.0.1")) as b:
            b.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
            first = await b.post("/api/v1/events", json={"title": "before"})
            first_id = (await first.json())["id"]
            detail = await (await b.get(f"/api/v1/events/{first_id}")).json()
            assert detail["deliveries"] == []  # no route yet, and B has read (and kept) that
            await webhook_route(client, sink.url, name="late")  # through process A

            async def routed_by_b() -> bool:
                resp = await b.post("/api/v1/events", json={"title": "after"})
                detail = await (await b.get(f"/api/v1/events/{(await resp.json())['id']}")).json()
                return bool(detail["deliveries"])

            assert await eventually(routed_by_b, within=5)
            await eventually(lambda: sink.accepted())
    finally:
        await sink.stop()
