"""Deliveries always end: bad URLs refused when stored, redirects fail, crashes count as tries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.webhook import WebhookAdapter
from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from storage import outbox
from storage.schema import utcnow
from tests.conftest import API_TOKEN
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]

BAD_URLS = [
    "http://example.com:99999/",
    "http://[::1/",
    "http://1.1.1.1\t/",
    "http://example.com\uff03x/",
    "ftp://example.com/",
    "http://:80/",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_an_unusable_url_is_refused_when_stored(client: Client, url: str) -> None:
    resp = await client.post(
        "/api/v1/integrations", json={"type": "webhook", "name": "w", "settings": {"url": url}}
    )
    assert resp.status == 400, await resp.text()
    assert "url:" in (await resp.json())["error"]["message"]
    listed = await (await client.get("/api/v1/integrations")).json()
    assert listed["data"] == []


@pytest.mark.parametrize("url", BAD_URLS[:4])
async def test_an_unusable_channel_target_is_refused(client: Client, url: str) -> None:
    resp = await client.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "w", "settings": {"url": "https://example.com/h"}},
    )
    integration = (await resp.json())["data"]["id"]
    resp = await client.post(
        "/api/v1/channels", json={"name": "c", "integration": integration, "target": url}
    )
    assert resp.status == 400 and "target:" in (await resp.json())["error"]["message"]


async def delivery_of(client: Client, event_id: str) -> dict[str, Any]:
    detail = await (await client.get(f"/api/v1/events/{event_id}")).json()
    return dict(detail["deliveries"][0])


async def test_a_redirect_is_a_failure_not_a_delivery(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "1")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_FOR_SECONDS", "0")  # count only
    moving = await Sink(default_status=302).start()
    try:
        await webhook_route(client, moving.url)
        resp = await client.post("/api/v1/events", json={"title": "x"})
        event_id = (await resp.json())["id"]

        async def dead() -> Any:
            delivery = await delivery_of(client, event_id)
            return delivery if delivery["status"] == "dead" else None

        delivery = await eventually(dead, within=15)
        assert delivery["status_code"] == 302
        assert "redirects are not followed" in delivery["error_message"]
        assert len(moving.received) == 2
    finally:
        await moving.stop()


@pytest.fixture
async def short_leases(settings: Settings) -> AsyncIterator[Client]:
    quick = settings.model_copy(update={"lease_seconds": 0.5, "poll_seconds": 0.1})
    async with TestClient(TestServer(create_app(quick), host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


async def test_a_send_that_raises_ends_as_attempts_then_a_dead_letter(
    short_leases: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row stays leased across three lease periods, whatever the adapter raises."""
    client = short_leases
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "2")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_FOR_SECONDS", "0")  # count only

    async def broken_send(self: WebhookAdapter, message: Any) -> Any:
        raise ValueError("an adapter bug")

    monkeypatch.setattr(WebhookAdapter, "send", broken_send)
    sink = await Sink().start()
    try:
        await webhook_route(client, sink.url, event_glob="app.*")
        resp = await client.post("/api/v1/events", json={"title": "x", "event_type": "app.x"})
        event_id = (await resp.json())["id"]
        services = client.app[SERVICES]
        for _ in range(3):  # three lease periods: never a row the workers forgot
            await asyncio.sleep(0.5)
            async with services.db.session() as session:
                assert await outbox.stuck(session, utcnow(), 0.5) == 0

        async def dead() -> Any:
            delivery = await delivery_of(client, event_id)
            return delivery if delivery["status"] == "dead" else None

        delivery = await eventually(dead, within=15)
        errors = [a["error"] for a in delivery["attempt_log"]]
        # three tries of its budget; on a loaded machine a 0.5 s lease may pass mid-try, and
        # that try, whose outcome was fenced out, is logged too
        assert 3 <= len(errors) <= 4 and set(errors) == {"webhook: could not send (ValueError)"}
        metrics = await (await client.get("/metrics")).text()
        assert "chatops_deliveries_stuck 0.0" in metrics
    finally:
        await sink.stop()


async def test_a_restart_on_sqlite_takes_back_the_dead_process_leases(
    settings: Settings,
) -> None:
    """A delivery leased by a killed process goes out at start, not when its lease runs out.

    On PostgreSQL other live workers may hold leases, so the row waits out its lease there.
    """
    sink = await Sink().start()
    long_lease = settings.model_copy(update={"lease_seconds": 600})
    try:
        async with TestClient(TestServer(create_app(long_lease), host="127.0.0.1")) as first:
            first.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
            await webhook_route(first, sink.url)
            await first.post("/api/v1/events", json={"title": "x"})
            await eventually(lambda: sink.accepted())
            services = first.app[SERVICES]
            async with services.db.session() as session, session.begin():
                from sqlalchemy import update

                from storage.schema import Delivery

                later = utcnow() + timedelta(seconds=600)
                await session.execute(  # as if the process died holding the lease
                    update(Delivery).values(
                        status="sending", lease_until=later, next_attempt_at=later
                    )
                )
        async with TestClient(TestServer(create_app(long_lease), host="127.0.0.1")):
            if settings.is_sqlite:
                await eventually(lambda: len(sink.accepted()) == 2, within=5)
            else:
                await asyncio.sleep(2)
                assert len(sink.accepted()) == 1
    finally:
        await sink.stop()
