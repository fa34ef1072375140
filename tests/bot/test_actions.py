"""Acting on alerts over REST: first click wins, every copy updated, everything audited."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


async def new_alert(client: Client, **fields: Any) -> str:
    resp = await client.post(
        "/api/v1/events", json={"title": "db down", "priority": "HIGH", **fields}
    )
    return str((await resp.json())["id"])


async def act(client: Client, alert_id: str, verb: str, actor: str = "dana") -> Any:
    return await client.post(f"/api/v1/events/{alert_id}/{verb}", json={"actor": actor})


async def test_acknowledge_updates_every_copy_and_is_audited(client: Client) -> None:
    one, two = await Sink(secret="s3cret").start(), await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, one.url, name="one")
        await webhook_route(client, two.url, name="two")
        alert_id = await new_alert(client)
        await eventually(lambda: one.accepted() and two.accepted())
        resp = await act(client, alert_id, "acknowledge", "Dana Ops")
        assert resp.status == 200
        body = await resp.json()
        assert body["state"] == "acknowledged" and body["acknowledged_by"] == "Dana Ops"
        for sink in (one, two):
            await eventually(lambda s=sink: len(s.accepted()) == 2)  # type: ignore[misc]
            update = sink.accepted()[1].body
            assert update["kind"] == "update"
            assert update["alert"]["state"] == "acknowledged"
            assert update["alert"]["acknowledged_by"] == "Dana Ops"
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert [
            (a["verb"], a["actor"], a["outcome"], a["from_state"], a["to_state"])
            for a in detail["audit"]
        ] == [("acknowledge", "api:Dana Ops", "applied", "triggered", "acknowledged")]
        posts = [d for d in detail["deliveries"] if d["kind"] == "post"]
        assert [d["status"] for d in posts] == ["sent", "sent"]  # one card in each channel
    finally:
        await one.stop()
        await two.stop()


async def test_two_acknowledgements_at_once_have_one_winner(client: Client) -> None:
    alert_id = await new_alert(client)
    responses = await asyncio.gather(
        *(act(client, alert_id, "acknowledge", f"user{i}") for i in range(8))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [409] * 7
    bodies = [(r.status, await r.json()) for r in responses]
    winner = next(body for status, body in bodies if status == 200)["acknowledged_by"]
    losers = [body for status, body in bodies if status == 409]
    assert all(b["error"]["message"] == f"Already acknowledged by {winner}." for b in losers)
    detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
    outcomes = sorted(a["outcome"] for a in detail["audit"])
    assert outcomes == ["already_acknowledged"] * 7 + ["applied"]


async def test_escalation_reaches_the_next_level_routes(client: Client) -> None:
    first, second = await Sink(secret="s3cret").start(), await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, first.url, name="oncall")
        await webhook_route(client, second.url, name="managers", escalation_level=1)
        alert_id = await new_alert(client)
        await eventually(lambda: first.accepted())
        assert second.accepted() == []
        await act(client, alert_id, "acknowledge")
        resp = await act(client, alert_id, "escalate", "lee")
        assert resp.status == 200
        body = await resp.json()
        assert body["escalation_level"] == 1 and body["state"] == "triggered"
        await eventually(lambda: second.accepted())
        assert second.accepted()[0].body["kind"] == "post"
        assert second.accepted()[0].body["alert"]["escalation_level"] == 1
    finally:
        await first.stop()
        await second.stop()


async def test_resolve_closes_and_a_new_event_opens_a_new_alert(client: Client) -> None:
    alert_id = await new_alert(client, dedup_key="db")
    assert (await act(client, alert_id, "resolve")).status == 200
    again = await act(client, alert_id, "acknowledge")
    assert again.status == 409
    assert (await again.json())["error"]["message"] == "Already resolved by dana."
    assert await new_alert(client, dedup_key="db") != alert_id


async def test_retry_requeues_a_dead_delivery(client: Client) -> None:
    flaky = await Sink(default_status=400).start()
    admins = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, flaky.url, name="flaky", event_glob="app.*")
        await webhook_route(client, admins.url, name="admins", event_glob="delivery.*")
        await new_alert(client, event_type="app.crash")
        await eventually(lambda: admins.accepted(), within=15)
        dead_letter_id = admins.accepted()[0].body["alert"]["id"]
        flaky.default_status = 200
        resp = await act(client, dead_letter_id, "retry", "ops")
        assert (
            resp.status == 200 and (await resp.json())["message"] == "Retry queued for 1 delivery."
        )
        await eventually(lambda: flaky.accepted())
        assert flaky.accepted()[0].body["alert"]["title"] == "db down"
        again = await act(client, dead_letter_id, "retry", "ops")
        assert again.status == 409
    finally:
        await flaky.stop()
        await admins.stop()


async def test_bad_actions_are_refused(client: Client) -> None:
    alert_id = await new_alert(client)
    assert (await act(client, alert_id, "teleport")).status == 404
    snooze = await act(client, alert_id, "snooze")  # no minutes
    assert snooze.status == 400 and (await snooze.json())["error"]["code"] == "bad_minutes"
    assert (await act(client, "nope", "acknowledge")).status == 404
    resp = await client.post(f"/api/v1/events/{alert_id}/acknowledge", json={})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "missing_actor"
    detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["state"] == "triggered" and detail["audit"] == []
