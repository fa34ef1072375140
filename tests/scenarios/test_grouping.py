"""Alerts grouped into one living card per group (`group_by`), through the real entry points:
Alertmanager's webhook in, the fake Slack and the fake Bot Framework connector out, clicks
signed as Slack signs them."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.infra.settings import Settings
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import FakeSlack
from tests.fixtures import FIXTURES
from tests.helpers import eventually
from tests.scenarios.slackops import click, slash, texts
from tests.scenarios.test_teams import CHANNEL as TEAMS_CHANNEL
from tests.scenarios.test_teams import install

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
