"""Slack end to end: signed requests from Slack's own payload shapes, a fake Web API on loopback."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from storage.schema import ActionAudit
from tests.conftest import API_TOKEN
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, sign
from tests.helpers import eventually
from tests.scenarios.slackops import click, fixture, slash, texts

Client = TestClient  # type: ignore[type-arg]


async def subscribed_alert(bot: Client, slack: FakeSlack, **event: Any) -> str:
    reply = await slash(bot, "subscribe min=LOW")
    assert reply.status == 200
    assert "Subscribed" in (await reply.json())["text"]
    resp = await bot.post(
        "/api/v1/events", json={"title": "db-1 down", "priority": "CRITICAL", **event}
    )
    alert_id = str((await resp.json())["id"])
    await eventually(lambda: slack.in_channel("C111"))
    return alert_id


async def test_an_alert_becomes_a_card_and_a_click_updates_it_within_a_second(
    bot: Client, slack: FakeSlack
) -> None:
    alert_id = await subscribed_alert(bot, slack)
    card = slack.in_channel("C111")[0]
    assert "🔴 db-1 down" in texts(card.blocks)
    assert card.text.startswith("[CRITICAL] db-1 down")
    started = time.monotonic()
    resp = await click(bot, "acknowledge", alert_id)
    assert resp.status == 200
    await eventually(lambda: "Acknowledged by u222" in texts(card.blocks), within=5, interval=0.02)
    assert time.monotonic() - started < 1.0
    assert '"action_id": "acknowledge"' not in texts(card.blocks)
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["audit"][0]["actor"] == "slack:U222" and detail["audit"][0]["platform"] == "slack"


async def test_two_clicks_at_once_one_acknowledgement_one_polite_reply(
    bot: Client, slack: FakeSlack
) -> None:
    alert_id = await subscribed_alert(bot, slack)
    first, second = await asyncio.gather(
        click(bot, "acknowledge", alert_id, user="U222"),
        click(bot, "acknowledge", alert_id, user="U333"),
    )
    assert first.status == second.status == 200
    await eventually(lambda: slack.ephemeral)
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    winner = detail["acknowledged_by"]
    assert winner in ("u222", "u333")
    assert [a["outcome"] for a in detail["audit"]].count("applied") == 1
    loser = "U333" if winner == "u222" else "U222"
    assert [(e["channel"], e["user"], e["text"]) for e in slack.ephemeral] == [
        ("C111", loser, f"Already acknowledged by {winner}.")
    ]


async def test_forged_or_replayed_requests_get_401_and_change_nothing(
    bot: Client, slack: FakeSlack
) -> None:
    alert_id = await subscribed_alert(bot, slack)
    forged = sign("something else")
    assert (await click(bot, "acknowledge", alert_id, headers=forged)).status == 401
    body_time = int(time.time()) - 6 * 60
    payload_body = "payload=%7B%7D"
    assert (
        await bot.post(
            "/slack/events",
            data=payload_body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **sign(payload_body, timestamp=body_time),
            },
        )
    ).status == 401
    assert (await slash(bot, "subscribe", headers={"X-Slack-Signature": "v0=00"})).status == 401
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["state"] == "triggered" and detail["audit"] == []


async def test_a_click_on_another_tenants_alert_is_refused(bot: Client, slack: FakeSlack) -> None:
    await subscribed_alert(bot, slack)
    other = await bot.post("/api/v1/events", json={"title": "theirs", "tenant": "other"})
    other_id = (await other.json())["id"]
    assert (await click(bot, "acknowledge", other_id)).status == 200
    await eventually(lambda: slack.ephemeral)
    assert slack.ephemeral[0]["text"] == f"No alert '{other_id}' here."
    detail = await (await bot.get(f"/api/v1/events/{other_id}")).json()
    assert detail["state"] == "triggered" and detail["audit"] == []
    # A user of a workspace the bot does not serve is refused too.
    assert (await click(bot, "acknowledge", other_id, team="T999")).status == 200
    await eventually(lambda: len(slack.ephemeral) == 2)
    assert slack.ephemeral[1]["text"] == "This workspace is not connected to ChatOps."


async def test_only_admins_remove_integrations_and_removal_is_audited(
    bot: Client, slack: FakeSlack
) -> None:
    await bot.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "old-hook", "settings": {"url": "https://example.com/h"}},
    )
    refused = await (await slash(bot, "integrations remove old-hook", user="U222")).json()
    assert refused["text"].startswith("Sorry, only admins can change that.")
    names = [i["name"] for i in (await (await bot.get("/api/v1/integrations")).json())["data"]]
    assert "old-hook" in names
    done = await (await slash(bot, "integrations remove old-hook", user="W111")).json()
    assert done["text"] == "old-hook removed, with its channels."
    names = [i["name"] for i in (await (await bot.get("/api/v1/integrations")).json())["data"]]
    assert "old-hook" not in names
    services = bot.app[SERVICES]
    async with services.db.session() as session:
        audit = (await session.scalars(select(ActionAudit))).all()
    assert [(a.verb, a.actor, a.data["integration"]) for a in audit] == [
        ("integration.token", "CHATOPS_SLACK_BOT_TOKEN", "Slack"),  # the token kept at start
        ("integration.create", "operator", "old-hook"),
        ("integration.remove", "slack:W111", "old-hook"),
    ]  # the refused attempt changed nothing and left no row


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "*ChatOps commands*"),
        (
            "help",
            "`subscribe [<event-glob>] [min=<PRIORITY>] [default] [actions=<verb>,<verb>] "
            '[<label>="<value>"...] [policy=<escalation policy>] [group_by=<label>,<label>]`',
        ),
        ("stauts", "Unknown command `stauts`. Did you mean `status`?"),
        ("integratons list", "Did you mean `integrations`?"),
        ("status", "Open alerts: none."),
        ("subscribe min=LOUD", "`LOUD` is not a priority"),
        ("prefs", "Integration events: connection_issues on"),
        ("ack", "Give the alert id."),
    ],
)
async def test_commands_answer_privately(bot: Client, text: str, expected: str) -> None:
    resp = await slash(bot, text)
    assert resp.status == 200
    assert expected in (await resp.json())["text"]


async def test_a_storm_never_meets_a_429_and_every_alert_is_visible(
    bot: Client, slack: FakeSlack
) -> None:
    reply = await slash(bot, "subscribe")
    assert "Subscribed" in (await reply.json())["text"]
    sem = asyncio.Semaphore(20)

    async def send(i: int) -> None:
        async with sem:
            resp = await bot.post("/api/v1/events", json={"title": f"storm {i}", "priority": "LOW"})
            assert resp.status == 202

    started = time.monotonic()
    await asyncio.gather(*(send(i) for i in range(500)))
    assert time.monotonic() - started < 10

    def visible() -> int:
        cards = slack.in_channel("C111")
        singles = sum(1 for m in cards if "📚" not in m.text)
        digests = [
            int(re.match(r"📚 (\d+) alerts", m.text).group(1))  # type: ignore[union-attr]
            for m in cards
            if m.text.startswith("📚")
        ]
        return singles + sum(digests)

    await eventually(lambda: visible() == 500, within=60, interval=0.2)
    assert slack.rate_limited == []


@pytest.mark.parametrize("count", [100, 1000])
async def test_a_storm_in_one_webhook_is_one_digest_and_no_trickle(
    bot: Client, slack: FakeSlack, count: int
) -> None:
    """Alertmanager sends a storm in one webhook: the channel gets what its rate allows at
    once and one digest counting the rest, not a card every second for minutes."""
    reply = await slash(bot, "subscribe")
    assert "Subscribed" in (await reply.json())["text"]
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "Disk", "host": f"h{i}"},
            "fingerprint": f"f{i}",
        }
        for i in range(count)
    ]
    before = len(slack.calls)
    resp = await bot.post("/hooks/alertmanager", json={"status": "firing", "alerts": alerts})
    assert resp.status == 202

    def visible() -> int:
        shown = 0
        for message in slack.in_channel("C111"):
            counted = re.match(r"📚 (\d+) alerts", message.text)
            shown += int(counted.group(1)) if counted else 1
        return shown

    await eventually(lambda: visible() == count, within=30, interval=0.1)
    posts = [m for m, _ in slack.calls[before:] if m == "chat.postMessage"]
    assert len(posts) <= 3, posts  # the rate's worth of cards, then one digest
    assert slack.rate_limited == []
    listed = await (await bot.get("/api/v1/events?limit=500")).json()
    assert listed["total"] == count  # every folded alert is still an alert of its own


async def test_a_revoked_token_disconnects_the_integration_and_tells_the_admins(
    bot: Client, slack: FakeSlack
) -> None:
    from tests.fakes.sink import Sink
    from tests.helpers import webhook_route

    admins = await Sink(secret="s3cret").start()
    try:
        await webhook_route(bot, admins.url, name="admins", event_glob="delivery.*")
        reply = await slash(bot, "subscribe app.*")
        assert "Subscribed" in (await reply.json())["text"]
        slack.revoked = True
        await bot.post("/api/v1/events", json={"title": "x", "event_type": "app.x"})
        await eventually(lambda: admins.accepted(), within=15)
        notice = admins.accepted()[0].body["alert"]
        assert notice["event_type"] == "delivery.dead_letter"
        assert "token_revoked" in notice["body"] and "revoked" in notice["body"]
        slack_integration = next(
            i
            for i in (await (await bot.get("/api/v1/integrations")).json())["data"]
            if i["type"] == "slack"
        )
        assert slack_integration["connection_status"] == "disconnected"
        assert "token_revoked" in slack_integration["connection_error"]
    finally:
        await admins.stop()


@pytest.mark.parametrize(
    "problem,expected",
    [
        ({"archived": True, "member": True}, "is_archived"),
        ({"archived": False, "member": False}, "not_in_channel (the bot is not a member"),
    ],
)
async def test_channel_problems_are_clear_delivery_errors(
    bot: Client, slack: FakeSlack, problem: dict[str, bool], expected: str
) -> None:
    reply = await slash(bot, "subscribe")
    assert "Subscribed" in (await reply.json())["text"]
    slack.channels["C111"] = problem
    resp = await bot.post("/api/v1/events", json={"title": "x"})
    alert_id = (await resp.json())["id"]

    async def dead() -> Any:
        detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
        return (
            detail["deliveries"]
            if detail["deliveries"] and detail["deliveries"][0]["status"] == "dead"
            else None
        )

    deliveries = await eventually(dead, within=10)
    assert expected in deliveries[0]["error_message"]


async def submit_view(bot: Client, kind: str, values: dict[str, str], user: str = "W111") -> Any:
    payload = copy.deepcopy(fixture("view_submission.bolt_test.json"))
    payload["user"] = {
        "id": user,
        "username": user.lower(),
        "name": user.lower(),
        "team_id": TEAM_ID,
    }
    payload["view"]["callback_id"] = "integration_add"
    payload["view"]["private_metadata"] = kind
    payload["view"]["state"] = {
        "values": {
            name: {"value": {"type": "plain_text_input", "value": value}}
            for name, value in values.items()
        }
    }
    body = urlencode({"payload": json.dumps(payload)})
    return await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )


async def test_integrations_add_opens_a_modal_validated_on_submit(
    bot: Client, slack: FakeSlack
) -> None:
    reply = await (await slash(bot, "integrations add pagerduty")).json()
    assert reply["text"] == "Opening the form to add a PagerDuty integration…"
    modal = slack.views[0]
    assert modal["callback_id"] == "integration_add" and modal["private_metadata"] == "pagerduty"
    assert [b["block_id"] for b in modal["blocks"]] == [
        "name",
        "routing_key",
        "events_url",
        "default_severity",
        "api_key",
        "api_url",
        "webhook_secret",
    ]
    assert all("initial_value" not in b["element"] for b in modal["blocks"])
    bad = await submit_view(
        bot,
        "pagerduty",
        {"name": "PD", "routing_key": "", "events_url": "", "default_severity": ""},
    )
    assert (await bad.json()) == {
        "response_action": "errors",
        "errors": {"routing_key": "required (Integration key (Events API v2))"},
    }
    assert (await (await bot.get("/api/v1/integrations")).json())["data"][0]["name"] == "Slack"
    good = await submit_view(
        bot,
        "pagerduty",
        {"name": "PD", "routing_key": "rk-1", "events_url": "", "default_severity": ""},
    )
    assert good.status == 200 and (await good.text()) == ""
    names = [i["name"] for i in (await (await bot.get("/api/v1/integrations")).json())["data"]]
    assert "PD" in names
    refused = await submit_view(bot, "pagerduty", {"name": "PD2", "routing_key": "x"}, user="U222")
    assert (await refused.json())["errors"] == {
        "name": "Only admins of this workspace can add integrations."
    }


async def open_home(bot: Client, user: str = "U222") -> Any:
    envelope = fixture("event_callback_app_mention.bolt_test.json")
    envelope["team_id"] = TEAM_ID
    envelope["event"] = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D111",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    body = json.dumps(envelope)
    return await bot.post(
        "/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body)}
    )


async def test_the_home_tab_lists_open_alerts_most_severe_first_with_buttons(
    bot: Client, slack: FakeSlack
) -> None:
    from tests.cards.checks import blockkit_problems

    for title, priority in [("low one", "LOW"), ("critical one", "CRITICAL"), ("high one", "HIGH")]:
        await bot.post("/api/v1/events", json={"title": title, "priority": priority})
    closed = await bot.post("/api/v1/events", json={"title": "closed one", "priority": "CRITICAL"})
    await bot.post(f"/api/v1/events/{(await closed.json())['id']}/resolve", json={"actor": "x"})
    assert (await open_home(bot)).status == 200
    await eventually(lambda: "U222" in slack.home)
    view = slack.home["U222"]
    assert blockkit_problems(view) == []
    sections = [b["text"]["text"].split("\n")[0] for b in view["blocks"] if b["type"] == "section"]
    assert sections == ["🔴 critical one", "🟠 high one", "🔵 low one"]
    buttons = [
        e["action_id"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "value" in e
    ]
    assert buttons.count("acknowledge") == 3


async def test_refires_and_state_changes_go_as_thread_replies(
    bot: Client, slack: FakeSlack
) -> None:
    alert_id = await subscribed_alert(bot, slack, dedup_key="db-1")
    card = slack.in_channel("C111")[0]
    await asyncio.sleep(1.1)  # Slack's one message a second per channel
    await bot.post(
        "/api/v1/events", json={"title": "db-1 down", "priority": "CRITICAL", "dedup_key": "db-1"}
    )
    await eventually(lambda: [m for m in slack.messages if m.thread_ts == card.ts])
    replies = [m.text for m in slack.messages if m.thread_ts == card.ts]
    assert replies == ["🔁 Fired again (2 times in all)"]
    assert "Occurrences\\n2" in json.dumps(card.blocks, ensure_ascii=False)
    assert len(slack.in_channel("C111")) == 1  # no second card in the channel
    await asyncio.sleep(1.1)
    await click(bot, "acknowledge", alert_id)
    await eventually(lambda: len([m for m in slack.messages if m.thread_ts == card.ts]) == 2)
    assert [m.text for m in slack.messages if m.thread_ts == card.ts][
        -1
    ] == "👀 Acknowledged by u222"


async def test_socket_mode_takes_clicks_and_commands_without_a_public_url(
    settings: Settings, slack: FakeSlack
) -> None:
    from tests.fakes.slack import APP_TOKEN

    configured = settings.model_copy(
        update={
            "slack_app_token": SecretStr(APP_TOKEN),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
            "admins": "slack:W111",
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as bot:
        bot.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        assert (await bot.post("/slack/events", data="x")).status == 404  # no HTTP endpoint
        await eventually(lambda: slack.sockets)
        command = fixture("slash_command.bolt_test.parsed.json")
        command.update(
            command="/chatops",
            text="subscribe",
            user_id="W111",
            team_id=TEAM_ID,
            channel_id="C111",
            channel_name="ops",
        )
        await slack.push(
            {
                "envelope_id": "e1",
                "type": "slash_commands",
                "payload": command,
                "accepts_response_payload": True,
            }
        )
        await eventually(lambda: slack.socket_acks)
        assert slack.socket_acks[0]["envelope_id"] == "e1"
        assert "Subscribed" in slack.socket_acks[0]["payload"]["text"]
        resp = await bot.post(
            "/api/v1/events", json={"title": "over the socket", "priority": "HIGH"}
        )
        alert_id = (await resp.json())["id"]
        await eventually(lambda: slack.in_channel("C111"))
        payload = copy.deepcopy(fixture("block_actions.bolt_test.json"))
        payload["user"] = {"id": "U222", "username": "u222", "name": "u222", "team_id": TEAM_ID}
        payload["team"]["id"] = TEAM_ID
        payload["channel"] = {"id": "C111", "name": "ops"}
        payload["actions"][0].update(action_id="acknowledge", value=alert_id)
        await slack.push(
            {
                "envelope_id": "e2",
                "type": "interactive",
                "payload": payload,
                "accepts_response_payload": False,
            }
        )
        card = slack.in_channel("C111")[0]
        await eventually(
            lambda: "Acknowledged by u222" in json.dumps(card.blocks, ensure_ascii=False)
        )
        assert any(a["envelope_id"] == "e2" for a in slack.socket_acks)


async def test_oauth_install_makes_a_tenant_per_workspace(
    settings: Settings, slack: FakeSlack
) -> None:
    from tests.fakes.slack import CLIENT_ID, CLIENT_SECRET, INSTALLED_TEAM, INSTALLED_TOKEN

    configured = settings.model_copy(
        update={
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_client_id": CLIENT_ID,
            "slack_client_secret": SecretStr(CLIENT_SECRET),
            "slack_api_url": slack.url,
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as bot:
        bot.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        page = await bot.get("/slack/install")
        assert page.status == 200
        state = re.search(r"state=([^&\"']+)", await page.text()).group(1)  # type: ignore[union-attr]
        forged = await bot.get(
            "/slack/oauth_redirect", params={"code": "good-code", "state": "x.y.z"}
        )
        assert forged.status >= 400
        assert slack.installed == {}
        # The state cookie is Secure (https only); a browser on https would send it back.
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
        done = await bot.get(
            "/slack/oauth_redirect",
            params={"code": "good-code", "state": state},
            headers={"Cookie": cookie},
        )
        assert done.status == 200, await done.text()
        integrations = (await (await bot.get("/api/v1/integrations")).json())["data"]
        slack_rows = [i for i in integrations if i["type"] == "slack"]
        assert slack_rows and slack_rows[0]["settings"]["bot_token"] == "********"
        assert INSTALLED_TOKEN not in json.dumps(integrations)
        reply = await slash(bot, "subscribe", team=INSTALLED_TEAM, user="W111")
        assert "Subscribed" in (await reply.json())["text"]
        await bot.post("/api/v1/events", json={"title": "for the second workspace"})
        await eventually(lambda: slack.in_channel("C111"))
        assert INSTALLED_TOKEN in slack.tokens_used
        stranger = await slash(bot, "status", team="T333", response_url=f"{slack.url[:-4]}hooks/x")
        assert stranger.status == 200
        await eventually(lambda: slack.responses)
        assert slack.responses[0]["text"].startswith("This workspace is not connected to ChatOps.")


async def test_connection_test_uses_auth_test_and_reports_the_workspace(
    bot: Client, slack: FakeSlack
) -> None:
    await slash(bot, "status")  # the bot token's integration exists from start-up
    integrations = (await (await bot.get("/api/v1/integrations")).json())["data"]
    slack_id = next(i["id"] for i in integrations if i["type"] == "slack")
    passed = (await (await bot.post(f"/api/v1/integrations/{slack_id}/test")).json())["data"]
    assert passed == {"success": True, "detail": "connected to Test Workspace as chatops"}
    slack.revoked = True
    failed = (await (await bot.post(f"/api/v1/integrations/{slack_id}/test")).json())["data"]
    assert failed["success"] is False
    assert (
        failed["error"]
        == "slack: token_revoked (the bot token was revoked (the app was uninstalled?))"
    )
