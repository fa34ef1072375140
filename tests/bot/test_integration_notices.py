"""The integration events tenant admins hear about, with their preferences and retries."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters import registry
from bot.runtime.app import SERVICES
from storage.schema import utcnow
from tests.fakes.pagerduty import VALID_API_KEY, VALID_KEY, FakePagerDuty
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def admins(client: Client) -> AsyncIterator[Sink]:
    """The admins' channel: a webhook sink routed every `integration.*` event."""
    sink = await Sink(secret="s3cret").start()
    await webhook_route(client, sink.url, name="admins", event_glob="integration.*")
    yield sink
    await sink.stop()


def notices(sink: Sink) -> list[dict[str, Any]]:
    return [r.body["alert"] for r in sink.accepted() if r.body.get("kind") == "post"]


async def add_hook(client: Client, name: str, url: str = "http://127.0.0.1:9/nothing") -> str:
    resp = await client.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": name, "settings": {"url": url}},
    )
    return str((await resp.json())["data"]["id"])


async def test_a_failed_connection_test_warns_the_admins(client: Client, admins: Sink) -> None:
    integration_id = await add_hook(client, "dead-end")
    outcome = await (await client.post(f"/api/v1/integrations/{integration_id}/test")).json()
    assert outcome["data"]["success"] is False
    notice = (await eventually(lambda: notices(admins)))[0]
    assert notice["event_type"] == "integration.connection.test.failed"
    assert notice["title"] == "Integration Connection Test Failed"
    assert notice["priority"] == "MEDIUM"  # a warning
    assert notice["body"].startswith('The connection test for "dead-end" failed: ')
    assert notice["link"].endswith(f"/integrations/{integration_id}/test")


async def test_configuration_changes_are_told_only_when_the_admins_ask(
    client: Client, admins: Sink
) -> None:
    integration_id = await add_hook(client, "tracker")
    patch = f"/api/v1/integrations/{integration_id}"
    resp = await client.patch(patch, json={"allowed_shard_types": ["tickets"]})
    assert resp.status == 200, await resp.text()
    prefs = await client.put("/api/v1/preferences", json={"configuration_changes": True})
    assert prefs.status == 200, await prefs.text()
    await client.patch(patch, json={"allowed_shard_types": ["tickets", "users"]})
    await client.patch(patch, json={"search_enabled": True, "searchable_entities": ["tickets"]})
    await eventually(lambda: len(notices(admins)) == 2)
    # two deliveries to one webhook may be sent together: they arrive in either order
    told = {notice["event_type"]: notice for notice in notices(admins)}
    access = told["integration.data_access.updated"]
    search = told["integration.search.updated"]
    assert access["title"] == "Integration Data Access Updated"
    assert access["body"] == (
        'The data access configuration for "tracker" has been updated. '
        "Previously allowed: tickets. Now allowed: tickets, users."
    )
    assert access["link"].endswith(f"/integrations/{integration_id}/configure")
    assert search["title"] == "Integration Search Configuration Updated"
    bad = await client.patch(patch, json={"allowed_shard_types": "all"})
    assert bad.status == 400


async def test_a_provider_deprecated_by_a_release_is_announced(
    client: Client, admins: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app[SERVICES]
    await add_hook(client, "legacy")
    deprecated = dataclasses.replace(registry.TYPES["webhook"], status="deprecated")
    monkeypatch.setitem(registry.TYPES, "webhook", deprecated)
    assert await services.checks.check_providers() == 2  # the admins' sink and "legacy"
    assert await services.checks.check_providers() == 0
    assert notices(admins) == []  # status updates are off by default
    await client.put("/api/v1/preferences", json={"status_updates": True})
    monkeypatch.setitem(
        registry.TYPES, "webhook", dataclasses.replace(deprecated, status="disabled")
    )
    assert await services.checks.check_providers() == 2
    await eventually(lambda: len(notices(admins)) == 2)
    assert sorted(n["facts"]["integration"] for n in notices(admins)) == ["admins", "legacy"]
    told = notices(admins)[0]
    assert told["title"] == "Integration Provider Status Changed"
    assert told["priority"] == "MEDIUM"  # disabled is a warning, not information
    assert '"Generic Webhook" integration provider status has changed' in told["body"]
    assert 'from "deprecated" to "disabled"' in told["body"]
    refused = await client.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "new", "settings": {"url": "https://example.com"}},
    )
    assert refused.status == 400
    assert (await refused.json())["error"]["message"] == (
        "type: Generic Webhook is disabled; it can no longer be added"
    )


