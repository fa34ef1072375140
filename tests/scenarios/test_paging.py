"""Escalation policies paging people through the real entry points: an alert through a route
with a policy DMs the on-call person on Slack, then (nobody acting) the next person in a Teams
1:1 chat; acknowledging on Teams stops the policy and updates every copy of the card."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from bot.runtime.scheduling import SchedulerService
from cards.style import teams_escape
from storage.schema import Person, utcnow
from tests.conftest import API_TOKEN
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import click as slack_click
from tests.scenarios.slackops import slash
from tests.scenarios.test_teams import FIXTURES, install, say, send

Client = TestClient  # type: ignore[type-arg]
ANA_SLACK = "U222"  # a member of the fake workspace
BEN_AAD = "aad-ben"
WAIT = 20  # the first step's wait, as the issue gives it


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The bot's own scheduler moves policies every 0.5 s where a test waits in real time;
    elsewhere it stays out of the way of the ticks a test runs with its clock ahead."""
    real_time = request.node.name.startswith("test_the_on_call_person_is_paged")
    return settings.model_copy(update={"paging_check_seconds": 0.5 if real_time else 300})


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def team_up(bot: Client, connector: FakeConnector, policy: dict[str, Any]) -> str:
    """Ana on Slack, Ben on Teams, a schedule `db` that Ana holds, the policy, and a route
    from every alert to the Teams channel with that policy; the Teams channel's name."""
    await install(bot, connector)
    for person in (
        {"name": "ana", "slack_user_id": ANA_SLACK, "time_zone": "Europe/Berlin"},
        {"name": "ben", "teams_aad_object_id": BEN_AAD, "time_zone": "Europe/London"},
    ):
        await ok(await bot.post("/api/v1/people", json=person), 201)
    layer = {"rotation": "weekly", "handoff": "09:00", "start": "2026-01-05", "people": ["ana"]}
    await ok(
        await bot.post(
            "/api/v1/schedules",
            json={"name": "db", "time_zone": "Europe/Berlin", "layers": [layer]},
        ),
        201,
    )
    await ok(await bot.post("/api/v1/escalation-policies", json=policy), 201)
    channels = (await ok(await bot.get("/api/v1/channels")))["data"]
    teams = next(c for c in channels if c["type"] == "teams")
    route = {"channel": teams["name"], "escalation_policy": policy["name"]}
    await ok(await bot.post("/api/v1/routes", json=route), 201)
    return str(teams["name"])


POLICY = {
    "name": "db-critical",
    "steps": [
        {"notify": [{"schedule": "db"}], "wait": f"{WAIT}s"},
        {"notify": [{"person": "ben"}], "wait": "5m"},
    ],
}


def dm_cards(slack: FakeSlack) -> list[Any]:
    return slack.in_channel(f"D{ANA_SLACK}")


def personal(connector: FakeConnector) -> str:
    return f"a:personal-{BEN_AAD}"


def click(connector: FakeConnector, verb: str, alert_id: str) -> dict[str, Any]:
    """Ben clicks a button of the card in his 1:1 chat with the bot."""
    envelope = json.loads(
        (FIXTURES / "adaptive_card_action_invoke.full_envelope.COMPOSED.json").read_text()
    )
    envelope.pop("_composed_note", None)
    envelope["serviceUrl"] = connector.url
    envelope["conversation"] = {"conversationType": "personal", "id": personal(connector)}
    envelope["from"] = {"id": f"29:{BEN_AAD}", "name": "Ben Okafor", "aadObjectId": BEN_AAD}
    envelope["value"]["action"].update(verb=verb, data={"alert_id": alert_id})
    envelope["id"] = uuid.uuid4().hex
    return envelope


