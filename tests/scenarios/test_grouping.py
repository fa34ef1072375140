"""Alerts grouped into one living card per group (`group_by`), through the real entry points:
Alertmanager's webhook in, the fake Slack and the fake Bot Framework connector out, clicks
signed as Slack signs them."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from bot.infra.settings import Settings
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import TEAM_ID, FakeSlack, sign
from tests.fixtures import FIXTURES
from tests.helpers import eventually
from tests.scenarios.slackops import click, fixture, slash, texts
from tests.scenarios.test_teams import CHANNEL as TEAMS_CHANNEL
from tests.scenarios.test_teams import action, install, send

Client = TestClient  # type: ignore[type-arg]
WEBHOOK = FIXTURES / "alertmanager" / "webhook_v4.sample_1_alert.prometheus_msteams_testdata.json"
CLUSTERS = [f"eu-{n}" for n in range(5)]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Replies and repeats are looked at every half second, as a test waits in real time."""
    return settings.model_copy(update={"paging_check_seconds": 0.5})


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def webhook(alerts: list[tuple[int, str]], status: str = "firing") -> dict[str, Any]:
    """Alertmanager's webhook (its own sample) carrying these (number, cluster) alerts."""
    body = json.loads(WEBHOOK.read_text())
    model = body["alerts"][0]
    body["status"], body["alerts"] = status, []
    for n, cluster in alerts:
        alert = copy.deepcopy(model)
        alert["status"] = status
        alert["labels"] = {"alertname": "HighLatency", "cluster": cluster, "instance": f"i-{n}"}
        alert["annotations"] = {"summary": f"High latency on i-{n}"}
        alert["fingerprint"] = f"fp-{n}"
        if status == "resolved":
            alert["endsAt"] = "2026-12-06T10:00:00Z"
        body["alerts"].append(alert)
    body["commonLabels"] = {"alertname": "HighLatency"}
    return body


async def grouped_route(bot: Client, channel: str, **extra: Any) -> None:
    route = {"channel": channel, "group_by": ["cluster"], "group_wait": "1s", **extra}
    await ok(await bot.post("/api/v1/routes", json=route), 201)


async def slack_only(bot: Client, **extra: Any) -> None:
    """The Slack channel C111 as `slack:ops`, its only route grouping by cluster."""
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    for route in (await ok(await bot.get("/api/v1/routes")))["data"]:
        await ok(await bot.delete(f"/api/v1/routes/{route['id']}"))
    await grouped_route(bot, "slack:ops", **extra)


def group_cards(slack: FakeSlack) -> dict[str, tuple[str, str]]:
    """The group cards in C111 by their group's labels: (card id, what the card says)."""
    found = {}
    for message in slack.in_channel("C111"):
        said = texts(message.blocks)
        card = re.search(r'"block_id": "group:(\w+)"', said)
        title = re.search(r"(?:📦|✅) (cluster=[\w-]+)", said)
        if title:
            found[title.group(1)] = (card.group(1) if card else "", said)
    return found


