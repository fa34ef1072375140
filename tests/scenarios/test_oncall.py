"""People and on-call schedules through the real entry points: REST with a tenant's key, the
Slack command, and the iCalendar feed read by the `icalendar` library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import icalendar
from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from tests.fakes.slack import FakeSlack
from tests.scenarios.slackops import slash

Client = TestClient  # type: ignore[type-arg]
WEEKLY = {"rotation": "weekly", "handoff": "09:00", "start": "2027-03-01", "people": ["ana", "ben"]}


async def key_of(bot: Client, tenant: str) -> dict[str, str]:
    secret, _ = await bot.app[SERVICES].keys.create(tenant, f"{tenant}-admin", "admin", by="test")
    return {"Authorization": f"Bearer {secret}"}


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def recent() -> dict[str, Any]:
    """The weekly layer, started two Mondays ago: someone is on call now."""
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 14)
    return {**WEEKLY, "start": monday.isoformat()}


async def db_schedule(
    bot: Client, headers: dict[str, str] | None = None, layer: dict[str, Any] = WEEKLY
) -> dict[str, Any]:
    for person in (
        {"name": "ana", "slack_user_id": "U0ANA", "time_zone": "Europe/Berlin"},
        {"name": "ben", "teams_aad_object_id": "aad-ben", "email": "ben@example.com"},
    ):
        await ok(await bot.post("/api/v1/people", json=person, headers=headers), 201)
    made = await bot.post(
        "/api/v1/schedules",
        json={"name": "db", "time_zone": "Europe/Berlin", "layers": [layer]},
        headers=headers,
    )
    return dict((await ok(made, 201))["data"])


async def test_who_is_on_call_hands_off_at_the_local_time_across_dst_and_overrides_win(
    bot: Client,
) -> None:
    schedule = await db_schedule(bot)
    assert schedule["layers"] == [WEEKLY]

    async def who(at: str) -> dict[str, Any]:
        return dict(await ok(await bot.get(f"/api/v1/schedules/db/oncall?at={at}")))

    before = await who("2027-03-29T06:59:00Z")  # 08:59 in Berlin, the day after spring-forward
    assert before["person"]["name"] == "ben"
    assert before["until"] == "2027-03-29T07:00:00+00:00"  # Monday 09:00 CEST
    assert before["next"]["person"]["name"] == "ana"
    assert before["next"]["person"]["slack_user_id"] == "U0ANA"
    assert (await who("2027-03-29T07:00:00Z"))["person"]["name"] == "ana"

    await ok(
        await bot.post(
            "/api/v1/schedules/db/overrides",
            json={"person": "ben", "start": "2027-03-30T10:00:00Z", "end": "2027-03-30T12:00:00Z"},
        ),
        201,
    )
    covered = await who("2027-03-30T11:00:00Z")
    assert covered["person"]["name"] == "ben" and covered["overridden"] is True
    assert covered["until"] == "2027-03-30T12:00:00+00:00"
    audit = (await ok(await bot.get("/api/v1/audit?kind=schedule")))["entries"]
    assert [e["kind"] for e in audit] == ["schedule.override", "schedule.create"]

    bad = await bot.post(
        "/api/v1/schedules",
        json={"name": "x", "time_zone": "Europe/Berlin", "layers": [{**WEEKLY, "people": ["zoe"]}]},
    )
    assert bad.status == 400 and "no person 'zoe'" in (await bad.json())["error"]["message"]
    wrong = await bot.get("/api/v1/schedules/db/oncall?at=yesterday")
    assert wrong.status == 400


async def test_the_feed_lists_the_shifts_and_a_wrong_token_gets_nothing(bot: Client) -> None:
    schedule = await db_schedule(bot, layer=recent())
    path = schedule["ical_url"].split("chatops.test", 1)[1]
    feed = await bot.get(path, headers={"Authorization": ""})
    assert feed.status == 200 and feed.content_type == "text/calendar"
    calendar = icalendar.Calendar.from_ical(await feed.text())
    events = [c for c in calendar.walk("VEVENT")]
    assert events, "the feed lists shifts"
    summaries = {str(e["summary"]) for e in events}
    assert summaries <= {"On call: ana (db)", "On call: ben (db)"}
    starts = sorted(e.decoded("dtstart") for e in events)
    now = datetime.now(UTC)
    assert starts[0] <= now and starts[-1] >= now + timedelta(days=60)
    weeks = {b - a for a, b in pairwise(starts[1:])}  # the first is cut at the window's start
    hour = timedelta(hours=1)
    assert weeks <= {timedelta(weeks=1), timedelta(weeks=1) + hour, timedelta(weeks=1) - hour}
    guessed = await bot.get(
        path.replace(path.split("/")[-1], "guess.ics"), headers={"Authorization": ""}
    )
    assert guessed.status == 404


async def test_a_tenants_key_sees_its_own_schedules_only(bot: Client) -> None:
    theirs = await key_of(bot, "acme")
    await db_schedule(bot, theirs)  # acme's own "db"
    mine = await bot.get("/api/v1/schedules")  # the operator, default tenant
    assert (await ok(mine))["data"] == []
    foreign = await bot.get("/api/v1/schedules/db/oncall?tenant=default", headers=theirs)
    assert foreign.status == 404
    listed = await ok(await bot.get("/api/v1/schedules", headers=theirs))
    assert [s["name"] for s in listed["data"]] == ["db"]


async def test_slack_says_who_is_on_call_now_and_next(bot: Client, slack: FakeSlack) -> None:
    await db_schedule(bot, layer=recent())
    reply = await (await slash(bot, "oncall db")).json()
    text = reply["text"]
    assert " is on call for db until " in text and "(Europe/Berlin); then " in text
    unknown = await (await slash(bot, "oncall nope")).json()
    assert "No schedule `nope`; there are: `db`" in unknown["text"]
