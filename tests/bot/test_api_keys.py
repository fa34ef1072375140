"""API keys keep tenants apart: a key of tenant A reads, acts on and configures nothing of B."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from domain import By
from tests.conftest import API_TOKEN
from tests.helpers import chatops_cli

Client = TestClient  # type: ignore[type-arg]
OPERATOR = {"Authorization": f"Bearer {API_TOKEN}"}


async def key(client: Client, tenant: str, name: str, scope: str) -> dict[str, str]:
    secret, _info = await client.app[SERVICES].keys.create(tenant, name, scope, by="test")
    return {"Authorization": f"Bearer {secret}"}


async def tenant_b(client: Client) -> dict[str, str]:
    """Tenant B's alert, integration, channel and route, made by the operator."""
    event = await client.post("/api/v1/events", json={"title": "b down", "tenant": "b"})
    integration = await client.post(
        "/api/v1/integrations?tenant=b",
        json={"type": "webhook", "name": "hook-b", "settings": {"url": "http://127.0.0.1:9/b"}},
    )
    integration_id = (await integration.json())["data"]["id"]
    channel = await client.post(
        "/api/v1/channels?tenant=b", json={"name": "chan-b", "integration": integration_id}
    )
    channel_id = (await channel.json())["data"]["id"]
    route = await client.post("/api/v1/routes?tenant=b", json={"channel": channel_id})
    return {
        "event": (await event.json())["id"],
        "integration": integration_id,
        "channel": channel_id,
        "route": (await route.json())["data"]["id"],
    }


# Every REST surface, aimed at tenant B with tenant A's admin key: each must be a 404.
CROSS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/events?tenant=b", None),
    ("GET", "/api/v1/events/{event}", None),
    ("POST", "/api/v1/events/{event}/acknowledge", {"actor": "x"}),
    ("POST", "/api/v1/events/{event}/escalate", {"actor": "x"}),
    ("POST", "/api/v1/events/{event}/resolve", {"actor": "x"}),
    ("POST", "/api/v1/events", {"title": "into b", "tenant": "b"}),
    ("POST", "/hooks/alertmanager?tenant=b", {"alerts": [{"labels": {"alertname": "x"}}]}),
    ("POST", "/hooks/grafana?tenant=b", {"alerts": [{"labels": {"alertname": "x"}}]}),
    ("GET", "/api/v1/integrations?tenant=b", None),
    ("GET", "/api/v1/integrations/{integration}", None),
    ("PATCH", "/api/v1/integrations/{integration}", {"name": "mine now"}),
    ("PUT", "/api/v1/integrations/{integration}", {"name": "mine now"}),
    ("POST", "/api/v1/integrations/{integration}/test", None),
    ("GET", "/api/v1/integrations/{integration}/logs", None),
    ("DELETE", "/api/v1/integrations/{integration}", None),
    ("POST", "/api/v1/integrations?tenant=b", {"type": "webhook", "name": "x", "settings": {"url": "http://127.0.0.1:9/x"}}),
    ("GET", "/api/v1/channels?tenant=b", None),
    ("POST", "/api/v1/channels?tenant=b", {"name": "c", "integration": "{integration}"}),
    ("DELETE", "/api/v1/channels/{channel}", None),
    ("GET", "/api/v1/routes?tenant=b", None),
    ("POST", "/api/v1/routes", {"channel": "{channel}"}),
    ("DELETE", "/api/v1/routes/{route}", None),
    ("GET", "/api/v1/preferences?tenant=b", None),
    ("PUT", "/api/v1/preferences?tenant=b", {"sync": False}),
    ("GET", "/api/v1/users/u1/integrations?tenant=b", None),
    ("POST", "/api/v1/users/u1/integrations?tenant=b", {"integration_type": "webhook", "enabled": False}),
    ("PUT", "/api/v1/users/u1/integrations/webhook?tenant=b", {"enabled": False}),
    ("DELETE", "/api/v1/users/u1/integrations/webhook?tenant=b", None),
    ("POST", "/api/v1/users/u1/integration-defaults/reset?tenant=b", None),
    ("GET", "/api/v1/users/u1/integration-defaults?tenant=b", None),
    ("GET", "/api/v1/users/u1/deliveries?tenant=b", None),
]  # fmt: skip


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,path,body", CROSS, ids=[f"{m} {p}" for m, p, _ in CROSS])
async def test_a_key_of_tenant_a_reaches_nothing_of_tenant_b(
    client: Client, method: str, path: str, body: Any
) -> None:
    ids = await tenant_b(client)
    a_admin = await key(client, "a", "admin-a", "admin")
    resp = await client.request(method, fill(path, ids), json=fill(body, ids), headers=a_admin)
    assert resp.status == 404, (resp.status, await resp.text())
    assert (await resp.json())["error"]["code"] == "not_found"
    # Nothing of B changed: its alert, integration, channel and route are as they were.
    event = await (await client.get(f"/api/v1/events/{ids['event']}", headers=OPERATOR)).json()
    assert event["state"] == "triggered" and event["audit"] == []
    listed = await (await client.get("/api/v1/integrations?tenant=b", headers=OPERATOR)).json()
    assert [i["name"] for i in listed["data"]] == ["hook-b"]
    channels = await (await client.get("/api/v1/channels?tenant=b", headers=OPERATOR)).json()
    assert [c["name"] for c in channels["data"]] == ["chan-b"]
    routes = await (await client.get("/api/v1/routes?tenant=b", headers=OPERATOR)).json()
    assert [r["id"] for r in routes["data"]] == [ids["route"]]


