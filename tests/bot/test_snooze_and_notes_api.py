"""Snooze and notes over REST: every copy says so, repeats stay quiet, the snooze ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from bot.runtime.scheduling import SchedulerService
from storage.schema import utcnow
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


async def new_alert(client: Client, **fields: Any) -> str:
    body = {"title": "db down", "priority": "HIGH", "dedup_key": "db-down", **fields}
    resp = await client.post("/api/v1/events", json=body)
    assert resp.status == 202, await resp.text()
    return str((await resp.json())["id"])


async def post(client: Client, alert_id: str, verb: str, **body: Any) -> Any:
    return await client.post(f"/api/v1/events/{alert_id}/{verb}", json={"actor": "dana", **body})


def cards(sink: Sink) -> list[dict[str, Any]]:
    return [r.body for r in sink.accepted()]


async def test_a_snoozed_alert_is_quiet_until_the_snooze_ends(client: Client) -> None:
    sink = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, sink.url, name="ops")
        alert_id = await new_alert(client)
        await eventually(lambda: len(cards(sink)) == 1)
        resp = await post(client, alert_id, "snooze", minutes=60)
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        assert doc["snoozed_by"] == "dana" and doc["snoozed_until"]
        assert doc["message"].startswith("Snoozed until ")
        await eventually(lambda: len(cards(sink)) == 2)
        update = cards(sink)[1]
        assert update["kind"] == "update" and update["alert"]["snoozed_by"] == "dana"
        assert update["notes"][0].startswith("💤 Snoozed by dana until ")

        for _ in range(3):  # it fires again while snoozed: counted, nothing sent
            await new_alert(client)
        await asyncio.sleep(0.3)
        assert len(cards(sink)) == 2
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert detail["occurrences"] == 4 and detail["state"] == "triggered"

        services = client.app[SERVICES]
        assert await services.actions.wake_snoozed(utcnow() + timedelta(minutes=59)) == 0
        assert await services.actions.wake_snoozed(utcnow() + timedelta(minutes=61)) == 1
        await eventually(lambda: len(cards(sink)) == 3)
        back = cards(sink)[2]
        assert back["alert"]["snoozed_until"] is None and back["alert"]["occurrences"] == 4
        assert back["notes"] == ["⏰ The snooze is over: the alert is still open"]
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert [a["verb"] for a in detail["audit"]] == ["snooze", "unsnooze"]
        assert detail["audit"][1]["platform"] == "scheduler"
    finally:
        await sink.stop()


async def test_an_alert_resolved_during_its_snooze_does_not_come_back(client: Client) -> None:
    sink = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, sink.url, name="ops")
        alert_id = await new_alert(client)
        assert (await post(client, alert_id, "snooze", minutes=30)).status == 200
        assert (await post(client, alert_id, "resolve")).status == 200
        # the two changes may reach the card in one update
        await eventually(lambda: cards(sink)[-1]["alert"]["state"] == "resolved")
        assert cards(sink)[-1]["alert"]["snoozed_until"] is None
        sent = len(cards(sink))
        services = client.app[SERVICES]
        assert await services.actions.wake_snoozed(utcnow() + timedelta(hours=1)) == 0
        await asyncio.sleep(0.2)
        assert len(cards(sink)) == sent
    finally:
        await sink.stop()


async def test_unsnooze_and_its_refusals(client: Client) -> None:
    alert_id = await new_alert(client)
    for minutes in (0, 10_081, "60", True):
        bad = await post(client, alert_id, "snooze", minutes=minutes)
        assert bad.status == 400, minutes
    not_snoozed = await post(client, alert_id, "unsnooze")
    assert not_snoozed.status == 409
    assert (await not_snoozed.json())["error"]["code"] == "not_snoozed"
    assert (await post(client, alert_id, "snooze", minutes=10_080)).status == 200
    again = await post(client, alert_id, "snooze", minutes=30)  # a new snooze replaces it
    assert again.status == 200
    first, second = await asyncio.gather(
        post(client, alert_id, "unsnooze"), post(client, alert_id, "unsnooze", actor="lee")
    )
    assert sorted([first.status, second.status]) == [200, 409]  # one winner
    detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["snoozed_until"] is None
    outcomes = [(a["verb"], a["outcome"]) for a in detail["audit"] if a["verb"] != "unsnooze"]
    assert outcomes == [("snooze", "applied"), ("snooze", "applied")]
    resolved = await new_alert(client, dedup_key="other")
    await post(client, resolved, "resolve")
    late = await post(client, resolved, "snooze", minutes=30)
    assert late.status == 409 and (await late.json())["error"]["code"] == "already_resolved"


async def test_a_snooze_stops_the_escalation_clock(client: Client) -> None:
    managers = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, managers.url, name="managers", escalation_level=1)
        services = client.app[SERVICES]
        alert_id = await new_alert(client)
        start = utcnow()
        assert (await post(client, alert_id, "snooze", minutes=60)).status == 200
        during = SchedulerService(services, clock=lambda: start + timedelta(minutes=30))
        assert await during.escalate_overdue() == 0  # due after 15 minutes, but snoozed
        assert await services.actions.wake_snoozed(start + timedelta(minutes=61)) == 1
        after = SchedulerService(services, clock=lambda: start + timedelta(minutes=70))
        assert await after.escalate_overdue() == 0  # 70 minutes, of which 61 snoozed
        later = SchedulerService(services, clock=lambda: start + timedelta(minutes=77))
        assert await later.escalate_overdue() == 1
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert detail["escalation_level"] == 1
    finally:
        await managers.stop()


async def test_notes_are_kept_listed_and_replied_under_every_card(client: Client) -> None:
    one, two = await Sink(secret="s3cret").start(), await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, one.url, name="one")
        await webhook_route(client, two.url, name="two")
        alert_id = await new_alert(client)
        await eventually(lambda: len(cards(one)) == 1 and len(cards(two)) == 1)
        text = "<!channel> checked the replica: *lag* is 0"
        resp = await post(client, alert_id, "notes", text=text)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["note_count"] == 1
        assert (await post(client, alert_id, "notes", text="restarted", actor="lee")).status == 200
        for sink in (one, two):
            await eventually(lambda s=sink: len(cards(s)) >= 2)  # type: ignore[misc]
            await eventually(
                lambda s=sink: cards(s)[-1]["alert"]["note_count"] == 2  # type: ignore[misc]
            )
            said = [n for c in cards(sink)[1:] for n in c.get("notes", [])]
            assert said == [f"📝 dana: {text}", "📝 lee: restarted"]
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert [(n["author"], n["text"]) for n in detail["notes"]] == [
            ("dana", text),
            ("lee", "restarted"),
        ]
        assert detail["state"] == "triggered"  # a note changes nothing else
        for bad in ({"text": ""}, {"text": "   "}, {"text": "x" * 3001}, {"text": 5}, {}):
            refused = await client.post(
                f"/api/v1/events/{alert_id}/notes", json={"actor": "dana", **bad}
            )
            assert refused.status == 400, bad
        assert len((await (await client.get(f"/api/v1/events/{alert_id}")).json())["notes"]) == 2
    finally:
        await one.stop()
        await two.stop()
