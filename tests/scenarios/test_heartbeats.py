"""Heartbeats through the real entry points: made over REST, pinged with a key, through the
secret URL and by Alertmanager's Watchdog, checked by the scheduler's own tick with its clock
moved on; a missed one is an alert in the Slack channel, resolved by the next ping."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES
from bot.runtime.scheduling import SchedulerService
from storage.schema import utcnow
from tests.conftest import API_TOKEN
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import slash, texts
from tests.scenarios.test_noise import firing

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The bot's own scheduler stays out of the way of the ticks the test runs itself."""
    return settings.model_copy(update={"paging_check_seconds": 300})


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def checker(bot: Client, started_after: timedelta = timedelta(0)) -> tuple[SchedulerService, Any]:
    """A scheduler (as after a restart `started_after` from now) and the clock it reads."""
    start = utcnow() + started_after
    clock = {"now": start}
    return SchedulerService(bot.app[SERVICES], clock=lambda: clock["now"]), clock


async def test_a_missed_heartbeat_is_one_alert_resolved_by_the_next_ping(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    body = {"name": "backup-job", "interval": "15m", "grace": "5m", "priority": "HIGH"}
    made = (await ok(await bot.post("/api/v1/heartbeats", json=body), 201))["data"]
    assert made["state"] == "waiting" and made["grace"] == "5m"
    secret = urlsplit(made["ping_url"]).path
    assert secret.startswith("/hooks/heartbeats/backup-job/") and len(secret) > 40
    listed = (await ok(await bot.get("/api/v1/heartbeats")))["data"]
    assert "ping_url" not in listed[0]  # shown once, at creation
    pinged = (await ok(await bot.post("/hooks/heartbeats/backup-job")))["data"]
    assert pinged["state"] == "up"

    work, clock = checker(bot)
    clock["now"] += timedelta(minutes=19)
    assert await work.tend_escalations() == 0  # within interval and grace
    clock["now"] += timedelta(minutes=7)
    assert await work.tend_escalations() == 1
    card = await eventually(lambda: slack.in_channel("C111"))
    assert "No heartbeat from backup-job for 26 min, expected every 15 min" in texts(card[0].blocks)
    clock["now"] += timedelta(minutes=10)
    assert await work.tend_escalations() == 0  # one alert, not one per tick
    state = (await ok(await bot.get("/api/v1/heartbeats/backup-job")))["data"]
    assert state["state"] == "missed" and state["alert_id"]

    # The secret URL needs no key, and its ping resolves the alert.
    bot.session.headers.pop("Authorization")
    try:
        assert (await bot.get(secret[:-3] + "xyz")).status == 404  # a wrong key
        await ok(await bot.get(secret))
    finally:
        bot.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
    alert = await ok(await bot.get(f"/api/v1/events/{state['alert_id']}"))
    assert alert["state"] == "resolved"
    await eventually(lambda: "Resolved" in texts(slack.in_channel("C111")[0].blocks))
    assert len(slack.in_channel("C111")) == 1

    # After a restart the checker gives every heartbeat a whole interval and grace first.
    later, clock = checker(bot, started_after=timedelta(hours=2))
    clock["now"] += timedelta(minutes=19)
    assert await later.tend_escalations() == 0  # silent 2 h, but the bot was not watching
    clock["now"] += timedelta(minutes=2)
    assert await later.tend_escalations() == 1

    # Paused for maintenance: audited, and no alert while paused.
    await ok(await bot.post("/hooks/heartbeats/backup-job"))
    paused = await ok(
        await bot.post("/api/v1/heartbeats/backup-job/pause", json={"duration": "1d"})
    )
    assert paused["data"]["state"] == "paused" and paused["data"]["paused_by"] == "operator"
    clock["now"] += timedelta(hours=5)
    assert await later.tend_escalations() == 0
    resumed = await ok(await bot.post("/api/v1/heartbeats/backup-job/resume"))
    assert resumed["data"]["state"] == "up"
    kinds = [
        e["kind"] for e in (await ok(await bot.get("/api/v1/audit?kind=heartbeat")))["entries"]
    ]
    assert kinds == ["heartbeat.resume", "heartbeat.pause", "heartbeat.create"]


async def test_alertmanagers_watchdog_pings_its_heartbeat_and_is_not_an_alert(
    bot: Client, slack: FakeSlack
) -> None:
    body = {"name": "prometheus", "interval": "5m", "watchdog": "Watchdog"}
    await ok(await bot.post("/api/v1/heartbeats", json=body), 201)
    answer = await ok(await bot.post("/hooks/alertmanager", json=firing("Watchdog")), 202)
    assert answer["watchdogs"] == ["Watchdog"] and answer["accepted"] == 0
    found = (await ok(await bot.get("/api/v1/heartbeats/prometheus")))["data"]
    assert found["state"] == "up" and found["last_ping_at"]
    assert (await ok(await bot.get("/api/v1/events")))["events"] == []
    other = await ok(await bot.post("/hooks/alertmanager", json=firing("DiskFull")), 202)
    assert other["accepted"] == 1 and "watchdogs" not in other


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # checks before SQL
async def test_bad_heartbeats_are_refused_and_change_nothing(bot: Client) -> None:
    for body, said in (
        ({"name": "x y", "interval": "15m"}, "name:"),
        ({"name": "job", "interval": "5s"}, "interval: between 10s and 31d"),
        ({"name": "job", "interval": "soon"}, "interval:"),
        ({"name": "job", "interval": "15m", "priority": "LOUD"}, "priority: one of"),
        (
            {"name": "job", "interval": "15m", "color": "red"},
            "color: not a field here (the fields: name, interval",
        ),
    ):
        refused = await bot.post("/api/v1/heartbeats", json=body)
        assert refused.status == 400, body
        assert said in (await refused.json())["error"]["message"]
    assert (await ok(await bot.get("/api/v1/heartbeats")))["data"] == []
    assert (await bot.post("/hooks/heartbeats/nope")).status == 404
    await ok(await bot.post("/api/v1/heartbeats", json={"name": "job", "interval": "1h"}), 201)
    again = await bot.post("/api/v1/heartbeats", json={"name": "job", "interval": "2h"})
    assert again.status == 409
    await asyncio.sleep(0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # chat over the same core
async def test_heartbeats_from_chat_admins_add_anyone_pauses_everything_audited(
    bot: Client, slack: FakeSlack
) -> None:
    async def say(text: str, user: str) -> str:
        answer = await (await slash(bot, text, user=user)).json()
        return str(answer.get("text") or answer)

    assert "No heartbeats" in await say("heartbeats", "U222")
    assert "Only admins" in await say("heartbeat add nightly 1d", "U222")
    added = await say("heartbeat add nightly 1d 2h CRITICAL", "W111")
    assert "Heartbeat `nightly` added: expected every 1d (grace 2h, CRITICAL)" in added
    assert "/hooks/heartbeats/nightly`" in added and "ping_url" in added  # no secret in chat
    listed = await say(" heartbeats", "U222")  # not the same signed body as the first
    assert "⏳ `nightly` waiting: every 1d (grace 2h), never pinged" in listed
    assert "paused until" in await say("heartbeat pause nightly 3h", "U222")
    assert "⏸️ `nightly` paused" in await say("heartbeats ", "U222")
    assert "watched again" in await say("heartbeat resume nightly", "U222")
    assert "no heartbeat 'nope'" in await say("heartbeat pause nope", "U222")
    assert "Type `heartbeats |" in await say("heartbeat dance", "U222")
    entries = (await ok(await bot.get("/api/v1/audit?kind=heartbeat")))["entries"]
    assert [(e["kind"], e["actor"]) for e in entries] == [
        ("heartbeat.resume", "slack:U222"),
        ("heartbeat.pause", "slack:U222"),
        ("heartbeat.create", "slack:W111"),
    ]
