"""A storm never loses a page: pagers get every alert, chat folds, a dead digest is told.

Alertmanager storms are sent through the real hook; PagerDuty and Opsgenie are fakes on
loopback that limit their writes as the vendors do (429 past the limit); Slack is the fake
workspace that allows about one message a second per channel.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.runtime.app import SERVICES
from storage.schema import Delivery
from tests.fakes.pagerduty import VALID_KEY, FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.fakes.vendors import OPSGENIE_KEY, FakeOpsgenie
from tests.helpers import eventually
from tests.scenarios.slackops import slash

Client = TestClient  # type: ignore[type-arg]


async def pager(client: Client, type_id: str, settings: dict[str, str], rate: int) -> str:
    """An integration and its channel, paced at `rate` a minute; the channel's id."""
    resp = await client.post(
        "/api/v1/integrations", json={"type": type_id, "name": type_id, "settings": settings}
    )
    assert resp.status == 201, await resp.text()
    channel = await client.post(
        "/api/v1/channels",
        json={
            "name": type_id,
            "integration": (await resp.json())["data"]["id"],
            "rate_per_minute": rate,
        },
    )
    assert channel.status == 201, await channel.text()
    channel_id = str((await channel.json())["data"]["id"])
    route = await client.post("/api/v1/routes", json={"channel": channel_id})
    assert route.status == 201, await route.text()
    return channel_id


async def storm(client: Client, count: int, per_post: int = 100) -> None:
    """`count` firing alerts from Alertmanager, `per_post` to a notification."""
    for start in range(0, count, per_post):
        alerts = [
            {
                "status": "firing",
                "labels": {
                    "alertname": "NodeDown",
                    "instance": f"node-{n}",
                    "severity": "critical",
                },
                "annotations": {"summary": f"node-{n} is down"},
                "startsAt": "2026-12-06T04:00:00Z",
            }
            for n in range(start, min(count, start + per_post))
        ]
        resp = await client.post(
            "/hooks/alertmanager",
            json={"version": "4", "status": "firing", "receiver": "chatops", "alerts": alerts},
        )
        assert resp.status == 202, await resp.text()


async def statuses(client: Client, channel_id: str) -> dict[str, int]:
    services = client.app[SERVICES]
    async with services.db.session() as session:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.channel_id == channel_id)
            .group_by(Delivery.status)
        )
        return {status: int(n) for status, n in rows.all()}


async def test_a_storm_of_1000_reaches_pagerduty_and_opsgenie_one_page_each(
    client: Client,
) -> None:
    # Paced at 50 a second, 1,000 alerts are 20 s behind: a chat channel would fold them.
    pagerduty = await FakePagerDuty(per_minute=3_600).start()
    opsgenie = await FakeOpsgenie(per_minute=3_600).start()
    try:
        pd_channel = await pager(
            client,
            "pagerduty",
            {"routing_key": VALID_KEY, "events_url": pagerduty.url},
            rate=3_000,
        )
        og_channel = await pager(
            client, "opsgenie", {"api_key": OPSGENIE_KEY, "api_url": opsgenie.url}, rate=3_000
        )
        await storm(client, 1000)

        def triggered() -> set[str]:
            return {e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"}

        await eventually(lambda: len(triggered()) == 1000, within=90, interval=0.5)
        await eventually(lambda: len(opsgenie.alerts) == 1000, within=60, interval=0.5)
        assert len(pagerduty.incidents) == 1000
        for channel_id in (pd_channel, og_channel):

            async def recorded(channel_id: str = channel_id) -> Any:
                done = await statuses(client, channel_id)
                return done if done == {"sent": 1000} else None  # nothing folded, nothing dead

            await eventually(recorded, within=5)
        # paced under the vendors' limits: a 429 now and then at most, never a lost page
        assert pagerduty.throttled < 20 and opsgenie.limited < 20
    finally:
        await pagerduty.stop()
        await opsgenie.stop()


async def test_one_storm_folds_in_slack_and_pages_every_alert(
    bot: Client, slack: FakeSlack
) -> None:
    pagerduty = await FakePagerDuty(per_minute=900).start()
    try:
        reply = await slash(bot, "subscribe min=LOW")
        assert "Subscribed" in (await reply.json())["text"]
        pd_channel = await pager(
            bot, "pagerduty", {"routing_key": VALID_KEY, "events_url": pagerduty.url}, rate=720
        )
        await storm(bot, 150)  # 12.5 s of pages at 12 a second: past folding's 10 s

        def triggered() -> set[str]:
            return {e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"}

        await eventually(lambda: len(triggered()) == 150, within=90, interval=0.5)

        async def recorded() -> bool:  # the last answers are being written down
            return await statuses(bot, pd_channel) == {"sent": 150}

        await eventually(recorded, within=5)

        def slack_shows() -> Any:
            """Alerts the channel shows: single cards, plus the count in its digest."""
            cards = slack.in_channel("C111")
            digests = [
                int(b["text"]["text"].split()[1])
                for m in cards
                for b in m.blocks
                if b["type"] == "header" and "alerts in" in b["text"]["text"]
            ]
            singles = len(cards) - len(digests)
            return cards if digests and singles + digests[-1] == 150 else None

        cards = await eventually(slack_shows, within=30, interval=0.2)
        assert len(cards) < 10  # a digest, not 150 cards
        services = bot.app[SERVICES]
        async with services.db.session() as session:
            folded = await session.scalar(
                select(func.count()).where(
                    Delivery.status == "folded", Delivery.channel_type == "slack"
                )
            )
        assert folded and folded > 110
    finally:
        await pagerduty.stop()
