"""Working an alert from the card, on Slack and Teams at once: snooze, notes, buttons per route."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from storage.schema import utcnow
from tests.cards.checks import adaptive_problems, blockkit_problems
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import choose, click, slash, submit_note, texts
from tests.scenarios.test_teams import ADMIN_AAD, CHANNEL, action, install, say, send

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def admins() -> str:
    return f"teams:{ADMIN_AAD},slack:W111"


async def on_both(
    bot: Client, slack: FakeSlack, connector: FakeConnector, subscribe: str = "subscribe"
) -> str:
    """Slack's C111 and the Teams channel both subscribed; an alert posted to both."""
    await install(bot, connector)
    assert "Subscribed" in await say(bot, connector, subscribe)
    assert "Subscribed" in (await (await slash(bot, subscribe)).json())["text"]
    body = {"title": "db-1 down", "priority": "CRITICAL", "dedup_key": "db-1"}
    alert_id = str((await (await bot.post("/api/v1/events", json=body)).json())["id"])
    await eventually(lambda: connector.cards(CHANNEL) and slack.in_channel("C111"))
    return alert_id


def slack_controls(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["action_id"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" not in e
    ]


def teams_controls(card: dict[str, Any]) -> list[str]:
    return [
        a["verb"]
        for top in card["actions"]
        for a in (top["card"]["actions"] if top["type"] == "Action.ShowCard" else [top])
        if a["type"] == "Action.Execute"
    ]


def card_activity(connector: FakeConnector) -> str:
    """The activity id of the alert's card in the Teams channel (not a command's answer)."""
    answers = {a["id"] for _, _, a in connector.replies}
    return next(
        a["id"]
        for c, a in connector.posted
        if c == CHANNEL and a.get("attachments") and a["id"] not in answers
    )


def replies(slack: FakeSlack, ts: str) -> list[str]:
    return [b["text"]["text"] for m in slack.messages if m.thread_ts == ts for b in m.blocks]


async def test_snooze_from_slack_quiets_both_until_it_ends_then_teams_snoozes(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    alert_id = await on_both(bot, slack, connector)
    card = slack.in_channel("C111")[0]
    assert "snooze" in slack_controls(card.blocks)
    teams_card = connector.cards(CHANNEL)[0]
    assert teams_controls(teams_card)[-2:] == ["snooze", "note"]
    assert (
        adaptive_problems(teams_card) == []
        and blockkit_problems({"text": "x", **{"blocks": card.blocks}}) == []
    )

    assert (await choose(bot, "snooze", alert_id, "60")).status == 200
    snoozed = "💤 Snoozed by u222 until "
    await eventually(lambda: snoozed in texts(card.blocks))
    await eventually(lambda: snoozed in json.dumps(connector.cards(CHANNEL)[0], ensure_ascii=False))
    assert slack_controls(card.blocks)[-2:] == ["unsnooze", "note"]
    assert teams_controls(connector.cards(CHANNEL)[0])[-2:] == ["unsnooze", "note"]
    await eventually(lambda: any(r.startswith(snoozed) for r in replies(slack, card.ts)))

    posted, updates = len(slack.messages), card.updates
    teams_posted = len(connector.posted)
    for _ in range(3):
        body = {"title": "db-1 down", "priority": "CRITICAL", "dedup_key": "db-1"}
        assert (await bot.post("/api/v1/events", json=body)).status == 202
    await asyncio.sleep(0.5)
    assert (len(slack.messages), card.updates, len(connector.posted)) == (
        posted,
        updates,
        teams_posted,
    )  # no card, no update, no reply anywhere

    services = bot.app[SERVICES]
    assert await services.actions.wake_snoozed(utcnow() + timedelta(minutes=61)) == 1
    back = "⏰ The snooze is over: the alert is still open"
    await eventually(lambda: back in replies(slack, card.ts))
    assert snoozed not in texts(card.blocks) and "Occurrences\\n4" in texts(card.blocks)
    first = card_activity(connector)
    await eventually(lambda: back in json.dumps(connector.replies_to(first), ensure_ascii=False))

    invoke = action(connector, "snooze", alert_id, "aad-1", "Megan Bowen")
    invoke["value"]["action"]["data"]["minutes"] = "240"
    answer = await (await send(bot, invoke)).json()
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "💤 Snoozed by Megan Bowen until " in json.dumps(answer["value"], ensure_ascii=False)
    assert adaptive_problems(answer["value"]) == []
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["snoozed_by"] == "Megan Bowen"
    bad = action(connector, "snooze", alert_id, "aad-1", "Megan Bowen")
    bad["value"]["action"]["data"]["minutes"] = "99999999"
    refused = await (await send(bot, bad)).json()
    assert refused["statusCode"] == 400


async def test_a_note_from_a_slack_modal_shows_in_the_teams_reply_and_the_api(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    alert_id = await on_both(bot, slack, connector)
    card = slack.in_channel("C111")[0]
    assert (await click(bot, "note", alert_id)).status == 200
    await eventually(lambda: slack.views)
    modal = slack.views[-1]
    assert modal["callback_id"] == "alert_note" and "db-1 down" in texts(modal["blocks"])
    assert blockkit_problems({**modal, "type": "modal"}) == []

    empty = await submit_note(bot, modal, "   ")
    assert (await empty.json())["response_action"] == "errors"
    text = "<!channel> replica *lag* is 0 — see <https://evil.example|this>"
    done = await submit_note(bot, modal, text)
    assert done.status == 200 and not (await done.read())  # the modal closes

    said = f"📝 u222: {text}"
    await eventually(lambda: said in replies(slack, card.ts))
    reply = [m for m in slack.messages if m.thread_ts == card.ts][-1]
    assert reply.blocks[0]["text"]["type"] == "plain_text"  # shown as typed: no ping, no link
    assert "<!channel>" not in reply.text
    await eventually(lambda: "📝 1 note · last by u222" in texts(card.blocks))
    first = card_activity(connector)
    await eventually(lambda: connector.replies_to(first))
    teams_reply = connector.replies_to(first)[-1]
    assert teams_reply["body"][-1]["type"] == "RichTextBlock"
    assert teams_reply["body"][-1]["inlines"][0]["text"] == said
    assert adaptive_problems(teams_reply) == []
    await eventually(
        lambda: (
            "📝 1 note · last by u222"
            in json.dumps(connector.cards(CHANNEL)[0], ensure_ascii=False)
        )
    )
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [("u222", text)]

    invoke = action(connector, "note", alert_id, "aad-1", "Megan Bowen")
    invoke["value"]["action"]["data"]["text"] = "failover done"
    answer = await (await send(bot, invoke)).json()
    assert "📝 2 notes · last by Megan Bowen" in json.dumps(answer["value"], ensure_ascii=False)
    await eventually(lambda: "📝 Megan Bowen: failover done" in replies(slack, card.ts))


async def test_a_route_with_two_verbs_shows_two_buttons_and_refuses_a_third(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    alert_id = await on_both(
        bot, slack, connector, subscribe="subscribe actions=acknowledge,resolve"
    )
    card = slack.in_channel("C111")[0]
    assert slack_controls(card.blocks) == ["acknowledge", "resolve"]
    assert teams_controls(connector.cards(CHANNEL)[0]) == ["acknowledge", "resolve"]

    assert (await click(bot, "escalate", alert_id)).status == 200
    await eventually(lambda: slack.ephemeral)
    assert slack.ephemeral[-1]["text"] == "This channel's cards do not offer escalate."
    in_thread = action(connector, "escalate", alert_id, "aad-1", "Megan Bowen")
    in_thread["conversation"]["id"] = f"{CHANNEL};messageid=1700000000001"  # as Teams sends it
    refused = await (await send(bot, in_thread)).json()
    assert refused["value"] == "This channel's cards do not offer escalate."
    typed = await (await slash(bot, f"escalate {alert_id}")).json()  # in the same channel
    assert typed["text"] == "This channel's cards do not offer escalate."
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["escalation_level"] == 0 and detail["state"] == "triggered"
    assert [a["outcome"] for a in detail["audit"]] == ["not_offered"] * 3

    answer = await (
        await send(bot, action(connector, "acknowledge", alert_id, "aad-1", "Megan Bowen"))
    ).json()
    assert teams_controls(answer["value"]) == ["resolve"]  # the answer keeps to the route's verbs
    await eventually(lambda: "Acknowledged by Megan Bowen" in texts(card.blocks))
    assert slack_controls(card.blocks) == ["resolve"]
    routes = await (await bot.get("/api/v1/routes")).json()
    assert all(r["actions"] == ["acknowledge", "resolve"] for r in routes["data"])
    bad = await slash(bot, "subscribe actions=acknowledge,teleport")
    assert "teleport not a verb" in (await bad.json())["text"]