async def test_two_hundred_alerts_over_five_clusters_are_five_living_cards_per_channel(
    bot: Client, slack: FakeSlack, connector: FakeConnector
) -> None:
    await install(bot, connector)
    await slack_only(bot)
    teams = next(
        c for c in (await ok(await bot.get("/api/v1/channels")))["data"] if c["type"] == "teams"
    )
    await grouped_route(bot, teams["name"])
    alerts = [(n, CLUSTERS[n % 5]) for n in range(200)]
    for batch in range(4):
        part = alerts[batch * 50 : (batch + 1) * 50]
        await ok(await bot.post("/hooks/alertmanager", json=webhook(part)), 202)

    await eventually(lambda: len(group_cards(slack)) == 5, within=20)
    await eventually(lambda: len(connector.cards(TEAMS_CHANNEL)) == 5, within=20)
    await eventually(
        lambda: all("🔥 40 firing" in said for _, said in group_cards(slack).values()), within=10
    )
    await asyncio.sleep(1.5)  # long enough for a card too many to have been posted
    assert len(slack.in_channel("C111")) == 5 and slack.rate_limited == []
    assert len(connector.cards(TEAMS_CHANNEL)) == 5
    teams_said = json.dumps(connector.cards(TEAMS_CHANNEL), ensure_ascii=False)
    assert teams_said.count("🔥 40 firing · since") == 5 and "… and 35 more" in teams_said
    card_id, said = group_cards(slack)["cluster=eu-0"]
    assert "… and 35 more" in said and "Acknowledge all" in said
    members = (await ok(await bot.get("/api/v1/events?limit=500&state=triggered")))["events"]
    assert len(members) == 200

    # Resolving every alert of one cluster resolves its card, on both platforms.
    gone = [a for a in alerts if a[1] == "eu-0"]
    await ok(await bot.post("/hooks/alertmanager", json=webhook(gone, "resolved")), 202)
    await eventually(lambda: "✅ 40 resolved" in group_cards(slack)["cluster=eu-0"][1], within=15)
    _, said = group_cards(slack)["cluster=eu-0"]
    assert "Acknowledge all" not in said and "🔥" not in said.split("resolved")[0][-30:]
    await eventually(
        lambda: "✅ cluster=eu-0" in json.dumps(connector.cards(TEAMS_CHANNEL), ensure_ascii=False),
        within=15,
    )

    # Acknowledge on a group card acknowledges its 40 members, each audited.
    card_id, _ = group_cards(slack)["cluster=eu-1"]
    answer = await click(bot, "acknowledge", f"group:{card_id}", user="U222")
    assert answer.status == 200

    async def _is(value: Any, expected: int) -> bool:
        return await value == expected

    async def acknowledged() -> int:
        found = await ok(await bot.get("/api/v1/events?limit=500&state=acknowledged"))
        return len(found["events"])

    await eventually(lambda: _is(acknowledged(), 40), within=10)
    found = await ok(await bot.get("/api/v1/events?limit=500&state=acknowledged"))
    assert {e["labels"]["cluster"] for e in found["events"]} == {"eu-1"}
    assert len(found["events"]) == 40
    audit = await ok(await bot.get("/api/v1/audit?kind=acknowledge&limit=100"))
    assert len(audit["entries"]) == 40
    await eventually(
        lambda: "👀 40 acknowledged" in group_cards(slack)["cluster=eu-1"][1], within=10
    )
    assert slack.rate_limited == []
    page = await (await bot.get(f"/digests/{card_id}")).text()
    assert "<h1>40 alerts · cluster=eu-1</h1>" in page and page.count("<li>") == 40


def replies_under(slack: FakeSlack, card_ts: str) -> list[str]:
    return [m.text for m in slack.messages if m.thread_ts == card_ts]


