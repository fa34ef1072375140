"""Integration notices reach the admins' channel without any route; default routes take the rest."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.fakes.sink import Sink
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually, webhook_route
from tests.scenarios.slackops import slash

Client = TestClient  # type: ignore[type-arg]


async def test_notices_go_to_the_admins_channel_with_no_route(
    bot: Client, slack: FakeSlack
) -> None:
    slack.channels["C900"] = {"member": True, "archived": False}
    reply = await slash(bot, "admins channel here", channel="C900")
    assert "admins' channel" in (await reply.json())["text"]
    created = await bot.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "broken", "settings": {"url": "http://127.0.0.1:9/x"}},
    )
    integration_id = (await created.json())["data"]["id"]
    tested = await bot.post(f"/api/v1/integrations/{integration_id}/test")
    assert (await tested.json())["data"]["success"] is False
    await eventually(lambda: slack.in_channel("C900"), within=10)
    text = str(slack.in_channel("C900")[0].blocks)
    assert "broken" in text
    # An ordinary alert does not go there: only admin notices do. A second notice sent after
    # it is the marker: once the marker is there, the alert had every chance to arrive first.
    posted = await bot.post("/api/v1/events", json={"title": "app down", "event_type": "app.down"})
    alert_id = (await posted.json())["id"]
    routes = await (await bot.get("/api/v1/routes")).json()
    assert routes["data"] == []
    marker = await bot.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "marker", "settings": {"url": "http://127.0.0.1:9/y"}},
    )
    marker_id = (await marker.json())["data"]["id"]
    again = await bot.post(f"/api/v1/integrations/{marker_id}/test")
    assert (await again.json())["data"]["success"] is False
    await eventually(lambda: len(slack.in_channel("C900")) >= 2 or None, within=10)
    assert all("app down" not in str(m.blocks) for m in slack.in_channel("C900"))
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["deliveries"] == []  # routed nowhere, not merely late


async def test_a_non_admin_cannot_choose_the_admins_channel(bot: Client) -> None:
    reply = await slash(bot, "admins channel here", user="U999", channel="C901")
    assert "only admins" in (await reply.json())["text"]


async def test_a_default_route_takes_only_what_no_other_route_takes(client: Client) -> None:
    deploys, rest = await Sink().start(), await Sink().start()
    try:
        await webhook_route(client, deploys.url, name="deploys", event_glob="deploy.*")
        await webhook_route(client, rest.url, name="rest", default=True)
        routes = await (await client.get("/api/v1/routes")).json()
        assert sorted(r["default"] for r in routes["data"]) == [False, True]
        await client.post("/api/v1/events", json={"title": "d", "event_type": "deploy.failed"})
        await client.post("/api/v1/events", json={"title": "o", "event_type": "other.thing"})

        def titles(sink: Sink) -> list[Any]:
            return [r.body["alert"]["title"] for r in sink.accepted()]

        await eventually(lambda: titles(deploys) and titles(rest))
        assert titles(deploys) == ["d"]
        assert titles(rest) == ["o"]
    finally:
        await deploys.stop()
        await rest.stop()
