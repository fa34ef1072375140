"""Syncs that fail and recover, told to the admins' Slack channel; credentials that lapse.

PagerDuty is a fake on loopback (Events API v2 and the REST API), failing on cue; the
sync engine runs on a clock the test moves.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from storage.schema import utcnow
from tests.fakes.pagerduty import VALID_API_KEY, VALID_KEY, FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import click, slash

Client = TestClient  # type: ignore[type-arg]
ADMINS = "C222"


async def paged_alert(bot: Client, slack: FakeSlack, pd: FakePagerDuty) -> dict[str, Any]:
    """Admins hear integration events in C222; service alerts go to PagerDuty."""
    slack.channels[ADMINS] = {"member": True, "archived": False}
    reply = await slash(bot, "subscribe integration.* min=INFO", channel=ADMINS)
    assert "Subscribed" in (await reply.json())["text"]
    settings = {
        "routing_key": VALID_KEY,
        "events_url": pd.url,
        "api_key": VALID_API_KEY,
        "api_url": pd.api_url,
    }
    resp = await bot.post(
        "/api/v1/integrations",
        json={"type": "pagerduty", "name": "PagerDuty - Ops", "settings": settings},
    )
    assert resp.status == 201, await resp.text()
    integration = (await resp.json())["data"]
    channel = await bot.post(
        "/api/v1/channels", json={"name": "pd", "integration": integration["id"]}
    )
    channel_id = (await channel.json())["data"]["id"]
    await bot.post("/api/v1/routes", json={"channel": channel_id, "event_glob": "service.*"})
    event = await bot.post(
        "/api/v1/events",
        json={"title": "checkout is down", "event_type": "service.down", "priority": "CRITICAL"},
    )
    alert_id = (await event.json())["id"]
    await eventually(lambda: pd.incidents)
    return {"integration": integration, "alert_id": alert_id, "key": next(iter(pd.incidents))}


def admin_cards(slack: FakeSlack) -> list[Any]:
    return slack.in_channel(ADMINS)


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] != "open_link"
    ]


async def test_three_failed_syncs_one_error_card_retry_reruns_and_recovery_is_told(
    bot: Client, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    services = bot.app[SERVICES]
    setup = await paged_alert(bot, slack, pagerduty)
    integration_id = setup["integration"]["id"]
    now = utcnow()
    services.sync.clock = lambda: now
    pagerduty.fail_rest = 3
    for attempt in (1, 2):
        outcome = await services.sync.run(integration_id)
        assert (outcome.status, outcome.attempt) == ("failed", attempt)
        now += timedelta(minutes=1)
    assert admin_cards(slack) == []  # two failures: nobody is bothered yet
    third = await services.sync.run(integration_id)
    assert (third.status, third.attempt) == ("failed", 3)
    card = (await eventually(lambda: admin_cards(slack)))[0]
    assert "Integration Sync Task Failed" in json.dumps(card.blocks)
    assert "failed after 3 attempts" in json.dumps(card.blocks)
    assert buttons(card.blocks) == ["retry", "discard", "note"]
    assert card.text.startswith("[HIGH]")
    doc = await (await bot.get(f"/api/v1/integrations/{integration_id}")).json()
    assert doc["data"]["connection_status"] == "error"

    # Someone acknowledges the incident in PagerDuty; then an admin clicks Retry.
    pagerduty.acknowledge_in_pagerduty(setup["key"], "Dana Scully")
    listed = await (await bot.get("/api/v1/events?type=integration.sync.failed")).json()
    notice_id = listed["events"][0]["id"]
    now += timedelta(minutes=1)
    assert (await click(bot, "retry", notice_id, user="W111")).status == 200
    await eventually(lambda: "Dana Scully" in str(card.blocks) or card.updates > 0)
    await services.actions.settle()

    history = await (await bot.get(f"/api/v1/integrations/{integration_id}/logs")).json()
    runs = history["data"]["syncs"]
    assert [r["status"] for r in runs] == ["success", "failed", "failed", "failed"]
    assert runs[0]["records_updated"] == 1
    alert = await (await bot.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "acknowledged"
    assert alert["acknowledged_by"] == "Dana Scully (in PagerDuty)"
    notice = await (await bot.get(f"/api/v1/events/{notice_id}")).json()
    assert notice["state"] == "resolved"
    await eventually(lambda: buttons(card.blocks) == [])  # the error card closes
    doc = await (await bot.get(f"/api/v1/integrations/{integration_id}")).json()
    assert doc["data"]["connection_status"] == "connected"
    recovery = await eventually(lambda: admin_cards(slack)[1:])
    assert "Integration Connection Status Changed" in json.dumps(recovery[0].blocks)
    assert 'from \\"error\\" to \\"connected\\"' in json.dumps(recovery[0].blocks)


async def test_repeated_failures_become_an_alert_and_recovery_respects_preferences(
    bot: Client, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    services = bot.app[SERVICES]
    setup = await paged_alert(bot, slack, pagerduty)
    integration_id = setup["integration"]["id"]
    reply = await slash(bot, "prefs connection off", channel=ADMINS)
    assert "off" in (await reply.json())["text"]
    now = utcnow()
    services.sync.clock = lambda: now
    pagerduty.fail_rest = 6
    for _ in range(6):
        await services.sync.run(integration_id)
        now += timedelta(minutes=1)
    await eventually(
        lambda: (
            admin_cards(slack) and "Integration Sync Failure" in str(admin_cards(slack)[0].blocks)
        )
    )
    assert len(admin_cards(slack)) == 1  # one card, updated in place
    listed = await (await bot.get("/api/v1/events?type=integration.sync.failed")).json()
    assert listed["events"][0]["priority"] == "CRITICAL"
    assert listed["events"][0]["occurrences"] == 4  # the 3rd, 4th, 5th and 6th failures
    ok = await services.sync.run(integration_id)
    assert ok.status == "success"
    doc = await (await bot.get(f"/api/v1/integrations/{integration_id}")).json()
    assert doc["data"]["connection_status"] == "connected"
    await eventually(lambda: buttons(admin_cards(slack)[0].blocks) == [])
    assert len(admin_cards(slack)) == 1  # connection notices are off: no recovery card


async def test_lapsed_credentials_tell_the_admins_and_mark_the_connection_expired(
    bot: Client, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    services = bot.app[SERVICES]
    setup = await paged_alert(bot, slack, pagerduty)
    integration_id = setup["integration"]["id"]
    expires = (utcnow() + timedelta(days=3)).isoformat()
    resp = await bot.patch(
        f"/api/v1/integrations/{integration_id}", json={"credentials_expire_at": expires}
    )
    assert resp.status == 200, await resp.text()
    services.checks.clock = lambda: utcnow() + timedelta(days=2)
    assert await services.checks.check_credentials() == 0
    services.checks.clock = lambda: utcnow() + timedelta(days=4)
    assert await services.checks.check_credentials() == 1
    assert await services.checks.check_credentials() == 0  # told once
    card = (await eventually(lambda: admin_cards(slack)))[0]
    text = json.dumps(card.blocks)
    assert "Integration Credentials Expired" in text
    assert f"/integrations/{integration_id}/credentials" in text
    doc = await (await bot.get(f"/api/v1/integrations/{integration_id}")).json()
    assert doc["data"]["connection_status"] == "expired"


async def test_admins_sync_from_chat_and_see_the_history(
    bot: Client, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    await paged_alert(bot, slack, pagerduty)
    refused = await (await slash(bot, "integrations sync PagerDuty - Ops", user="U222")).json()
    assert refused["text"].startswith("Sorry, only admins can change that.")
    reply = await (await slash(bot, "integrations sync PagerDuty - Ops")).json()
    assert reply["text"] == "✅ PagerDuty - Ops: synced: 1 records, 0 alerts updated, 0 failed"
    chat = await (await slash(bot, "integrations sync Slack")).json()
    assert chat["text"] == "Slack is a slack integration; those do not sync."
    missing = await (await slash(bot, "integrations sync nothing-like-it")).json()
    assert missing["text"].startswith("no integration 'nothing-like-it'")
    shown = await (await slash(bot, "integrations show PagerDuty - Ops", user="U222")).json()
    assert "connection connected" in shown["text"]
    assert "full sync success: 1 read, 0 updated, 0 failed" in shown["text"]
    assert "api_key=********" in shown["text"] and "y_NbAkKc" not in shown["text"]


async def test_discard_closes_a_failed_job_card_without_rerunning_it(
    bot: Client, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    services = bot.app[SERVICES]
    setup = await paged_alert(bot, slack, pagerduty)
    integration_id = setup["integration"]["id"]
    now = utcnow()
    services.sync.clock = lambda: now
    pagerduty.fail_rest = 3
    for _ in range(3):
        await services.sync.run(integration_id)
        now += timedelta(minutes=1)
    card = (await eventually(lambda: admin_cards(slack)))[0]
    assert buttons(card.blocks) == ["retry", "discard", "note"]
    listed = await (await bot.get("/api/v1/events?type=integration.sync.failed")).json()
    notice_id = listed["events"][0]["id"]
    runs_before = len(
        (await (await bot.get(f"/api/v1/integrations/{integration_id}/logs")).json())["data"][
            "syncs"
        ]
    )
    assert (await click(bot, "discard", notice_id, user="W111")).status == 200
    await eventually(lambda: buttons(card.blocks) == [])  # closed: no Retry any more
    assert "Resolved by" in json.dumps(card.blocks, ensure_ascii=False)
    replies = await eventually(
        lambda: (
            [m for m in slack.messages if m.thread_ts == card.ts and "Discarded by" in m.text]
            or [
                m
                for m in slack.messages
                if m.thread_ts == card.ts
                and "Discarded by" in json.dumps(m.blocks, ensure_ascii=False)
            ]
        )
    )
    assert replies  # the thread says it was discarded, and by whom
    notice = await (await bot.get(f"/api/v1/events/{notice_id}")).json()
    assert notice["state"] == "resolved"
    assert [a["verb"] for a in notice["audit"] if a["verb"] == "discard"] == ["discard"]
    await services.actions.settle()
    after = (await (await bot.get(f"/api/v1/integrations/{integration_id}/logs")).json())["data"]
    assert len(after["syncs"]) == runs_before  # discarding does not run the job again
