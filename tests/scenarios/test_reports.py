"""Response reports through the real entry points: alerts in over REST, acknowledged and
resolved over REST and Slack, the report read as JSON and CSV over REST and in chat. The
alerts' first-seen times are moved back in the database, as if they had fired earlier."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.core.reports import after_hours
from bot.runtime.app import SERVICES
from storage.schema import Event, utcnow
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import slash

Client = TestClient  # type: ignore[type-arg]


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def fired(bot: Client, title: str, priority: str, minutes_ago: int, **extra: Any) -> str:
    body = {"title": title, "priority": priority, **extra}
    made = await ok(await bot.post("/api/v1/events", json=body), 202)
    async with bot.app[SERVICES].db.session() as session, session.begin():
        await session.execute(
            update(Event)
            .where(Event.id == made["id"])
            .values(first_seen=utcnow() - timedelta(minutes=minutes_ago))
        )
    return str(made["id"])


async def test_mtta_mttr_per_priority_noisiest_alerts_json_csv_and_chat(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    critical = [await fired(bot, f"DB down {n}", "CRITICAL", 10 * n) for n in (1, 2, 3)]
    for alert_id in critical:
        await ok(await bot.post(f"/api/v1/events/{alert_id}/acknowledge", json={"actor": "ana"}))
    await ok(await bot.post(f"/api/v1/events/{critical[0]}/resolve", json={"actor": "ana"}))
    for _ in range(4):  # one noisy alert, firing again and again
        await fired(bot, "Disk 91%", "LOW", 5, dedup_key="disk-db-1", labels={"team": "db"})
    await eventually(lambda: len(slack.in_channel("C111")) >= 4)
    person = {"name": "ana", "slack_user_id": "U222", "time_zone": "Europe/Berlin"}
    await ok(await bot.post("/api/v1/people", json=person), 201)
    paged = (await (await slash(bot, f"page <@U222> {critical[1]}")).json())["text"]
    assert "ana" in paged
    await eventually(lambda: slack.in_channel("DU222"))
    await asyncio.sleep(0.3)  # the page's delivery is recorded just after Slack has it

    report = (await ok(await bot.get("/api/v1/reports/response?since=7d")))["data"]
    assert report["alerts"] == 4 and report["group_by"] == "priority"
    assert [g["key"] for g in report["groups"]] == ["CRITICAL", "LOW"]
    crit = report["groups"][0]
    assert (crit["alerts"], crit["acknowledged"], crit["resolved"]) == (3, 3, 1)
    assert 1195 <= crit["mtta_seconds"]["median"] <= 1215  # 10, 20, 30 minutes: 20
    assert 1795 <= crit["mtta_seconds"]["p90"] <= 1815
    assert 595 <= crit["mttr_seconds"]["median"] <= 615
    low = report["groups"][1]
    assert low["mtta_seconds"] == {"median": None, "p90": None}
    noisy = report["noisiest"]["by_dedup_key"][0]
    assert (noisy["dedup_key"], noisy["alerts"], noisy["occurrences"]) == ("disk-db-1", 1, 4)
    assert report["noisiest"]["by_label"][0] == {"label": "team=db", "alerts": 1}

    late = after_hours(utcnow(), "Europe/Berlin")
    assert report["after_hours_pages"] == [{"person": "ana", "pages": 1, "after_hours": int(late)}]

    by_channel = (await ok(await bot.get("/api/v1/reports/response?group_by=channel")))["data"]
    assert {g["key"]: g["alerts"] for g in by_channel["groups"]} == {
        "slack:ops": 4,
        "dm:ana:slack": 1,  # the page by hand
    }
    sheet = await bot.get("/api/v1/reports/response?since=30d&format=csv")
    assert sheet.status == 200 and sheet.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await sheet.text())))
    assert rows[0][:4] == ["priority", "alerts", "acknowledged", "resolved"]
    assert rows[1][:4] == ["CRITICAL", "3", "3", "1"]

    said = (await (await slash(bot, "report 7d", user="U222")).json())["text"]
    assert "*Response since" in said and "4 alerts, by priority" in said
    assert "• CRITICAL: 3 alerts, MTTA 20m (p90 30m), MTTR 10m" in said
    assert "Noisiest: Disk 91% (1)" in said or "Noisiest: Disk 91%" in said
    # the chart follows as a PNG uploaded into the channel the command was typed in
    assert "📈 The chart follows in this channel." in said
    chart = await eventually(lambda: slack.files[-1] if slack.files else None, within=20)
    assert chart["channel"] == "C111" and chart["content"][:8] == b"\x89PNG\r\n\x1a\n"
    assert len(chart["content"]) > 5000  # a drawing, not an empty image
    assert "Response report for the last 7d, asked by <@U222>" in chart["comment"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # checks before SQL
async def test_bad_report_questions_are_refused_and_tenants_see_their_own(bot: Client) -> None:
    for query, said in (
        ("since=soon", "since:"),
        ("since=400d", "since: between 1m and 366d"),
        ("group_by=colour", "group_by: Input should be 'priority', 'source', 'event_type' or"),
    ):
        refused = await bot.get(f"/api/v1/reports/response?{query}")
        assert refused.status == 400
        assert said in (await refused.json())["error"]["message"]
    await ok(await bot.post("/api/v1/events", json={"title": "mine"}), 202)
    secret, _ = await bot.app[SERVICES].keys.create("acme", "acme-admin", "admin", by="test")
    theirs = await ok(
        await bot.get("/api/v1/reports/response", headers={"Authorization": f"Bearer {secret}"})
    )
    assert theirs["data"]["alerts"] == 0 and theirs["data"]["groups"] == []