async def test_the_on_call_person_is_paged_on_slack_then_the_next_on_teams_until_one_acts(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    channel = await team_up(bot, connector, POLICY)
    started = time.monotonic()
    made = await bot.post(
        "/api/v1/events", json={"title": "Primary DB down", "priority": "CRITICAL"}
    )
    alert_id = (await ok(made, 202))["id"]

    # Step 1: whoever is on call in `db` (Ana) gets a DM with the full card and its buttons.
    await eventually(lambda: dm_cards(slack), within=5)
    assert time.monotonic() - started < 2.5, "the first page goes out at once"
    assert ("conversations.open", {"users": ANA_SLACK}) in [
        (m, {"users": a.get("users")}) for m, a in slack.calls if m == "conversations.open"
    ]
    dm = json.dumps(dm_cards(slack)[0].blocks, ensure_ascii=False)
    assert "Primary DB down" in dm and "acknowledge" in dm
    assert "📟 Paging ana (step 1 of 2)" in dm
    channel_card = await eventually(lambda: connector.cards(next(iter(channel_ids(connector)))))
    assert shows(channel_card[-1], "📟 Paging ana (step 1 of 2)")

    # Nobody acts: Ben hears nothing before the wait is over...
    await asyncio.sleep(WAIT - 3 - (time.monotonic() - started))
    assert not connector.created and not connector.cards(personal(connector))
    # ...and then gets the card in his Teams 1:1 chat, created for him.
    await eventually(lambda: connector.cards(personal(connector)), within=10)
    assert time.monotonic() - started >= WAIT - 1
    assert connector.created[0][1]["members"] == [{"id": BEN_AAD}]
    ben_card = json.dumps(connector.cards(personal(connector))[0], ensure_ascii=False)
    assert "Primary DB down" in ben_card
    assert shows(connector.cards(personal(connector))[0], "📟 Paging ben (step 2 of 2)")
    assert '"verb": "acknowledge"' in ben_card

    # Ben acknowledges from his chat: the policy stops, every copy says so.
    answer = await ok(await send(bot, click(connector, "acknowledge", alert_id)))
    assert "Acknowledged by Ben Okafor" in json.dumps(answer["value"])
    await eventually(
        lambda: (
            "Acknowledged by Ben Okafor"
            in json.dumps(dm_cards(slack)[0].blocks, ensure_ascii=False)
        )
    )
    await eventually(
        lambda: all(
            "Acknowledged by Ben Okafor" in json.dumps(c, ensure_ascii=False)
            for c in connector.cards(personal(connector))
            + connector.cards(channel_ids(connector)[0])
        )
    )
    event = await ok(await bot.get(f"/api/v1/events/{alert_id}"))
    progress = event["escalation"]
    assert progress["status"] == "acknowledged" and progress["acknowledged_by"] == "ben"
    assert [(f["step"], f["paged"]) for f in progress["fired"]] == [(0, ["ana"]), (1, ["ben"])]
    acked = next(a for a in event["audit"] if a["verb"] == "acknowledge")
    assert acked["data"]["person"] == "ben"
    async with bot.app[SERVICES].db.session() as session:  # his 1:1 chat is now known
        ben = await session.scalar(select(Person).where(Person.name == "ben"))
        assert ben is not None and ben.teams_conversation_id == personal(connector)
        assert ben.teams_user_id == f"29:{BEN_AAD}" and ben.teams_service_url == connector.url
    assert channel  # the route's channel is the one the cards were checked in


def shows(card: dict[str, Any], line: str) -> bool:
    """Whether a Teams card shows the line (Teams' markdown characters escaped)."""
    return json.dumps(teams_escape(line), ensure_ascii=False)[1:-1] in json.dumps(
        card, ensure_ascii=False
    )


def channel_ids(connector: FakeConnector) -> list[str]:
    """The Teams channel conversations the bot posted in (not 1:1 chats)."""
    return [c for c in dict.fromkeys(c for c, _ in connector.posted) if not c.startswith("a:")]


async def in_dm(bot: Client, verb: str, alert_id: str) -> None:
    """Ana clicks a button of the card in her DM with the bot."""
    resp = await slack_click(bot, verb, alert_id, user=ANA_SLACK, channel=f"D{ANA_SLACK}")
    assert resp.status == 200, await resp.text()


def later(minutes: float) -> Any:
    """A scheduler whose clock is `minutes` ahead: the policies' waits are over for it."""
    return lambda: utcnow() + timedelta(minutes=minutes)


async def pages_after(bot: Client, minutes: float) -> int:
    """Run the escalation tick as the scheduler would, `minutes` from now; how many moved."""
    work = SchedulerService(bot.app[SERVICES], clock=later(minutes))
    return await work.tend_escalations()


async def test_escalate_pages_the_next_step_at_once_and_acknowledge_stops_the_rest(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    await team_up(bot, connector, {**POLICY, "repeat": 2})
    made = await bot.post("/api/v1/events", json={"title": "Disk full", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: dm_cards(slack), within=5)

    # Ana escalates from her DM: Ben is paged now, not in 20 s.
    started = time.monotonic()
    assert (
        await slack_click(bot, "escalate", alert_id, user=ANA_SLACK, channel=f"D{ANA_SLACK}")
    ).status == 200
    await eventually(lambda: connector.cards(personal(connector)), within=5)
    assert time.monotonic() - started < 5
    assert shows(
        connector.cards(personal(connector))[0], "📟 Paging ben (step 2 of 2, round 1 of 3)"
    )

    # Ana acknowledges: the rounds still to come page nobody, however late it gets.
    await in_dm(bot, "acknowledge", alert_id)
    await eventually(
        lambda: "Acknowledged by" in json.dumps(dm_cards(slack)[0].blocks, ensure_ascii=False)
    )
    assert await pages_after(bot, 30) == 0
    assert await pages_after(bot, 90) == 0
    await asyncio.sleep(1.5)  # long enough for a page to have gone out
    assert len(dm_cards(slack)) == 1 and len(connector.cards(personal(connector))) == 1
    progress = (await ok(await bot.get(f"/api/v1/events/{alert_id}")))["escalation"]
    assert progress["status"] == "acknowledged"
    assert [f["by"] for f in progress["fired"]] == ["policy", "escalate"]


async def test_a_restart_mid_policy_goes_on_where_it_was_and_pages_each_step_once(
    bot: Client, slack: FakeSlack, connector: FakeConnector, settings: Settings
) -> None:
    await team_up(bot, connector, POLICY)
    made = await bot.post("/api/v1/events", json={"title": "Replica lag", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: dm_cards(slack), within=5)
    await bot.close()  # the bot stops between step 1 and step 2

    app = create_app(
        settings.model_copy(
            update={
                "slack_signing_secret": bot.app[SERVICES].settings.slack_signing_secret,
                "slack_bot_token": bot.app[SERVICES].settings.slack_bot_token,
                "slack_api_url": slack.url,
            }
        )
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as again:
        again.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        moved = [await pages_after(again, 1), await pages_after(again, 2)]
        assert moved == [1, 0]  # step 2 once, however often the tick runs
        await eventually(lambda: connector.cards(personal(connector)), within=5)
        await asyncio.sleep(1.5)
        assert len(connector.cards(personal(connector))) == 1
        assert len(dm_cards(slack)) == 1  # Ana was not paged again for step 1
        progress = (await ok(await again.get(f"/api/v1/events/{alert_id}")))["escalation"]
        assert [f["step"] for f in progress["fired"]] == [0, 1]
        assert progress["status"] == "exhausted"


async def test_people_me_overrides_and_paging_by_hand_from_slack_and_teams(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    await team_up(bot, connector, POLICY)

    async def slack_says(text: str, user: str = "U333") -> str:
        return str((await (await slash(bot, text, user=user)).json())["text"])

    assert "I do not know who `me` is" in await slack_says("oncall override db me 3h")
    assert await slack_says("me") == (
        "Added you as u333 (UTC). Pages reach you here by direct message; "
        "`oncall` says who is on call.\nYou use the system defaults."
    )
    assert (await slack_says(" me")).startswith("You are u333 (UTC).")
    listed = await slack_says("people")
    assert "• ana (Europe/Berlin): Slack" in listed and "• ben (Europe/London): Teams" in listed
    assert "u333 (UTC): Slack" in listed
    assert "Only admins" in await slack_says("oncall override db <@U222> 2h")
    assert "for the next 2h" in await slack_says("oncall override db me 2h")
    assert "u333 is on call for db until" in await slack_says("oncall db")
    assert ", an override; then ana" in await slack_says(" oncall db")
    audit = (await ok(await bot.get("/api/v1/audit?kind=schedule")))["entries"]
    assert audit[0]["actor"] == "slack:U333" and audit[0]["kind"] == "schedule.override"

    # The on-call (now `u333`, by the override) is paged when a new alert comes.
    made = await bot.post("/api/v1/events", json={"title": "Cache cold", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: slack.in_channel("DU333"))
    assert not dm_cards(slack), "ana is not on call during the override"

    # Paging Ben by hand from Teams: his 1:1 chat gets the card at once.
    said = await say(bot, connector, f"page ben {alert_id}")
    assert said == "Paged ben: the card is on its way to them."
    await eventually(lambda: connector.cards(personal(connector)))
    assert "Cache cold" in json.dumps(connector.cards(personal(connector))[0])
    nobody = await say(bot, connector, f"page zoe {alert_id}")
    assert "`zoe` is neither a person nor a schedule" in nobody
    gone = await say(bot, connector, "page ben 0123456789abcdef")
    assert gone.startswith("Not paged: no alert '0123456789abcdef'.")
    event = await ok(await bot.get(f"/api/v1/events/{alert_id}"))
    pages = [a for a in event["audit"] if a["verb"] == "page"]
    assert [p["data"]["paged"] for p in pages] == [["u333"], ["ben"]] or [
        p["data"]["paged"] for p in pages
    ] == [["ben"], ["u333"]]


async def test_the_acknowledger_is_reminded_and_a_forgotten_acknowledgement_ends(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    policy = {**POLICY, "remind_after": "1h", "unacknowledge_after": "4h"}
    await team_up(bot, connector, policy)
    made = await bot.post("/api/v1/events", json={"title": "Queue stuck", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: dm_cards(slack), within=5)
    await in_dm(bot, "acknowledge", alert_id)
    card = dm_cards(slack)[0]

    async def acknowledged() -> bool:
        event = await ok(await bot.get(f"/api/v1/events/{alert_id}"))
        return bool(event["state"] == "acknowledged")

    await eventually(acknowledged)  # Slack's click is answered before it is applied

    def replies() -> list[str]:
        return [m.text for m in slack.messages if m.thread_ts == card.ts]

    assert await pages_after(bot, 30) == 0  # not yet
    assert await pages_after(bot, 61) == 1
    await eventually(lambda: any("⏰ Reminder: acknowledged by u222 1 h" in t for t in replies()))
    assert await pages_after(bot, 62) == 0  # the next reminder is an hour later

    # Four hours on, still not resolved: back to triggered, and the step reached pages again.
    assert await pages_after(bot, 241) == 1
    event = await ok(await bot.get(f"/api/v1/events/{alert_id}"))
    assert event["state"] == "triggered" and event["acknowledged_by"] is None
    assert event["escalation"]["status"] == "running"
    await eventually(lambda: any("back to triggered" in t for t in replies()))
    unacked = [a for a in event["audit"] if a["verb"] == "unacknowledge"]
    assert unacked and unacked[0]["actor"] == "escalation:unacknowledge_after"
    assert len(dm_cards(slack)) == 1  # the same card, updated, with replies under it


async def test_a_snooze_pauses_the_policy_and_resolving_ends_it(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    await team_up(bot, connector, POLICY)
    made = await bot.post("/api/v1/events", json={"title": "Slow queries", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: dm_cards(slack), within=5)
    snoozed = await bot.post(
        f"/api/v1/events/{alert_id}/snooze", json={"actor": "ana", "minutes": 60}
    )
    await ok(snoozed)
    assert await pages_after(bot, 30) == 0  # past the wait, but snoozed
    assert await pages_after(bot, 59) == 0
    await ok(await bot.post(f"/api/v1/events/{alert_id}/unsnooze", json={"actor": "ana"}))
    assert await pages_after(bot, 1) == 1  # the wait was over: step 2 now
    await eventually(lambda: connector.cards(personal(connector)))
    await ok(await bot.post(f"/api/v1/events/{alert_id}/resolve", json={"actor": "ana"}))
    assert await pages_after(bot, 600) == 0
    progress = (await ok(await bot.get(f"/api/v1/events/{alert_id}")))["escalation"]
    assert progress["status"] == "done"


def at(moment: str) -> Any:
    return lambda: datetime.fromisoformat(moment)


async def test_the_slack_user_group_and_the_announcement_follow_the_hand_off_across_dst(
    bot: Client, slack: FakeSlack
) -> None:
    reply = await slash(bot, "subscribe nothing.matches")
    assert "Subscribed" in (await reply.json())["text"]
    for person in (
        {"name": "ana", "slack_user_id": "U222"},
        {"name": "cy", "slack_user_id": "U333"},
    ):
        await ok(await bot.post("/api/v1/people", json=person), 201)
    layer = {
        "rotation": "weekly",
        "handoff": "09:00",
        "start": "2027-03-01",
        "people": ["ana", "cy"],
    }
    schedule = {
        "name": "db",
        "time_zone": "Europe/Berlin",
        "layers": [layer],
        "announce_channel": "slack:ops",
        "slack_usergroup": "S0ONCALL",
    }
    made = await ok(await bot.post("/api/v1/schedules", json=schedule), 201)
    assert made["data"]["slack_usergroup"] == "S0ONCALL"

    async def tick(moment: str) -> int:
        return await SchedulerService(bot.app[SERVICES], clock=at(moment)).tend_escalations()

    def said() -> list[str]:
        return [m.text for m in slack.in_channel("C111")]

    # Berlin moved to summer time on Sunday 28 March 2027: Monday's 09:00 is 07:00 UTC.
    assert await tick("2027-03-29T06:59:00+00:00") == 1
    assert slack.usergroups == {"S0ONCALL": ["U333"]}
    assert said()[-1] == "📟 cy is on call for db until Mon 29 Mar 09:00 (Europe/Berlin)"
    assert await tick("2027-03-29T06:59:30+00:00") == 0  # told once
    assert await tick("2027-03-29T07:00:00+00:00") == 1
    assert slack.usergroups == {"S0ONCALL": ["U222"]}
    assert said()[-1] == "📟 ana is on call for db until Mon 05 Apr 09:00 (Europe/Berlin)"
    audit = (await ok(await bot.get("/api/v1/audit?kind=schedule")))["entries"]
    handoffs = [e for e in audit if e["kind"] == "schedule.handoff"]
    assert [h["data"]["to"] for h in handoffs] == ["ana", "cy"]  # newest first

    # Slack refusing the group (say, a wrong id) is tried again at the next tick.
    slack.revoked = True
    assert await tick("2027-04-05T07:00:00+00:00") == 0
    slack.revoked = False
    assert await tick("2027-04-05T07:00:05+00:00") == 1
    assert slack.usergroups == {"S0ONCALL": ["U333"]}


async def test_a_person_who_turned_slack_off_is_not_paged_there_and_the_card_says_so(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    await team_up(bot, connector, POLICY)
    said = (await (await slash(bot, "me slack off", user=ANA_SLACK)).json())["text"]
    assert "SLACK: enabled=False" in said
    made = await bot.post("/api/v1/events", json={"title": "Backups late", "priority": "HIGH"})
    alert_id = (await ok(made, 202))["id"]
    await eventually(lambda: channel_ids(connector) and connector.cards(channel_ids(connector)[0]))
    channel = connector.cards(channel_ids(connector)[0])
    assert shows(channel[-1], "📟 Paging nobody (step 1 of 2): ana has no way to be reached")
    await asyncio.sleep(1.5)  # long enough for a DM to have gone out
    assert not dm_cards(slack)
    event = await ok(await bot.get(f"/api/v1/events/{alert_id}"))
    page = next(a for a in event["audit"] if a["verb"] == "page")
    assert page["outcome"] == "nobody_reached" and page["data"]["paged"] == []


async def test_someone_added_by_e_mail_is_found_in_the_slack_workspace(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    made = await ok(
        await bot.post("/api/v1/people", json={"name": "cy", "email": "cy@example.com"}), 201
    )
    assert made["data"]["slack_user_id"] == "U333"
    stranger = await ok(
        await bot.post("/api/v1/people", json={"name": "dee", "email": "dee@example.com"}), 201
    )
    assert stranger["data"]["slack_user_id"] is None
    audit = (await ok(await bot.get("/api/v1/audit?kind=person")))["entries"]
    matched = [e for e in audit if e["kind"] == "person.matched"]
    assert [m["data"]["person"] for m in matched] == ["cy"]
    assert ("users.lookupByEmail", "cy@example.com") in [
        (m, a.get("email")) for m, a in slack.calls
    ]


async def test_people_change_and_leave_only_when_nothing_names_them(
    bot: Client, connector: FakeConnector
) -> None:
    await team_up(bot, connector, POLICY)
    changed = await ok(
        await bot.patch("/api/v1/people/ben", json={"phone": "+4915112345678", "email": None})
    )
    assert changed["data"]["phone"] == "+4915112345678"
    bad = await bot.patch("/api/v1/people/ben", json={"time_zone": "Mars/Olympus"})
    assert bad.status == 400
    named = await bot.delete("/api/v1/people/ben")
    assert named.status == 409
    assert "escalation policy 'db-critical'" in (await named.json())["error"]["message"]
    in_layer = await bot.delete("/api/v1/people/ana")
    assert "schedule 'db'" in (await in_layer.json())["error"]["message"]
    assert (await bot.delete("/api/v1/schedules/db")).status == 409  # the policy pages it
    await ok(
        await bot.put(
            "/api/v1/escalation-policies/db-critical",
            json={
                **POLICY,
                "steps": [{"notify": [{"person": "ana"}], "wait": "1m"}],
            },
        )
    )
    await ok(await bot.delete("/api/v1/people/ben"))
    await ok(await bot.delete("/api/v1/schedules/db"))
    names = [p["name"] for p in (await ok(await bot.get("/api/v1/people")))["data"]]
    assert names == ["ana"]
    audit = (await ok(await bot.get("/api/v1/audit?kind=person")))["entries"]
    assert [e["kind"] for e in audit][:2] == ["person.remove", "person.update"]
    assert audit[1]["data"]["changes"] == ["phone: none → +4915112345678"]  # email was none