async def test_a_key_sees_and_writes_only_its_own_tenant(client: Client) -> None:
    await tenant_b(client)
    writer = await key(client, "a", "ci", "events:write")
    resp = await client.post("/api/v1/events", json={"title": "a down"}, headers=writer)
    assert resp.status == 202
    alert_id = (await resp.json())["id"]
    listed = await (await client.get("/api/v1/events", headers=writer)).json()
    assert [(e["title"], e["tenant"]) for e in listed["events"]] == [("a down", "a")]
    acted = await client.post(
        f"/api/v1/events/{alert_id}/acknowledge", json={"actor": "mallory"}, headers=writer
    )
    assert acted.status == 200
    detail = await (await client.get(f"/api/v1/events/{alert_id}", headers=writer)).json()
    assert detail["acknowledged_by"] == "ci"  # the key's name, whatever the body says
    assert [a["actor"] for a in detail["audit"]] == ["api:key:ci"]


async def test_scopes_limit_what_a_key_does(client: Client) -> None:
    reader = await key(client, "a", "dash", "events:read")
    writer = await key(client, "a", "ci", "events:write")
    assert (await client.get("/api/v1/events", headers=reader)).status == 200
    refused = await client.post("/api/v1/events", json={"title": "x"}, headers=reader)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/integrations", headers=writer)).status == 403
    assert (await client.get("/api/v1/routes", headers=writer)).status == 403


async def test_a_revoked_key_is_refused_at_once(client: Client) -> None:
    writer = await key(client, "a", "ci", "events:write")
    assert (await client.get("/api/v1/events", headers=writer)).status == 200
    assert await client.app[SERVICES].keys.revoke("a", "ci", By("cli:test", "cli"))
    resp = await client.get("/api/v1/events", headers=writer)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_token"
    forged = {"Authorization": writer["Authorization"][:-4] + "AAAA"}
    assert (await client.get("/api/v1/events", headers=forged)).status == 401


async def test_the_operator_acts_on_behalf_of_someone(client: Client) -> None:
    alert = await (await client.post("/api/v1/events", json={"title": "x"})).json()
    resp = await client.post(
        f"/api/v1/events/{alert['id']}/resolve", json={"on_behalf_of": "Dana Ops"}
    )
    assert resp.status == 200
    assert (await resp.json())["resolved_by"] == "Dana Ops"


def test_the_cli_prints_a_key_once_and_lists_it_masked(tmp_path: Any) -> None:
    chatops = chatops_cli(tmp_path)
    made = chatops("keys", "api", "create", "--tenant", "acme", "--name", "ci", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("chk_") and "shown only now" in made.stderr
    listed = chatops("keys", "api", "list")
    assert "acme\tci\tadmin" in listed.stdout and secret not in listed.stdout
    assert secret[:17] in listed.stdout  # the prefix, to tell keys apart
    bad = chatops("keys", "api", "create", "--tenant", "acme", "--name", "ci", "--scope", "root")
    assert bad.returncode == 2
    assert chatops("keys", "api", "revoke", "--tenant", "acme", "--name", "ci").returncode == 0
    assert "revoked" in chatops("keys", "api", "list").stdout
    again = chatops("keys", "api", "revoke", "--tenant", "acme", "--name", "ci")
    assert again.returncode == 2 and "no live key" in again.stderr
