"""Scheduler work: escalation timers on a clock the test controls, retention, leader election."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import scheduling
from bot.runtime.app import SERVICES
from bot.runtime.scheduling import SchedulerService
from storage.leader import LeaderLock
from storage.schema import utcnow
from tests.fakes.pagerduty import VALID_API_KEY, VALID_KEY, FakePagerDuty
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route
from tests.pg import Cluster

Client = TestClient  # type: ignore[type-arg]
_names = itertools.count()


async def test_nobody_acknowledged_in_time_escalates_to_the_next_level(client: Client) -> None:
    managers = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, managers.url, name="managers", escalation_level=1)
        services = client.app[SERVICES]
        ignored = await client.post("/api/v1/events", json={"title": "ignored", "priority": "HIGH"})
        acked = await client.post("/api/v1/events", json={"title": "acked", "priority": "HIGH"})
        ignored_id, acked_id = (await ignored.json())["id"], (await acked.json())["id"]
        await client.post(f"/api/v1/events/{acked_id}/acknowledge", json={"actor": "dana"})
        now = utcnow()
        early = SchedulerService(services, clock=lambda: now + timedelta(minutes=14))
        assert await early.escalate_overdue() == 0
        late = SchedulerService(services, clock=lambda: now + timedelta(minutes=16))
        assert await late.escalate_overdue() == 1
        assert await late.escalate_overdue() == 0  # level 2 waits for twice the delay, and no route
        detail = await (await client.get(f"/api/v1/events/{ignored_id}")).json()
        assert detail["escalation_level"] == 1
        assert detail["audit"][-1]["platform"] == "scheduler"
        await eventually(lambda: managers.accepted())
        assert managers.accepted()[0].body["alert"]["title"] == "ignored"
        acked_detail = await (await client.get(f"/api/v1/events/{acked_id}")).json()
        assert acked_detail["escalation_level"] == 0
    finally:
        await managers.stop()


async def test_retention_deletes_only_what_is_older_than_the_period(client: Client) -> None:
    services = client.app[SERVICES]
    old = await client.post("/api/v1/events", json={"title": "old"})
    old_id = (await old.json())["id"]
    await client.post(f"/api/v1/events/{old_id}/resolve", json={"actor": "x"})
    recent = await client.post("/api/v1/events", json={"title": "recent"})
    recent_id = (await recent.json())["id"]
    keep = SchedulerService(services, clock=lambda: utcnow() + timedelta(days=89))
    assert await keep.retain() == 0
    later = SchedulerService(services, clock=lambda: utcnow() + timedelta(days=91))
    assert await later.retain() == 2  # the resolved alert and its audit record
    assert (await client.get(f"/api/v1/events/{old_id}")).status == 404
    assert (await client.get(f"/api/v1/events/{recent_id}")).status == 200


async def test_one_scheduler_leads_and_a_standby_takes_over(pg_cluster: Cluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"leader{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    first, second = LeaderLock(pg_cluster.url(name)), LeaderLock(pg_cluster.url(name))
    try:
        assert await first.try_acquire() is True
        assert await second.try_acquire() is False
        await first.release()  # the leader dies: its connection, and so its lock, goes away
        assert await second.try_acquire() is True and second.held
    finally:
        await first.release()
        await second.release()


def test_sqlite_always_leads(tmp_path: Path) -> None:
    import asyncio

    lock = LeaderLock(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert asyncio.run(lock.try_acquire()) is True


async def test_sync_jobs_follow_the_integrations_in_the_database(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    pd = pagerduty
    scheduler = None
    work = SchedulerService(client.app[SERVICES])
    try:
        services = client.app[SERVICES]
        settings = {
            "routing_key": VALID_KEY,
            "events_url": pd.url,
            "api_key": VALID_API_KEY,
            "api_url": pd.api_url,
        }
        resp = await client.post(
            "/api/v1/integrations",
            json={
                "type": "pagerduty",
                "name": "pd",
                "settings": settings,
                "sync_enabled": True,
                "sync_interval": 5,
            },
        )
        assert resp.status == 201, await resp.text()
        integration_id = (await resp.json())["data"]["id"]
        hook = await client.post(
            "/api/v1/integrations",
            json={"type": "webhook", "name": "hook", "settings": {"url": "https://example.com"}},
        )
        refused = await client.patch(
            f"/api/v1/integrations/{(await hook.json())['data']['id']}",
            json={"sync_enabled": True},
        )
        assert refused.status == 400
        assert "do not sync" in (await refused.json())["error"]["message"]

        scheduler = await scheduling.start(services, work)
        job = scheduler.get_job(f"sync:{integration_id}")
        assert job is not None
        assert job.trigger.interval == timedelta(minutes=5)
        assert utcnow() <= job.next_run_time <= utcnow() + timedelta(minutes=5)
        # Due now: the scheduler runs it, and the run is in the sync history.
        scheduler.modify_job(job.id, next_run_time=utcnow())
        logs = f"/api/v1/integrations/{integration_id}/logs"

        async def synced() -> bool:
            body = await (await client.get(logs)).json()
            return [s["status"] for s in body["data"]["syncs"]] == ["success"]

        await eventually(synced)
        assert any(r.startswith("/incidents") for r in pd.rest_requests)
        # A changed interval reschedules it; a disabled integration loses its job.
        await client.patch(f"/api/v1/integrations/{integration_id}", json={"sync_interval": 1})
        await work.refresh()
        assert scheduler.get_job(f"sync:{integration_id}").trigger.interval == timedelta(minutes=1)
        await client.patch(f"/api/v1/integrations/{integration_id}", json={"is_active": False})
        await work.refresh()
        assert scheduler.get_job(f"sync:{integration_id}") is None
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await work.stop()


async def test_the_outbox_sweeper_counts_deliveries_left_overdue(client: Client) -> None:
    services = client.app[SERVICES]
    sink = await Sink(secret="s3cret", script=deque([(500, {}, "down for a moment")])).start()
    try:
        await webhook_route(client, sink.url)
        await client.post("/api/v1/events", json={"title": "x"})
        await eventually(lambda: sink.received)  # failed once; the retry waits about 30 s
        now = SchedulerService(services)
        assert await now.sweep_outbox() == 0
        later = SchedulerService(services, clock=lambda: utcnow() + timedelta(minutes=5))
        assert await later.sweep_outbox() == 1  # from then, the retry would be 4 minutes late
        assert services.metrics.outbox_overdue._value.get() == 1
    finally:
        await sink.stop()


async def test_due_syncs_wait_for_a_runner_and_are_queued_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app[SERVICES]
    monkeypatch.setattr(services.settings, "sync_concurrency", 2)
    release = asyncio.Event()
    running: list[str] = []
    peak = 0

    class Slow(SchedulerService):
        async def run_sync(self, integration_id: str) -> None:
            nonlocal peak
            running.append(integration_id)
            peak = max(peak, len(running))
            await release.wait()
            running.remove(integration_id)

    work = Slow(services)
    try:
        for integration_id in ("a", "b", "c", "d", "a", "c"):
            await work.sync_integration(integration_id)
        await eventually(lambda: len(running) == 2)
        assert work.queued == 2  # c and d wait; the repeats of a and c were not queued again
        assert services.metrics.sync_queue._value.get() == 2
        release.set()
        await eventually(lambda: work.queued == 0 and not running)
        assert peak == 2
    finally:
        await work.stop()


async def test_the_health_sweep_checks_every_active_integration(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    settings = {"routing_key": VALID_KEY, "events_url": pagerduty.url}
    ids = []
    for name, type_id, values in (
        ("pd", "pagerduty", settings),
        ("gone", "webhook", {"url": "http://127.0.0.1:9/nothing"}),
        ("off", "pagerduty", settings),
    ):
        resp = await client.post(
            "/api/v1/integrations", json={"type": type_id, "name": name, "settings": values}
        )
        ids.append((await resp.json())["data"]["id"])
    await client.patch(f"/api/v1/integrations/{ids[2]}", json={"is_active": False})
    assert await SchedulerService(client.app[SERVICES]).check_health() == 1
    statuses = [
        (await (await client.get(f"/api/v1/integrations/{i}")).json())["data"]["connection_status"]
        for i in ids
    ]
    assert statuses == ["connected", "error", None]
