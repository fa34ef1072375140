"""Delivery to a webhook on loopback: signed, rate-limited, retried, dead-lettered, every attempt kept."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink(secret="s3cret").start()
    yield server
    await server.stop()


async def event_detail(client: Client, event_id: str) -> dict[str, Any]:
    return dict(await (await client.get(f"/api/v1/events/{event_id}")).json())


async def post_event(client: Client, **fields: Any) -> str:
    resp = await client.post("/api/v1/events", json={"title": "t", **fields})
    assert resp.status == 202, await resp.text()
    return str((await resp.json())["id"])


async def test_an_event_arrives_signed_and_the_delivery_is_recorded(
    client: Client, sink: Sink
) -> None:
    await webhook_route(client, sink.url)
    event_id = await post_event(
        client, title="db-1 down", priority="CRITICAL", stakeholders=["SRE"]
    )
    await eventually(lambda: sink.accepted())
    got = sink.accepted()[0]
    assert got.signature_ok is True
    assert got.body["kind"] == "post"
    assert got.body["alert"]["title"] == "db-1 down"
    assert got.body["alert"]["priority"] == "CRITICAL"
    assert got.headers["X-ChatOps-Delivery"] == got.body["delivery_id"]

    async def sent() -> Any:
        deliveries = (await event_detail(client, event_id))["deliveries"]
        return deliveries if deliveries and deliveries[0]["status"] == "sent" else None

    deliveries = await eventually(sent)
    assert deliveries[0]["status_code"] == 200
    assert deliveries[0]["attempts"] == 1
    assert deliveries[0]["message_ref"] == got.body["delivery_id"]
    assert [a["status_code"] for a in deliveries[0]["attempt_log"]] == [200]


async def test_a_route_only_takes_what_it_matches(client: Client, sink: Sink) -> None:
    await webhook_route(
        client, sink.url, event_glob="deploy.*", min_priority="HIGH", stakeholders=["sre"]
    )
    await post_event(
        client,
        title="wrong type",
        event_type="backup.failed",
        priority="CRITICAL",
        stakeholders=["SRE"],
    )
    await post_event(
        client, title="too low", event_type="deploy.failed", priority="MEDIUM", stakeholders=["SRE"]
    )
    await post_event(
        client,
        title="other team",
        event_type="deploy.failed",
        priority="HIGH",
        stakeholders=["DBA"],
    )
    await post_event(
        client,
        title="match",
        event_type="deploy.failed",
        priority="HIGH",
        stakeholders=["SRE", "DBA"],
    )
    await eventually(lambda: sink.accepted())
    assert [r.body["alert"]["title"] for r in sink.accepted()] == ["match"]


async def test_a_repeat_updates_the_card_instead_of_posting_again(
    client: Client, sink: Sink
) -> None:
    await webhook_route(client, sink.url)
    await post_event(client, title="disk 91%", dedup_key="disk")
    await eventually(lambda: sink.accepted())
    await post_event(client, title="disk 97%", dedup_key="disk")
    await eventually(lambda: len(sink.accepted()) == 2)
    update = sink.accepted()[1].body
    assert update["kind"] == "update"
    assert update["alert"]["occurrences"] == 2
    assert update["alert"]["title"] == "disk 97%"


async def test_429_then_500s_then_recovery_delivers_everything_within_the_rate(
    client: Client, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "6")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "1")
    sink.script = deque(
        [(429, {"Retry-After": "2"}, '{"error":"slow down"}')] + [(500, {}, '{"error":"boom"}')] * 3
    )
    await webhook_route(client, sink.url, rate_per_minute=120)
    ids = [await post_event(client, title=f"alert {i}") for i in range(4)]
    await eventually(lambda: len({r.body["alert"]["id"] for r in sink.accepted()}) == 4, within=40)

    statuses = [r.status for r in sink.received]
    assert statuses[0] == 429
    assert statuses[1:4] == [500, 500, 500]
    assert set(statuses[4:]) == {200}
    # Nothing was sent during the Retry-After pause.
    assert sink.received[1].at - sink.received[0].at >= 1.9
    # Successful sends never beat the channel's rate of 2 a second.
    ok_times = [r.at for r in sink.accepted()]
    assert all(b - a >= 0.45 for a, b in pairwise(ok_times))

    logs = []
    for event_id in ids:
        delivery = (await event_detail(client, event_id))["deliveries"][0]
        assert delivery["status"] == "sent"
        logs.append([a["status_code"] for a in delivery["attempt_log"]])
    assert sorted(code for log in logs for code in log) == sorted(statuses)
    retry_after = [
        a
        for event_id in ids
        for a in (await event_detail(client, event_id))["deliveries"][0]["attempt_log"]
        if a["status_code"] == 429
    ]
    assert retry_after[0]["retry_after"] == 2.0


async def test_a_spent_retry_budget_dead_letters_and_alerts_the_admins(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "2")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_FOR_SECONDS", "0")  # the count alone
    broken = await Sink(default_status=503).start()
    admins = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, broken.url, name="broken", event_glob="app.*")
        await webhook_route(client, admins.url, name="admins", event_glob="delivery.*")
        event_id = await post_event(client, title="payment errors", event_type="app.error")
        await eventually(lambda: admins.accepted(), within=15)
        notice = admins.accepted()[0].body["alert"]
        assert notice["event_type"] == "delivery.dead_letter"
        assert notice["priority"] == "HIGH"
        assert notice["title"] == "Delivery to broken-channel failed after 3 attempts"
        assert "HTTP 503" in notice["body"]
        delivery = (await event_detail(client, event_id))["deliveries"][0]
        assert delivery["status"] == "dead"
        assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 503]
        assert len(broken.received) == 3
    finally:
        await broken.stop()
        await admins.stop()


async def test_a_permanent_refusal_is_not_retried(client: Client) -> None:
    refusing = await Sink(default_status=400).start()
    try:
        await webhook_route(client, refusing.url)
        event_id = await post_event(client, title="x")

        async def dead() -> Any:
            delivery = (await event_detail(client, event_id))["deliveries"][0]
            return delivery if delivery["status"] == "dead" else None

        delivery = await eventually(dead)
        assert delivery["attempts"] == 1
        assert delivery["status_code"] == 400
        assert len(refusing.received) == 1
    finally:
        await refusing.stop()


async def test_a_storm_folds_into_a_digest_that_never_meets_a_rate_limit(client: Client) -> None:
    strict = await Sink(secret="s3cret", max_per_second=1.05).start()
    try:
        await webhook_route(client, strict.url, rate_per_minute=60)
        ids = set()
        for i in range(120):
            priority = "CRITICAL" if i == 77 else "LOW"
            ids.add(await post_event(client, title=f"storm {i}", priority=priority))

        def shown() -> set[str]:
            seen: set[str] = set()
            for r in strict.accepted():
                if r.body["kind"] == "digest":
                    seen |= set(r.body["digest"]["alert_ids"])
                else:
                    seen.add(r.body["alert"]["id"])
            return seen

        await eventually(lambda: shown() == ids, within=30, interval=0.2)
        assert [r.status for r in strict.received if r.status == 429] == []
        digests = [r.body["digest"] for r in strict.accepted() if r.body["kind"] == "digest"]
        assert digests, "a storm of 120 alerts at one a second should have been folded"
        assert len(strict.accepted()) < 30
        latest = digests[-1]
        ranks = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
        shown_ranks = [ranks.index(a["priority"]) for a in latest["most_severe"]]
        assert shown_ranks == sorted(shown_ranks)
        # The CRITICAL one is never buried: sent as its own card, or first in every digest
        # that holds it.
        alone = [r for r in strict.accepted() if r.body["kind"] != "digest"]
        critical_alone = any(r.body["alert"]["title"] == "storm 77" for r in alone)
        holding = [d for d in digests if "CRITICAL" in d["by_priority"]]
        assert critical_alone or holding
        assert all(d["most_severe"][0]["title"] == "storm 77" for d in holding)
        assert latest["count"] == sum(latest["by_priority"].values()) == len(latest["alert_ids"])
        # The digest is one message, updated in place: every copy has the same id.
        assert len({d["id"] for d in digests}) == 1
    finally:
        await strict.stop()


async def test_five_failures_in_a_row_open_the_circuit_and_nothing_more_is_tried(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "10")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "0")
    down = await Sink(default_status=502).start()
    try:
        await webhook_route(client, down.url)
        ids = [await post_event(client, title=f"e{i}") for i in range(8)]
        await eventually(lambda: len(down.received) >= 5)
        await asyncio.sleep(2.0)
        assert len(down.received) == 5
        statuses = {(await event_detail(client, i))["deliveries"][0]["status"] for i in ids}
        assert "dead" not in statuses and "sent" not in statuses
    finally:
        await down.stop()


async def test_acting_on_a_folded_alert_refreshes_its_digest_and_ends_the_update(
    client: Client,
) -> None:
    strict = await Sink(secret="s3cret", max_per_second=1.05).start()
    try:
        await webhook_route(client, strict.url, rate_per_minute=60)
        ids = [await post_event(client, title=f"storm {i}", priority="LOW") for i in range(40)]

        def digests() -> list[dict[str, Any]]:
            return [r.body["digest"] for r in strict.accepted() if r.body["kind"] == "digest"]

        await eventually(lambda: digests(), within=20, interval=0.2)
        posted = {r.body["alert"]["id"] for r in strict.accepted() if r.body["kind"] != "digest"}
        folded = next(i for i in ids if i in digests()[-1]["alert_ids"] and i not in posted)
        before = len(digests())
        resp = await client.post(f"/api/v1/events/{folded}/acknowledge", json={"actor": "Dana"})
        assert resp.status == 200

        async def update_done() -> Any:
            detail = await event_detail(client, folded)
            updates = [d for d in detail["deliveries"] if d["kind"] == "update"]
            return updates if updates and updates[0]["status"] == "folded" else None

        updates = await eventually(update_done, within=20, interval=0.2)
        assert updates[0]["attempts"] <= 1  # not retried every 5 s waiting for a card
        await eventually(lambda: len(digests()) > before, within=20, interval=0.2)
        assert len({d["id"] for d in digests()}) == 1  # the same digest message, updated
        page = await client.get(f"/digests/{digests()[-1]['id']}", headers={"Authorization": ""})
        assert page.status == 200  # its "View open alerts" page lists every folded alert
        assert f"storm {ids.index(folded)}<" in await page.text()
    finally:
        await strict.stop()


async def test_a_dead_digest_tells_the_admins_and_leaves_nothing_folded(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destination refuses everything: the storm's digest goes dead, the alerts it held
    are dead with it (none stays `folded` into a message nobody saw), the dead-letter count
    says so, and the admins get a dead-letter alert naming the digest."""
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "1")
    refusing = await Sink(default_status=400).start()
    try:
        await webhook_route(client, refusing.url, rate_per_minute=60)
        ids = [await post_event(client, title=f"storm {i}") for i in range(30)]

        async def settled() -> Any:
            details = [await event_detail(client, i) for i in ids]
            states = [d["deliveries"][0]["status"] for d in details if d["deliveries"]]
            return states if len(states) == 30 and set(states) == {"dead"} else None

        await eventually(settled, within=30, interval=0.3)
        metrics = await (await client.get("/metrics")).text()
        dead = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith('chatops_notifications_dead_total{channel_type="webhook"}')
        ]
        assert dead and dead[0] >= 30, dead

        async def notice() -> Any:
            listed = await (await client.get("/api/v1/events?type=delivery.dead_letter")).json()
            return [e for e in listed["events"] if e["title"].startswith("A digest of")]

        told = await eventually(notice, within=10)
        assert "failed after" in told[0]["title"]
    finally:
        await refusing.stop()


async def test_an_outage_shorter_than_the_retry_time_loses_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One retry by count (the webhook default), but a retry time of a minute: a destination
    that answers 503 three times in a row (an outage of several seconds) still gets the alert,
    and nothing is dead-lettered."""
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "1")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS", "1")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_FOR_SECONDS", "60")
    flaky = await Sink(secret="s3cret").start()
    flaky.script.extend([(503, {}, '{"error": "down"}')] * 3)
    try:
        await webhook_route(client, flaky.url)
        event_id = await post_event(client, title="during the outage")
        await eventually(lambda: flaky.accepted(), within=30, interval=0.2)
        delivery = (await event_detail(client, event_id))["deliveries"][0]
        assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 503, 200]
        defaults = await (await client.get("/api/v1/integration-defaults")).json()
        shown = defaults["default_integrations"]["WEBHOOK"]
        assert shown["retry_for_seconds"] == 60  # said where the defaults are read
    finally:
        await flaky.stop()