async def submit_silence(bot: Client, view: dict[str, Any], **values: str) -> Any:
    """The "Silence similar…" modal, as the bot opened it, submitted with these fields."""
    payload = fixture("view_submission.bolt_test.json")
    payload["user"] = {"id": "U222", "username": "u222", "name": "u222", "team_id": TEAM_ID}
    payload["view"]["callback_id"] = view["callback_id"]
    payload["view"]["private_metadata"] = view["private_metadata"]
    payload["view"]["state"] = {
        "values": {k: {k: {"type": "plain_text_input", "value": v}} for k, v in values.items()}
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    return await bot.post("/slack/events", data=body, headers=headers)


async def test_a_silence_made_from_a_group_card_stops_its_repeats_until_it_expires(
    bot: Client, slack: FakeSlack
) -> None:
    await slack_only(bot, group_interval="1s", repeat_interval="2s")
    alerts = [(n, "eu-0") for n in range(3)]
    await ok(await bot.post("/hooks/alertmanager", json=webhook(alerts)), 202)
    await eventually(lambda: "🔥 3 firing" in group_cards(slack).get("cluster=eu-0", ("", ""))[1])
    card_id, said = group_cards(slack)["cluster=eu-0"]
    assert "Silence similar…" in said
    card_ts = slack.in_channel("C111")[0].ts
    await eventually(lambda: "🔁 Still firing: 3 alerts" in replies_under(slack, card_ts))

    # The card's button opens a modal with the group's labels; a bad matcher is refused there.
    assert (await click(bot, "silence_similar", f"group:{card_id}")).status == 200
    await eventually(lambda: slack.views)
    view = slack.views[-1]
    shown = json.dumps(view, ensure_ascii=False)
    assert '"initial_value": "cluster=\\"eu-0\\""' in shown and '"initial_value": "2h"' in shown
    refused = await submit_silence(bot, view, matchers='cluster=~"(', duration="1h")
    assert (await refused.json())["errors"]["matchers"].startswith("matchers")
    assert (await ok(await bot.get("/api/v1/silences")))["data"] == []
    made = await submit_silence(
        bot, view, matchers='cluster="eu-0"', duration="1h", comment="known, on it"
    )
    assert made.status == 200 and not (await made.text()).strip()
    silences = (await ok(await bot.get("/api/v1/silences")))["data"]
    assert [(s["matchers"], s["created_by"], s["comment"]) for s in silences] == [
        (['cluster="eu-0"'], "slack:U222", "known, on it")
    ]
    await eventually(lambda: any("Silenced cluster" in e["text"] for e in slack.ephemeral))

    # No repeat while it lasts (twice the repeat interval and a tick), one soon after it ends.
    await asyncio.sleep(0.6)  # a repeat queued before the silence may still land
    before = len(replies_under(slack, card_ts))
    await asyncio.sleep(3.5)  # the repeat interval (2s) and more than a tick (0.5s) again
    assert len(replies_under(slack, card_ts)) == before
    said = (await (await slash(bot, f"silence expire {silences[0]['id'][:8]}")).json())["text"]
    assert "expired" in said
    await eventually(lambda: len(replies_under(slack, card_ts)) > before, within=6)
    assert "🔁 Still firing: 3 alerts" in replies_under(slack, card_ts)[-1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL
async def test_silence_similar_on_a_teams_card_makes_the_silence_as_the_clicker(
    bot: Client, connector: FakeConnector
) -> None:
    await install(bot, connector)
    teams = next(
        c for c in (await ok(await bot.get("/api/v1/channels")))["data"] if c["type"] == "teams"
    )
    await grouped_route(bot, teams["name"])
    await ok(await bot.post("/hooks/alertmanager", json=webhook([(1, "eu-3")])), 202)
    await eventually(lambda: connector.cards(TEAMS_CHANNEL))
    card = connector.cards(TEAMS_CHANNEL)[0]
    silence = next(a for a in card["actions"] if a["title"] == "🔕 Silence similar…")
    inputs = {i["id"]: i.get("value") for i in silence["card"]["body"]}
    assert inputs["matchers"] == 'cluster="eu-3"' and inputs["duration"] == "2h"
    execute = silence["card"]["actions"][0]
    data = {**execute["data"], "matchers": inputs["matchers"], "duration": "30m"}
    envelope = action(connector, execute["verb"], "", "aad-dana", "Dana")
    envelope["value"]["action"]["data"] = data
    answer = await ok(await send(bot, envelope))
    assert answer["value"].startswith('Silenced cluster="eu-3" until ')
    silences = (await ok(await bot.get("/api/v1/silences")))["data"]
    assert [(s["matchers"], s["created_by"]) for s in silences] == [
        (['cluster="eu-3"'], "teams:aad-dana")
    ]
    # Another tenant's card id, or none, silences nothing.
    envelope = action(connector, execute["verb"], "", "aad-dana", "Dana")
    envelope["value"]["action"]["data"] = {
        "group_id": "nope",
        "matchers": 'a="b"',
        "duration": "1h",
    }
    refused = await ok(await send(bot, envelope))
    assert refused["statusCode"] == 404 and "No such alert" in json.dumps(refused)
    assert len((await ok(await bot.get("/api/v1/silences")))["data"]) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL
async def test_grouping_fields_are_checked_and_shown_with_their_defaults(
    bot: Client, slack: FakeSlack
) -> None:
    said = (await (await slash(bot, "subscribe group_by=cluster,alertname")).json())["text"]
    assert "Alerts with the same cluster, alertname share one card." in said
    route = (await ok(await bot.get("/api/v1/routes")))["data"][0]
    assert {
        k: route[k] for k in ("group_by", "group_wait", "group_interval", "repeat_interval")
    } == {
        "group_by": ["cluster", "alertname"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "4h",
    }
    for body, said in (
        ({"group_wait": "1m"}, "group_wait: only with group_by"),
        ({"group_by": ["bad-name"]}, "group_by: 'bad-name' is not a label name"),
        ({"group_by": ["...", "cluster"]}, 'group_by: "..." stands alone'),
        ({"group_by": ["a"], "group_interval": "0s"}, "group_interval: between 1s and 1d"),
        ({"group_by": ["a"], "repeat_interval": "soon"}, "repeat_interval: 'soon' is not"),
        ({"group_by": "cluster"}, "group_by: expected a list, got text"),
    ):
        refused = await bot.post("/api/v1/routes", json={"channel": "slack:ops", **body})
        assert refused.status == 400, body
        assert said in (await refused.json())["error"]["message"]
    assert len((await ok(await bot.get("/api/v1/routes")))["data"]) == 1
