"""Teams end to end: activities shaped like Microsoft's samples, a fake connector on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.core.report_charts import signed_url
from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from tests.cards.checks import adaptive_problems
from tests.conftest import API_TOKEN
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import FakeSlack
from tests.fixtures import FIXTURES as FIXTURE_ROOT
from tests.helpers import eventually

FIXTURES = FIXTURE_ROOT / "teams"
CHANNEL = "19:693ecdb923ac4458a5c23661b505fc84@thread.skype"
ADMIN_AAD = "7faf8ab2-3d56-4244-b585-20c8a42ed2b8"
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def admins() -> str:
    return f"teams:{ADMIN_AAD},slack:W111"


def activity(connector: FakeConnector, **changes: Any) -> dict[str, Any]:
    base = json.loads((FIXTURES / "message_activity.personal.msteams_docs.json").read_text())
    base["serviceUrl"] = connector.url
    base["conversation"] = {"conversationType": "channel", "id": CHANNEL, "name": "Ops"}
    base["channelData"] = json.loads(
        (FIXTURES / "channel_data.channel_created.msteams_docs.json").read_text()
    )["channelData"]
    base["id"] = uuid.uuid4().hex  # Teams never sends one id twice; a repeat is a replay
    base.update(changes)
    return base


async def send(bot: Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return await bot.post(
        "/api/messages", json=body, headers={"Authorization": "", **(headers or {})}
    )


async def install(bot: Client, connector: FakeConnector) -> None:
    update = activity(connector, type="conversationUpdate", text=None)
    update["membersAdded"] = [update["recipient"]]
    assert (await send(bot, update)).status in (200, 201)


async def say(bot: Client, connector: FakeConnector, text: str, aad: str = ADMIN_AAD) -> str:
    before = len(connector.posted)
    message = activity(connector, text=f"<at>ChatOps</at> {text}")
    message["from"] = {**message["from"], "aadObjectId": aad}
    assert (await send(bot, message)).status in (200, 201)
    await eventually(lambda: len(connector.posted) > before)
    return str(connector.posted[-1][1]["attachments"][0]["content"]["body"][0]["text"])


def action(
    connector: FakeConnector, verb: str, alert_id: str, aad: str, name: str
) -> dict[str, Any]:
    envelope = json.loads(
        (FIXTURES / "adaptive_card_action_invoke.full_envelope.COMPOSED.json").read_text()
    )
    envelope.pop("_composed_note", None)
    envelope["serviceUrl"] = connector.url
    envelope["conversation"] = {"conversationType": "channel", "id": CHANNEL}
    envelope["from"] = {"id": f"29:{aad}", "name": name, "aadObjectId": aad}
    envelope["value"]["action"].update(verb=verb, data={"alert_id": alert_id})
    envelope["id"] = uuid.uuid4().hex
    return envelope


async def test_install_subscribe_alert_acknowledge_everywhere(
    bot: Client, connector: FakeConnector, slack: FakeSlack
) -> None:
    from tests.scenarios.test_slack import slash

    await install(bot, connector)
    assert "Subscribed" in await say(bot, connector, "subscribe min=HIGH")
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    resp = await bot.post(
        "/api/v1/events", json={"title": "API 5xx above 2%", "priority": "CRITICAL"}
    )
    alert_id = (await resp.json())["id"]
    await eventually(lambda: connector.cards(CHANNEL) and slack.in_channel("C111"))
    card = connector.cards(CHANNEL)[-1]
    assert adaptive_problems(card) == []
    assert "API 5xx above 2%" in json.dumps(card, ensure_ascii=False)

    resp = await send(bot, action(connector, "acknowledge", alert_id, "aad-1", "Megan Bowen"))
    assert resp.status == 200
    body = await resp.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Acknowledged by Megan Bowen" in json.dumps(body["value"])
    assert adaptive_problems(body["value"]) == []
    await eventually(lambda: connector.updates)
    assert "Acknowledged by Megan Bowen" in json.dumps(connector.cards(CHANNEL)[-1])
    slack_card = slack.in_channel("C111")[0]
    await eventually(
        lambda: "Acknowledged by Megan Bowen" in json.dumps(slack_card.blocks, ensure_ascii=False)
    )

    again = await (
        await send(bot, action(connector, "acknowledge", alert_id, "aad-2", "Lee"))
    ).json()
    assert again == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Already acknowledged by Megan Bowen.",
    }


async def test_bad_invokes_get_error_responses(bot: Client, connector: FakeConnector) -> None:
    await install(bot, connector)
    unknown = await (await send(bot, action(connector, "teleport", "x", "aad-1", "M"))).json()
    assert unknown["statusCode"] == 400 and unknown["type"] == "application/vnd.microsoft.error"
    no_minutes = await (await send(bot, action(connector, "snooze", "x", "aad-1", "M"))).json()
    assert no_minutes["statusCode"] == 400 and "minutes" in no_minutes["value"]["message"]
    missing = await (await send(bot, action(connector, "acknowledge", "nope", "aad-1", "M"))).json()
    assert missing["statusCode"] == 404
    other = await bot.post("/api/v1/events", json={"title": "theirs", "tenant": "elsewhere"})
    other_id = (await other.json())["id"]
    refused = await (
        await send(bot, action(connector, "acknowledge", other_id, "aad-1", "M"))
    ).json()
    assert refused["statusCode"] == 404
    detail = await (await bot.get(f"/api/v1/events/{other_id}")).json()
    assert detail["state"] == "triggered"


async def test_a_non_admin_cannot_change_things(bot: Client, connector: FakeConnector) -> None:
    await install(bot, connector)
    reply = await say(bot, connector, "subscribe", aad="someone-else")
    assert reply.startswith("Sorry, only admins can change that.")
    routes = await (await bot.get("/api/v1/routes")).json()
    assert routes["data"] == []
    assert "Did you mean `status`" in await say(bot, connector, "staus", aad="someone-else")


async def test_removing_the_bot_stops_delivery_there(bot: Client, connector: FakeConnector) -> None:
    await install(bot, connector)
    assert "Subscribed" in await say(bot, connector, "subscribe")
    removal = activity(connector, type="conversationUpdate", text=None)
    removal["membersRemoved"] = [removal["recipient"]]
    await send(bot, removal)
    posted = len(connector.posted)
    await bot.post("/api/v1/events", json={"title": "after removal"})
    channels = await (await bot.get("/api/v1/channels")).json()
    assert [c["is_active"] for c in channels["data"] if c["type"] == "teams"] == [False]
    assert len(connector.posted) == posted


async def test_with_an_app_id_an_unauthenticated_activity_gets_401(
    settings: Settings, connector: FakeConnector
) -> None:
    configured = settings.model_copy(
        update={
            "teams_app_id": "00000000-0000-0000-0000-000000000001",
            "teams_app_password": SecretStr("pw"),
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        update = activity(connector, type="conversationUpdate", text=None)
        update["membersAdded"] = [update["recipient"]]
        resp = await client.post("/api/messages", json=update)
        assert resp.status == 401
        forged = await client.post(
            "/api/messages", json=update, headers={"Authorization": "Bearer not.a.jwt"}
        )
        assert forged.status == 401
        channels = await (await client.get("/api/v1/channels")).json()
        assert channels["data"] == []


async def test_a_workflows_webhook_receives_the_card_in_a_message_envelope(bot: Client) -> None:
    from collections import deque

    from tests.fakes.sink import Sink

    hook = await Sink(secret="hmac-secret").start()
    hook.script = deque([(429, {"Retry-After": "1"}, '{"error": "throttled"}')])
    try:
        resp = await bot.post(
            "/api/v1/integrations",
            json={
                "type": "teams",
                "name": "sre-workflow",
                "settings": {"webhook_url": hook.url, "webhook_secret": "hmac-secret"},
            },
        )
        assert resp.status == 201
        assert (await resp.json())["data"]["settings"] == {
            "webhook_secret": "********",
            "webhook_url": f"http://127.0.0.1:{hook.server.port}/…/****",  # host only
        }
        await bot.post("/api/v1/channels", json={"name": "sre", "integration": "sre-workflow"})
        await bot.post("/api/v1/routes", json={"channel": "sre", "stakeholders": ["SRE"]})
        await bot.post(
            "/api/v1/events",
            json={
                "title": "Vault sealed",
                "priority": "CRITICAL",
                "event_type": "security.vault.sealed",
                "stakeholders": ["SRE"],
            },
        )
        await eventually(lambda: hook.accepted(), within=10)
        assert [r.status for r in hook.received] == [429, 200]
        message = hook.accepted()[0].body
        assert message["type"] == "message"
        card = message["attachments"][0]["content"]
        assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert adaptive_problems(card) == []
        assert "Vault sealed" in json.dumps(card) and "Security event" in json.dumps(card)
        assert hook.accepted()[0].signature_ok is True
        # send-only: no bot receives a click there, so the card offers links, never verbs
        assert "Action.Execute" not in json.dumps(card) and "Action.ShowCard" not in json.dumps(
            card
        )
        listed = await (await bot.get("/api/v1/events?limit=1")).json()
        alert_id = listed["events"][0]["id"]
        acked = await bot.post(f"/api/v1/events/{alert_id}/acknowledge", json={"actor": "Dana"})
        assert acked.status == 200
        await eventually(lambda: len(hook.accepted()) == 2, within=10)
        line = hook.accepted()[1].body["attachments"][0]["content"]
        texts = [i["text"] for b in line["body"] for i in b["inlines"]]
        assert texts == ["🔴 Vault sealed: 👀 Acknowledged by Dana"]
        # the scheduled health check never posts into the channel
        services = bot.app[SERVICES]
        integration = (await (await bot.get("/api/v1/integrations/sre-workflow")).json())["data"]
        assert await services.checks.check_health(integration["id"]) is True
        await asyncio.sleep(0.5)
        assert len(hook.received) == 3  # the 429, the card, the line: nothing more
    finally:
        await hook.stop()


async def test_admins_manage_the_tenants_admin_list(bot: Client, connector: FakeConnector) -> None:
    await install(bot, connector)
    assert (await say(bot, connector, "admins add new-admin", aad="someone")).startswith("Sorry")
    listed = await say(bot, connector, "admins add new-admin")
    assert "teams:new-admin" in listed
    assert "Subscribed" in await say(bot, connector, "subscribe", aad="new-admin")
    await say(bot, connector, "admins remove new-admin")
    assert (await say(bot, connector, "subscribe", aad="new-admin")).startswith("Sorry")


async def test_integrations_add_answers_with_a_form_whose_errors_show_on_the_card(
    bot: Client, connector: FakeConnector
) -> None:
    await install(bot, connector)
    await say(bot, connector, "integrations add pagerduty")
    form = connector.posted[-2][1]["attachments"][0]["content"]
    assert adaptive_problems(form) == []
    inputs = {i["id"]: i for i in form["body"] if i["type"] == "Input.Text"}
    assert inputs["routing_key"]["style"] == "Password" and "value" not in inputs["routing_key"]

    def submit(data: dict[str, Any]) -> dict[str, Any]:
        envelope = action(connector, "integration.create", "", ADMIN_AAD, "Admin")
        envelope["value"]["action"]["data"] = {"integration_type": "pagerduty", **data}
        return envelope

    bad = await (await send(bot, submit({"name": "PD", "routing_key": ""}))).json()
    assert bad["type"] == "application/vnd.microsoft.card.adaptive"
    shown = json.dumps(bad["value"])
    assert "required (Integration key (Events API v2))" in shown
    assert adaptive_problems(bad["value"]) == []
    good = await (await send(bot, submit({"name": "PD", "routing_key": "rk-secret-123"}))).json()
    assert "Added PD" in json.dumps(good["value"])
    assert "rk-secret-123" not in json.dumps(good)
    listed = await (await bot.get("/api/v1/integrations")).json()
    assert any(
        i["name"] == "PD" and i["settings"]["routing_key"] == "********" for i in listed["data"]
    )
    other = action(connector, "integration.create", "", "not-admin", "Someone")
    other["value"]["action"]["data"] = {
        "integration_type": "pagerduty",
        "name": "X",
        "routing_key": "k",
    }
    refused = await (await send(bot, other)).json()
    assert refused["value"] == "Sorry, only admins can add integrations."


def from_entra(connector: FakeConnector, entra: str, text: str) -> dict[str, Any]:
    message = activity(connector, text=f"<at>ChatOps</at> {text}")
    message["channelData"] = {**message["channelData"], "tenant": {"id": entra}}
    return message


async def test_only_the_home_and_listed_entra_tenants_are_let_in(
    settings: Settings, connector: FakeConnector
) -> None:
    """CHATOPS_TEAMS_TENANT_ID is `default`; CHATOPS_TEAMS_TENANTS lets another in as its own
    tenant; any other Entra tenant is refused and gets no tenant."""
    home, partner, stranger = "home-0000", "partner-1111", "stranger-2222"
    configured = settings.model_copy(
        update={"teams_tenant_id": home, "teams_tenants": f"{partner}=partner"}
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as bot:
        bot.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        refused = await send(bot, from_entra(connector, stranger, "help"))
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "tenant_not_allowed"
        for entra in (home, partner):
            assert (await send(bot, from_entra(connector, entra, "help"))).status in (200, 201)
        from sqlalchemy import select

        from bot.runtime.app import SERVICES
        from storage.schema import Tenant

        async with bot.app[SERVICES].db.session() as session:
            bound = dict((await session.execute(select(Tenant.id, Tenant.teams_tenant_id))).all())
        assert bound.get("default") == home and bound.get("partner") == partner
        assert stranger not in bound.values() and not any(t.startswith("teams-") for t in bound)


async def test_an_activity_played_again_is_refused(bot: Client, connector: FakeConnector) -> None:
    """A Bot Framework token signs no body and lives an hour: a captured Escalate, sent
    again with the same activity id, must not raise the level a second time."""
    await install(bot, connector)
    assert "Subscribed" in await say(bot, connector, "subscribe min=LOW")
    resp = await bot.post("/api/v1/events", json={"title": "db down", "priority": "HIGH"})
    alert_id = (await resp.json())["id"]
    await eventually(lambda: connector.cards(CHANNEL))
    click = action(connector, "escalate", alert_id, ADMIN_AAD, "Admin")
    assert (await send(bot, click)).status == 200
    await send(bot, click)  # the same activity, id and all
    await asyncio.sleep(0.5)
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["escalation_level"] == 1
    assert [a["verb"] for a in detail["audit"] if a["verb"] == "escalate"] == ["escalate"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # chat and HTTP only
async def test_the_report_card_shows_its_chart_by_a_signed_url_that_expires(
    bot: Client, connector: FakeConnector
) -> None:
    await install(bot, connector)
    await bot.post("/api/v1/events", json={"title": "Disk full", "priority": "HIGH"})
    said = await say(bot, connector, "report 7d")
    assert "1 alerts, by priority" in said
    card = connector.posted[-1][1]["attachments"][0]["content"]
    assert adaptive_problems(card) == []
    image = card["body"][1]
    assert image["type"] == "Image" and "last 7d" in image["altText"]
    url = image["url"]
    assert url.startswith("http://chatops.test/reports/chart.png?tenant=default&since=7d&")
    path = url.removeprefix("http://chatops.test")
    drawn = await bot.get(path, headers={"Authorization": ""})  # the URL is its own key
    assert drawn.status == 200 and drawn.content_type == "image/png"
    assert (await drawn.read())[:8] == b"\x89PNG\r\n\x1a\n"
    # another tenant in the same URL, a changed window or end, or a link past its week
    services = bot.app[SERVICES]
    old = signed_url(services, "default", "7d", datetime.now(UTC) - timedelta(days=8))
    for forged in (
        path.replace("tenant=default", "tenant=acme"),
        path.replace("since=7d", "since=30d"),
        path.replace("expires=", "expires=1"),
        old.removeprefix("http://chatops.test"),
    ):
        refused = await bot.get(forged, headers={"Authorization": ""})
        assert refused.status == 404, forged
        assert (await refused.json())["error"]["code"] == "not_found"
