"""Integration defaults: system defaults, per-user overrides layered on them, reset, delivery history."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.core.alerts.defaults import DefaultsError, effective, env_overrides, system_defaults
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route

Client = TestClient  # type: ignore[type-arg]


def test_environment_overrides_the_builtin_table() -> None:
    result = system_defaults(
        environ={
            "INTEGRATION_DEFAULTS_SLACK_RETRY_COUNT": "5",
            "INTEGRATION_DEFAULTS_WEBHOOK_ENABLED": "true",
        }
    )
    assert result["SLACK"]["retry_count"] == 5
    assert result["SLACK"]["retry_delay_seconds"] == 60
    assert result["WEBHOOK"]["enabled"] is True
    assert result["EMAIL"]["priority"] == 2


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("INTEGRATION_DEFAULTS_SLACK_RETRY_COUNT", "many", "expected a whole number"),
        ("INTEGRATION_DEFAULTS_SLACK_ENABLED", "perhaps", "expected true or false"),
        ("INTEGRATION_DEFAULTS_SLACK_COLOUR", "red", "unknown setting"),
    ],
)
def test_bad_environment_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(DefaultsError, match=f"{name}: .*{message}"):
        env_overrides({name: value})


def test_overrides_apply_field_by_field_in_priority_order() -> None:
    base = system_defaults(environ={})
    merged = effective(
        base, {"EMAIL": {"priority": 0, "retry_count": 5, "config": {"format": "html"}}}
    )
    assert next(iter(merged)) == "EMAIL"
    assert merged["EMAIL"]["retry_count"] == 5
    assert merged["EMAIL"]["retry_delay_seconds"] == 60
    assert merged["EMAIL"]["config"] == {"include_agent_info": True, "format": "html"}


async def test_a_user_without_overrides_uses_the_defaults_lazily(client: Client) -> None:
    data = await (await client.get("/api/v1/users/jane.doe/integration-defaults")).json()
    assert data["user_overrides"] == {}
    assert data["using_integration_defaults"] is True
    assert data["effective_configs"]["SLACK"]["retry_count"] == 3
    defaults = await (await client.get("/api/v1/integration-defaults")).json()
    assert defaults["default_integrations"]["WEBHOOK"]["retry_count"] == 1


async def test_override_update_delete_and_reset(client: Client) -> None:
    resp = await client.post(
        "/api/v1/users/john.doe/integrations",
        json={
            "integration_type": "EMAIL",
            "enabled": True,
            "priority": 1,
            "retry_count": 5,
            "retry_delay_seconds": 30,
            "config": {"email_address": "john.doe@company.com"},
        },
    )
    assert resp.status == 201
    data = await (await client.get("/api/v1/users/john.doe/integration-defaults")).json()
    assert data["using_integration_defaults"] is False
    assert data["effective_configs"]["EMAIL"]["retry_count"] == 5
    resp = await client.put("/api/v1/users/john.doe/integrations/email", json={"retry_count": 10})
    assert resp.status == 200
    assert (await resp.json())["override"]["retry_count"] == 10
    assert (
        await client.put("/api/v1/users/john.doe/integrations/SMS", json={"retry_count": 1})
    ).status == 404
    assert (await client.delete("/api/v1/users/john.doe/integrations/EMAIL")).status == 200
    await client.post(
        "/api/v1/users/john.doe/integrations", json={"integration_type": "SLACK", "enabled": False}
    )
    reset = await (await client.post("/api/v1/users/john.doe/integration-defaults/reset")).json()
    assert reset["removed_overrides"] == 1
    data = await (await client.get("/api/v1/users/john.doe/integrations")).json()
    assert data["integrations"] == {}


@pytest.mark.parametrize(
    "body,message",
    [
        ({"integration_type": "FAX", "enabled": True}, "integration_type: one of"),
        (
            {"integration_type": "EMAIL", "retry_count": -1},
            "retry_count: Input should be greater than or equal to 0",
        ),
        (
            {"integration_type": "EMAIL", "enabled": "yes"},
            "enabled: expected true or false, got text",
        ),
        ({"integration_type": "EMAIL"}, "give at least one of"),
        ({"integration_type": "EMAIL", "enabled": True, "volume": 11}, "volume: not a field here"),
    ],
)
async def test_bad_overrides_are_refused(
    client: Client, body: dict[str, Any], message: str
) -> None:
    resp = await client.post("/api/v1/users/u/integrations", json=body)
    assert resp.status == 400
    assert message in (await resp.json())["error"]["message"]
    assert (await (await client.get("/api/v1/users/u/integrations")).json())["integrations"] == {}


async def test_user_routes_obey_overrides_and_show_in_history(client: Client) -> None:
    sink = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, sink.url, user_id="alice")
        await client.post(
            "/api/v1/users/alice/integrations",
            json={"integration_type": "WEBHOOK", "enabled": False},
        )
        await client.post("/api/v1/events", json={"title": "muted"})
        await client.put(
            "/api/v1/users/alice/integrations/WEBHOOK", json={"enabled": True, "retry_count": 4}
        )
        await client.post("/api/v1/events", json={"title": "heard"})
        await eventually(lambda: sink.accepted())
        assert [r.body["alert"]["title"] for r in sink.accepted()] == ["heard"]
        history = await (await client.get("/api/v1/users/alice/deliveries?limit=1")).json()
        assert len(history["deliveries"]) == 1
        everything = await (await client.get("/api/v1/users/alice/deliveries")).json()
        statuses = sorted(d["status"] for d in everything["deliveries"])
        assert statuses[1] == "skipped"
        heard = next(d for d in everything["deliveries"] if d["status"] != "skipped")
        assert heard["max_attempts"] == 5
        page2 = await (await client.get("/api/v1/users/alice/deliveries?limit=1&offset=1")).json()
        assert page2["deliveries"][0]["delivery_id"] != history["deliveries"][0]["delivery_id"]
        assert (await client.get("/api/v1/users/alice/deliveries?limit=0")).status == 400
    finally:
        await sink.stop()


async def test_tenant_admin_preferences_decide_which_integration_events_are_sent(
    client: Client,
) -> None:
    sink = await Sink(secret="s3cret").start()
    try:
        await webhook_route(client, sink.url)
        shown = await (await client.get("/api/v1/preferences")).json()
        assert shown["integration_events"]["configuration_changes"] is False
        await client.post(
            "/api/v1/events",
            json={"title": "search config changed", "event_type": "integration.search.updated"},
        )
        await client.post(
            "/api/v1/events", json={"title": "sync failed", "event_type": "integration.sync.failed"}
        )
        await eventually(lambda: sink.accepted())
        resp = await client.put("/api/v1/preferences", json={"sync": False, "configuration": True})
        assert (await resp.json())["integration_events"]["sync_failures"] is False
        await client.post(
            "/api/v1/events",
            json={"title": "data access changed", "event_type": "integration.data_access.updated"},
        )
        await client.post(
            "/api/v1/events",
            json={
                "title": "sync failed again",
                "dedup_key": "x",
                "event_type": "integration.sync.failed",
            },
        )
        await eventually(lambda: len(sink.accepted()) == 2)
        assert [r.body["alert"]["title"] for r in sink.accepted()] == [
            "sync failed",
            "data access changed",
        ]
        bad = await client.put("/api/v1/preferences", json={"weather": True})
        assert bad.status == 400
    finally:
        await sink.stop()
