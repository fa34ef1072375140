"""Every change is on the record: who (a person, a key, the operator by name, the CLI), what
(old → new for plain fields, secrets only "changed"), in the transaction that made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES
from tests.conftest import API_TOKEN
from tests.helpers import chatops_cli

Client = TestClient  # type: ignore[type-arg]
SECRET_URL = "http://127.0.0.1:9/hooks/T0/S3CRET-PATH-one"
NEW_SECRET_URL = "http://127.0.0.1:9/hooks/T0/S3CRET-PATH-two"


async def key_of(client: Client, tenant: str, name: str) -> dict[str, str]:
    secret, _ = await client.app[SERVICES].keys.create(tenant, name, "admin", by="cli:test")
    return {"Authorization": f"Bearer {secret}"}


async def call(client: Client, method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
    resp = await client.request(method, path, headers=headers, json=body or None)
    assert resp.status < 300, (method, path, resp.status, await resp.text())
    return await resp.json()


async def test_every_change_through_rest_is_audited_with_its_key(client: Client) -> None:
    ci = await key_of(client, "a", "ci")
    made = await call(
        client,
        "POST",
        "/api/v1/integrations",
        ci,
        type="webhook",
        name="hook",
        settings={"url": SECRET_URL},
    )
    integration = made["data"]
    assert integration["created_by"] == "key:ci"
    iid = integration["id"]
    await call(client, "PATCH", f"/api/v1/integrations/{iid}", ci, description="paging hook")
    await call(client, "PATCH", f"/api/v1/integrations/{iid}", ci, settings={"url": NEW_SECRET_URL})
    await call(client, "PATCH", f"/api/v1/integrations/{iid}", ci, is_active=False)
    await call(client, "PATCH", f"/api/v1/integrations/{iid}", ci, is_active=True)
    await call(client, "POST", f"/api/v1/integrations/{iid}/test", ci)
    channel = (await call(client, "POST", "/api/v1/channels", ci, name="ops", integration=iid))[
        "data"
    ]
    route = (
        await call(client, "POST", "/api/v1/routes", ci, channel=channel["id"], min_priority="HIGH")
    )["data"]
    assert route["created_by"] == "key:ci"
    refused = await client.post(
        "/api/v1/channels", headers=ci, json={"name": "ops", "integration": iid}
    )
    assert refused.status == 409  # a change that failed leaves no row
    await call(
        client,
        "POST",
        "/api/v1/users/u1/integrations",
        ci,
        integration_type="webhook",
        enabled=False,
    )
    await call(client, "PUT", "/api/v1/preferences", ci, sync=False)
    await call(client, "DELETE", f"/api/v1/routes/{route['id']}", ci)
    await call(client, "DELETE", f"/api/v1/channels/{channel['id']}", ci)
    await call(client, "DELETE", f"/api/v1/integrations/{iid}", ci)
    # another tenant's change, by the operator naming who it was for
    await client.post(
        "/api/v1/integrations?tenant=b",
        headers={"Authorization": f"Bearer {API_TOKEN}", "X-ChatOps-Actor": "dana"},
        json={"type": "webhook", "name": "theirs", "settings": {"url": SECRET_URL}},
    )

    trail = (await call(client, "GET", "/api/v1/audit?since=1h", ci))["entries"]
    kinds = [e["kind"] for e in reversed(trail)]
    assert kinds == [
        "apikey.create",
        "integration.create",
        "integration.change",
        "integration.change",
        "integration.disable",
        "integration.enable",
        "integration.test",
        "channel.create",
        "route.create",
        "override.set",
        "preferences.change",
        "route.remove",
        "channel.remove",
        "integration.remove",
    ], kinds
    assert {e["actor"] for e in trail} == {"key:ci", "cli:test"}
    assert {e["tenant"] for e in trail} == {"a"}  # b's change is not a's to read
    changes = [
        e["data"].get("changes") for e in reversed(trail) if e["kind"] == "integration.change"
    ]
    assert changes == [["description: none → paging hook"], ["settings.url: changed"]]
    assert "S3CRET-PATH" not in json.dumps(trail)
    prefs = next(e for e in trail if e["kind"] == "preferences.change")
    assert prefs["data"]["changes"] == ["sync_failures: true → false"]

    routes_only = (await call(client, "GET", "/api/v1/audit?kind=route", ci))["entries"]
    assert [e["kind"] for e in routes_only] == ["route.remove", "route.create"]
    operator = {"Authorization": f"Bearer {API_TOKEN}"}
    theirs = (await call(client, "GET", "/api/v1/audit?tenant=b", operator))["entries"]
    assert [(e["actor"], e["kind"]) for e in theirs] == [("operator:dana", "integration.create")]
    bad = await client.get("/api/v1/audit?since=yesterday", headers=ci)
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "bad_query"
    foreign = await client.get("/api/v1/audit?tenant=b", headers=ci)
    assert foreign.status == 404


def test_the_cli_audits_as_its_login_and_prints_the_trail(tmp_path: Path) -> None:
    chatops = chatops_cli(tmp_path)
    added = chatops("channels", "add", "--name", "x", "--target", "C1", "--integration", "nope")
    assert added.returncode == 2  # refused: nothing to audit
    made = chatops(
        "keys",
        "api",
        "create",
        "--tenant",
        "default",
        "--name",
        "deploys",
        "--scope",
        "events:write",
    )
    assert made.returncode == 0, made.stderr
    done = chatops("audit", "--since", "1h")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    _when, tenant, actor, kind, detail = lines[0].split("\t")
    assert (tenant, kind) == ("default", "apikey.create") and actor.startswith("cli:")
    assert json.loads(detail) == {"key": "deploys", "scope": "events:write"}
    assert made.stdout.strip() not in done.stdout  # the key itself is never in the trail
    assert chatops("audit", "--since", "soon").returncode == 2


async def test_the_console_shows_the_trail(client: Client, settings: Settings) -> None:
    await client.post(
        "/api/v1/integrations",
        json={"type": "webhook", "name": "console-hook", "settings": {"url": SECRET_URL}},
    )
    login = await client.post(
        "/ui/login", data={"token": API_TOKEN, "next": "/ui/audit"}, allow_redirects=False
    )
    assert login.status == 303
    page = await client.get("/ui/audit?kind=integration", headers={"Authorization": ""})
    html = await page.text()
    assert page.status == 200 and "integration.create" in html and "console-hook" in html
    assert "S3CRET-PATH" not in html
