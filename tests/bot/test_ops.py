"""Health, readiness and Prometheus metrics, as an operator scrapes them."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from storage.db import MIGRATIONS
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route
from tests.pg import Cluster

Client = TestClient  # type: ignore[type-arg]
_names = itertools.count()


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_health_and_ready(client: Client) -> None:
    assert await (await client.get("/health")).json() == {"status": "ok"}
    ready = await (await client.get("/ready")).json()
    assert ready == {"status": "ready", "database": "reachable", "migrations": "current"}


async def test_metrics_count_sends_failures_latency_and_outbox(client: Client) -> None:
    sink = await Sink(secret="s3cret").start()
    down = await Sink(default_status=503).start()
    try:
        await webhook_route(client, sink.url, event_glob="ok.*")
        await webhook_route(client, down.url, name="down", event_glob="down.*")
        await client.post(
            "/api/v1/events", json={"title": "a", "event_type": "ok.a", "priority": "HIGH"}
        )
        await client.post(
            "/api/v1/events", json={"title": "b", "event_type": "down.b", "priority": "LOW"}
        )
        await eventually(lambda: sink.accepted() and down.received)

        async def scraped() -> str | None:
            text = await (await client.get("/metrics")).text()
            sent = metric(
                text,
                "chatops_notifications_sent_total",
                channel_type="webhook",
                priority="HIGH",
                event_type="ok.a",  # the seed's labels: the alert's type
            )
            return text if sent == 1 else None

        text = await eventually(scraped)
        assert (
            metric(
                text,
                "chatops_notifications_failed_total",
                channel_type="webhook",
                priority="LOW",
                reason="Unavailable",
                status_code="503",  # what the destination answered
            )
            >= 1
        )
        assert metric(text, "chatops_delivery_latency_seconds_count", channel_type="webhook") == 1
        assert metric(text, "chatops_outbox_depth", status="failed") == 1
        assert metric(text, "chatops_events_total", source="api", deduplicated="false") == 2
        assert re.search(r"^chatops_outbox_oldest_due_seconds \d", text, re.M)
        # every send timed, failed ones too; both alerts still wait for someone
        sends = metric(text, "chatops_send_duration_seconds_count", channel_type="webhook")
        assert sends is not None and sends >= 2
        assert metric(text, "chatops_alerts_unacknowledged", priority="HIGH") == 1
        assert metric(text, "chatops_alerts_unacknowledged", priority="LOW") == 1
        assert metric(text, "chatops_alerts_unacknowledged", priority="CRITICAL") == 0
        event_id = (await (await client.get("/api/v1/events?priority=HIGH")).json())["events"][0][
            "id"
        ]
        acted = await client.post(f"/api/v1/events/{event_id}/acknowledge", json={"actor": "dana"})
        assert acted.status == 200
        text = await (await client.get("/metrics")).text()
        assert metric(text, "chatops_alerts_unacknowledged", priority="HIGH") == 0
    finally:
        await sink.stop()
        await down.stop()


async def test_ready_names_pending_migrations_on_postgresql(
    pg_cluster: Cluster | None, tmp_path: Path
) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"empty{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name}")
    settings = Settings(database_url=pg_cluster.url(name), data_dir=str(tmp_path), _env_file=None)  # type: ignore[call-arg]
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        resp = await client.get("/ready")
        assert resp.status == 503
        body = await resp.json()
        every = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))
        assert body["migrations"] == f"pending: {', '.join(every)}; run `chatops db upgrade`"
        assert (await client.get("/health")).status == 200


async def test_metrics_can_be_put_behind_a_token(settings: Settings) -> None:
    from pydantic import SecretStr

    locked = settings.model_copy(update={"metrics_token": SecretStr("scrape-0123456789")})
    async with TestClient(TestServer(create_app(locked), host="127.0.0.1")) as client:
        assert (await client.get("/metrics")).status == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-0123456789"})
        assert right.status == 200 and "chatops_events_total" in await right.text()
