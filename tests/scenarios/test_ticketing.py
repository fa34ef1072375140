"""Ticketing on escalation: an issue opens in Jira only when an alert escalates, and its state
comes back by sync; the same for a ServiceNow incident."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from tests.fakes.vendors import (
    JIRA_EMAIL,
    JIRA_TOKEN,
    SN_PASSWORD,
    SN_USER,
    FakeJira,
    FakeServiceNow,
)
from tests.helpers import eventually

Client = TestClient  # type: ignore[type-arg]


async def escalation_route(client: Client, type_id: str, settings: dict[str, str]) -> str:
    resp = await client.post(
        "/api/v1/integrations",
        json={"type": type_id, "name": type_id, "settings": settings, "sync_enabled": True},
    )
    assert resp.status == 201, await resp.text()
    integration_id = str((await resp.json())["data"]["id"])
    channel = await client.post(
        "/api/v1/channels", json={"name": type_id, "integration": integration_id}
    )
    await client.post(
        "/api/v1/routes",
        json={"channel": (await channel.json())["data"]["id"], "escalation_level": 1},
    )
    return integration_id


async def escalate_and_sync(
    client: Client, integration_id: str, records: dict[str, Any], change: Any
) -> dict[str, Any]:
    event = await client.post("/api/v1/events", json={"title": "payments 5xx", "priority": "HIGH"})
    alert_id = (await event.json())["id"]
    services = client.app[SERVICES]
    before = await (await client.get(f"/api/v1/events/{alert_id}")).json()
    assert before["deliveries"] == [] and records == {}  # level 0: no ticket is queued
    await client.post(f"/api/v1/events/{alert_id}/escalate", json={"actor": "dana"})
    ref = (await eventually(lambda: list(records)))[0]
    change(ref)
    outcome = await services.sync.run(integration_id)
    assert (outcome.status, outcome.processed, outcome.updated) == ("success", 1, 1)
    return dict(await (await client.get(f"/api/v1/events/{alert_id}")).json())


async def test_jira_opens_an_issue_on_escalation_and_its_progress_acknowledges(
    client: Client,
) -> None:
    jira = await FakeJira().start()
    try:
        integration_id = await escalation_route(
            client,
            "jira",
            {
                "site_url": jira.url,
                "email": JIRA_EMAIL,
                "api_token": JIRA_TOKEN,
                "project_key": "OPS",
            },
        )
        alert = await escalate_and_sync(
            client,
            integration_id,
            jira.issues,
            lambda key: jira.change(key, "acknowledged", "Fox Mulder"),
        )
        assert alert["state"] == "acknowledged"
        assert alert["acknowledged_by"] == "Fox Mulder (in Jira)"
        issue = next(iter(jira.issues.values()))
        assert issue["fields"]["summary"] == "[HIGH] payments 5xx"
        assert "chatops" in issue["fields"]["labels"]
    finally:
        await jira.stop()


async def test_servicenow_resolves_the_alert_when_its_incident_is_resolved(
    client: Client,
) -> None:
    snow = await FakeServiceNow().start()
    try:
        integration_id = await escalation_route(
            client,
            "servicenow",
            {"instance_url": snow.url, "username": SN_USER, "password": SN_PASSWORD},
        )
        alert = await escalate_and_sync(
            client,
            integration_id,
            snow.incidents,
            lambda sys_id: snow.change(sys_id, "resolved", "Beth Anglin"),
        )
        assert alert["state"] == "resolved"
        assert alert["resolved_by"] == "Beth Anglin (in ServiceNow)"
        incident = next(iter(snow.incidents.values()))
        assert incident["urgency"] == "1" and incident["short_description"] == "[HIGH] payments 5xx"
    finally:
        await snow.stop()