async def test_a_notice_that_cannot_be_stored_is_retried_and_the_check_still_counts(
    client: Client, admins: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app[SERVICES]
    integration_id = await add_hook(client, "expiring")
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    await client.patch(
        f"/api/v1/integrations/{integration_id}", json={"credentials_expire_at": past}
    )
    real_submit = services.ingest.submit
    calls = []

    async def flaky(event: Any) -> Any:
        calls.append(event.event_type)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return await real_submit(event)

    monkeypatch.setattr(services.ingest, "submit", flaky)
    services.notifier.retry_delays = (0.05,)
    assert await services.checks.check_credentials() == 1  # the failed notice did not fail it
    doc = await (await client.get(f"/api/v1/integrations/{integration_id}")).json()
    assert doc["data"]["connection_status"] == "expired"
    notice = (await eventually(lambda: notices(admins)))[0]
    assert notice["title"] == "Integration Credentials Expired"
    assert calls == ["integration.credentials.expired"] * 2


async def test_notice_links_lead_to_a_page_that_says_what_to_do(client: Client) -> None:
    page = await client.get("/integrations/<i>x/credentials", headers={"Authorization": ""})
    assert page.status == 200 and page.content_type == "text/html"
    text = await page.text()
    assert "its credentials" in text and "/chatops integrations show" in text
    assert "<i>x" not in text and "&lt;i&gt;x" in text


async def test_health_checks_tell_the_admins_when_the_connection_drops_and_returns(
    client: Client, admins: Sink, pagerduty: FakePagerDuty
) -> None:
    services = client.app[SERVICES]
    settings = {
        "routing_key": VALID_KEY,
        "events_url": pagerduty.url,
        "api_key": VALID_API_KEY,
        "api_url": pagerduty.api_url,
    }
    resp = await client.post(
        "/api/v1/integrations", json={"type": "pagerduty", "name": "pd", "settings": settings}
    )
    integration_id = (await resp.json())["data"]["id"]
    doc = f"/api/v1/integrations/{integration_id}"
    assert await services.checks.check_health(integration_id) is True
    assert (await (await client.get(doc)).json())["data"]["connection_status"] == "connected"
    pagerduty.fail_rest = 1
    assert await services.checks.check_health(integration_id) is False
    dropped = (await (await client.get(doc)).json())["data"]
    assert dropped["connection_status"] == "error"
    assert "HTTP 500" in dropped["connection_error"]
    assert await services.checks.check_health(integration_id) is True
    await eventually(lambda: len(notices(admins)) == 2)
    lost, back = notices(admins)
    assert (lost["priority"], back["priority"]) == ("HIGH", "INFO")  # error, information
    assert 'from "connected" to "error"' in lost["body"]
    assert 'from "error" to "connected"' in back["body"]
    assert await services.checks.check_health(integration_id) is True
    stored = await client.get("/api/v1/events?type=integration.connection.status.changed")
    assert (await stored.json())["total"] == 2  # no change, no notice


async def test_refused_credentials_are_announced_as_a_credentials_error(
    client: Client, admins: Sink, pagerduty: FakePagerDuty
) -> None:
    """A 401 from the provider, on a health check or on a send, is the credentials notice
    (an error), once per integration while it lasts; the integration is marked as such."""
    services = client.app[SERVICES]
    settings = {
        "routing_key": VALID_KEY,
        "events_url": pagerduty.url,
        "api_key": "wrong-api-key",
        "api_url": pagerduty.api_url,
    }
    resp = await client.post(
        "/api/v1/integrations", json={"type": "pagerduty", "name": "pd", "settings": settings}
    )
    integration_id = (await resp.json())["data"]["id"]
    assert await services.checks.check_health(integration_id) is False
    await eventually(lambda: len(notices(admins)) == 2)
    told = [n for n in notices(admins) if n["event_type"] == "integration.credentials.expired"]
    assert told[0]["priority"] == "HIGH" and "were refused" in told[0]["body"]
    assert "wrong-api-key" not in json.dumps(told)
    status = [n for n in notices(admins) if n["event_type"].endswith("status.changed")]
    assert status and status[0]["priority"] == "HIGH"  # to "error": an error, not a warning
