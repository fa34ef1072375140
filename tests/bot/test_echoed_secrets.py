"""A destination that echoes the request in its error answer never gets the credentials shown.

A debugging proxy, a WAF page or a hostile endpoint may answer with the request it got,
headers and body: the Opsgenie `GenieKey`, Jira's and Twilio's basic credentials, the
PagerDuty routing key. None of it may reach delivery errors, the integration's last error,
the connection test's answer or anything the API shows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.helpers import eventually

Client = TestClient  # type: ignore[type-arg]

OPSGENIE_KEY = "og-SECRET-9f3c2b1a"
JIRA_TOKEN = "jira-SECRET-77aa21"
TWILIO_TOKEN = "twilio-SECRET-5e5e5e"
ROUTING_KEY = "pd-SECRET-0123456789abcdef"


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """Answers every request with 400 or 500 and the request, headers and body, echoed."""

    async def handle(request: web.Request) -> web.Response:
        echoed = {
            "error": "bad request",
            "headers": dict(request.headers),
            "body": (await request.read()).decode(errors="replace"),
        }
        status = 500 if request.method == "POST" else 400
        return web.Response(text=json.dumps(echoed), status=status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


def forms() -> list[str]:
    """Every way the secrets could show: as they are, and in basic authentication."""
    basic = [
        base64.b64encode(b"ops@example.com:" + JIRA_TOKEN.encode()).decode(),
        base64.b64encode(b"AC0123456789:" + TWILIO_TOKEN.encode()).decode(),
    ]
    return [OPSGENIE_KEY, JIRA_TOKEN, TWILIO_TOKEN, ROUTING_KEY, *basic]


async def wired(client: Client, type_id: str, settings: dict[str, str], target: str | None) -> str:
    resp = await client.post(
        "/api/v1/integrations", json={"type": type_id, "name": type_id, "settings": settings}
    )
    assert resp.status == 201, await resp.text()
    integration_id = str((await resp.json())["data"]["id"])
    channel: dict[str, Any] = {"name": type_id, "integration": integration_id}
    if target:
        channel["target"] = target
    made = await client.post("/api/v1/channels", json=channel)
    assert made.status == 201, await made.text()
    route = await client.post("/api/v1/routes", json={"channel": (await made.json())["data"]["id"]})
    assert route.status == 201
    return integration_id


async def test_credentials_echoed_by_a_destination_are_never_shown(
    client: Client, echo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_DEFAULTS_OPSGENIE_RETRY_COUNT", "1")
    ids = [
        await wired(client, "opsgenie", {"api_key": OPSGENIE_KEY, "api_url": echo}, None),
        await wired(
            client,
            "jira",
            {
                "site_url": echo,
                "email": "ops@example.com",
                "api_token": JIRA_TOKEN,
                "project_key": "OPS",
            },
            None,
        ),
        await wired(
            client,
            "sms",
            {
                "account_sid": "AC0123456789",
                "auth_token": TWILIO_TOKEN,
                "from_number": "+15550001111",
                "api_url": echo,
            },
            "+15550002222",
        ),
        await wired(
            client,
            "pagerduty",
            {"routing_key": ROUTING_KEY, "events_url": f"{echo}/v2/enqueue"},
            None,
        ),
    ]
    event = await client.post("/api/v1/events", json={"title": "db down", "priority": "CRITICAL"})
    alert_id = (await event.json())["id"]

    async def every_delivery_failed() -> Any:
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        tried = [d for d in detail["deliveries"] if d["attempt_log"]]
        return detail if len(tried) >= 3 else None

    detail = await eventually(every_delivery_failed, within=20, interval=0.2)
    shown = [json.dumps(detail)]
    assert "HTTP 500" in shown[0]  # the answers were recorded, only without the secrets
    for integration_id in ids:
        tested = await client.post(f"/api/v1/integrations/{integration_id}/test")
        shown.append(await tested.text())
        shown.append(await (await client.get(f"/api/v1/integrations/{integration_id}")).text())
    text = "\n".join(shown)
    for form in forms():
        assert form not in text, form
    assert "****" in text
