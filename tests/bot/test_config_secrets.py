"""Configuration files cannot reach secrets that are not the caller's, nor stall the bot.

`${CHATOPS_SECRET_*}` is read from the bot's environment only for the operator, only into a
secret, and never names one of the bot's own settings; a tenant's key sends values or keeps
what is stored. Files with aliases, deep nesting or endless input are refused before anything
walks them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES
from tests.conftest import API_TOKEN
from tests.helpers import chatops_cli

Client = TestClient  # type: ignore[type-arg]
OPERATOR = {"Authorization": f"Bearer {API_TOKEN}"}
ROUTING_KEY = "R0UTINGKEY-of-tenant-b-0123456789"


async def admin_key(client: Client, tenant: str) -> dict[str, str]:
    secret, _info = await client.app[SERVICES].keys.create(
        tenant, f"{tenant}-admin", "admin", by="test"
    )
    return {"Authorization": f"Bearer {secret}"}


def pagerduty_file(tenant: str, settings: dict[str, Any]) -> str:
    document = {
        "version": 1,
        "tenants": {
            tenant: {"integrations": [{"name": "pd", "type": "pagerduty", "settings": settings}]}
        },
    }
    return yaml.safe_dump(document)


async def everything_readable(client: Client, headers: dict[str, str], tenant: str) -> str:
    """All a tenant's key can read back about its configuration."""
    texts = []
    for path in (f"/api/v1/integrations?tenant={tenant}", f"/api/v1/config?tenant={tenant}"):
        resp = await client.get(path, headers=headers)
        texts.append(await resp.text())
    return "\n".join(texts)


async def test_a_tenant_key_reads_nothing_from_the_bots_environment(
    client: Client, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setenv("CHATOPS_SECRET_B_PD_ROUTING_KEY", ROUTING_KEY)
    monkeypatch.setenv("CHATOPS_SECRET_KEY", "the-encryption-key-of-the-bot-000000000000=")
    tenant_a = await admin_key(client, "a")
    attempts = [
        # another tenant's secret into a secret setting
        ({"routing_key": "${CHATOPS_SECRET_B_PD_ROUTING_KEY}"}, "only when the operator"),
        # the encryption key into a plain setting anyone can read back
        (
            {"routing_key": "x" * 32, "default_severity": "${CHATOPS_SECRET_KEY}"},
            "one of the bot's own settings",
        ),
        # any variable into a plain setting
        (
            {"routing_key": "x" * 32, "events_url": "${CHATOPS_SECRET_B_PD_ROUTING_KEY}"},
            "fills only a secret setting",
        ),
    ]
    for values, expected in attempts:
        for path in ("/api/v1/config/plan?tenant=a", "/api/v1/config/apply?tenant=a"):
            resp = await client.post(path, data=pagerduty_file("a", values), headers=tenant_a)
            body = await resp.json()
            assert resp.status == 422, body
            assert expected in body["error"]["message"], body
    readable = await everything_readable(client, tenant_a, "a")
    assert ROUTING_KEY not in readable and "the-encryption-key" not in readable
    assert '"pd"' not in readable and "name: pd" not in readable  # nothing was created


async def test_the_operator_fills_secrets_only_and_never_the_bots_own(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATOPS_SECRET_B_PD_ROUTING_KEY", ROUTING_KEY)
    refused = await client.post(
        "/api/v1/config/apply",
        data=pagerduty_file("b", {"routing_key": "${CHATOPS_SECRET_KEY}"}),
        headers=OPERATOR,
    )
    assert refused.status == 422
    assert "one of the bot's own settings" in (await refused.json())["error"]["message"]
    plain = await client.post(
        "/api/v1/config/apply",
        data=pagerduty_file(
            "b",
            {"routing_key": "x" * 32, "default_severity": "${CHATOPS_SECRET_B_PD_ROUTING_KEY}"},
        ),
        headers=OPERATOR,
    )
    assert plain.status == 422
    assert "fills only a secret setting" in (await plain.json())["error"]["message"]
    loud = await client.post(
        "/api/v1/config/apply",
        data=pagerduty_file("b", {"routing_key": "x" * 32, "default_severity": "loud"}),
        headers=OPERATOR,
    )
    assert loud.status == 422
    assert (
        "default_severity: one of critical, error, warning, info"
        in (await loud.json())["error"]["message"]
    )
    good = await client.post(
        "/api/v1/config/apply",
        data=pagerduty_file("b", {"routing_key": "${CHATOPS_SECRET_B_PD_ROUTING_KEY}"}),
        headers=OPERATOR,
    )
    assert good.status == 200, await good.text()
    assert ROUTING_KEY not in await everything_readable(client, OPERATOR, "b")


async def test_a_tenant_reapplies_its_export_and_keeps_its_secrets(client: Client) -> None:
    tenant_a = await admin_key(client, "a")
    made = await client.post(
        "/api/v1/integrations?tenant=a",
        json={"type": "pagerduty", "name": "pd", "settings": {"routing_key": ROUTING_KEY}},
        headers=tenant_a,
    )
    assert made.status == 201, await made.text()
    hook = await client.post(
        "/api/v1/integrations?tenant=a",
        json={"type": "webhook", "name": "hook", "settings": {"url": "http://127.0.0.1:9/h"}},
        headers=tenant_a,
    )
    hook_id = (await hook.json())["data"]["id"]
    channel = await client.post(
        "/api/v1/channels?tenant=a",
        json={
            "name": "capability",
            "integration": hook_id,
            "target": "http://127.0.0.1:9/hooks/T0/B0/S3CRETPATH",
        },
        headers=tenant_a,
    )
    assert channel.status == 201, await channel.text()
    exported = await (await client.get("/api/v1/config?tenant=a", headers=tenant_a)).text()
    assert ROUTING_KEY not in exported and "S3CRETPATH" not in exported
    assert "${CHATOPS_SECRET_A_PD_ROUTING_KEY}" in exported
    assert "target: ${CHATOPS_SECRET_A_CHANNEL_CAPABILITY_TARGET}" in exported
    again = await client.post("/api/v1/config/apply?tenant=a", data=exported, headers=tenant_a)
    assert await again.json() == {"changes": [], "applied": False, "message": "no changes"}
    services = client.app[SERVICES]
    async with services.db.session() as session:
        from sqlalchemy import select

        from storage.schema import Channel, Integration

        row = await session.scalar(select(Integration).where(Integration.name == "pd"))
        target = await session.scalar(select(Channel.target).where(Channel.name == "capability"))
    assert row is not None and services.keyring.decrypt(row.credentials) == {
        "routing_key": ROUTING_KEY
    }
    assert target == "http://127.0.0.1:9/hooks/T0/B0/S3CRETPATH"


async def test_names_that_spell_alike_get_their_own_variables(client: Client) -> None:
    for name in ("ops hook", "ops-hook", "Ops.Hook"):
        resp = await client.post(
            "/api/v1/integrations",
            json={"type": "webhook", "name": name, "settings": {"url": "http://127.0.0.1:9/h"}},
        )
        assert resp.status == 201, await resp.text()
    document = yaml.safe_load(await (await client.get("/api/v1/config")).text())
    urls = [i["settings"]["url"] for i in document["tenants"]["default"]["integrations"]]
    assert len(urls) == 3 and len(set(urls)) == 3, urls
    assert "${CHATOPS_SECRET_OPS_HOOK_URL}" in urls  # the first keeps the plain spelling


async def test_a_password_in_a_plain_url_setting_is_refused(client: Client) -> None:
    resp = await client.post(
        "/api/v1/integrations",
        json={
            "type": "alertmanager",
            "name": "am",
            "settings": {"url": "http://admin:hunter2@127.0.0.1:9093"},
        },
    )
    body = await resp.json()
    assert resp.status == 400 and "give them in their own secret settings" in str(body), body
    assert "hunter2" not in str(body)


BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{chr(98 + n)}: &{chr(98 + n)} [" + ",".join([f"*{chr(97 + n)}"] * 10) + "]"
            for n in range(8)
        ),
        "version: 1",
        "tenants: {}",
    ]
)


async def test_files_that_would_stall_the_bot_are_refused_at_once(client: Client) -> None:
    tenant_a = await admin_key(client, "a")
    started = time.monotonic()
    for text, expected in (
        (BOMB, "YAML aliases (*name) are not accepted"),
        ("[" * 1000 + "]" * 1000, "nested more than 64 deep"),
        ("version: 1\ntenants: {}\nx: " + "9" * 5000, "cannot be read"),
    ):
        resp = await client.post("/api/v1/config/plan?tenant=a", data=text, headers=tenant_a)
        body = await resp.json()
        assert resp.status == 422 and expected in body["error"]["message"], body
    health = await client.get("/health")
    assert health.status == 200
    assert time.monotonic() - started < 30  # the 10^8-leaf bomb took 55 s and 5.5 GB before


def test_the_cli_refuses_endless_and_foreign_files_in_one_line(tmp_path: Path) -> None:
    chatops = chatops_cli(tmp_path)
    endless = chatops("config", "apply", "/dev/zero")
    assert endless.returncode == 2
    assert (
        endless.stderr.strip()
        == "chatops: /dev/zero: more than 1 MB; a configuration file is at most 1 MB"
    )
    secretish = tmp_path / "passwd"
    secretish.write_text("root:x:0:0:S3CRET-LINE:/root:/bin/bash\n")
    foreign = chatops("config", "apply", str(secretish))
    assert foreign.returncode == 2 and "S3CRET-LINE" not in foreign.stderr + foreign.stdout
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(BOMB)
    refused = chatops("config", "apply", str(bomb))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "YAML aliases" in refused.stderr


async def test_a_console_cookie_signed_with_the_encryption_key_is_refused(client: Client) -> None:
    """The session key is its own secret: knowing the encryption key forges no session."""
    import hashlib
    import hmac

    keyring_key = (Path(client.app[SERVICES].settings.data_dir) / "secret.key").read_text().strip()
    old_way = hmac.new(keyring_key.encode(), b"console-session", hashlib.sha256).digest()
    session_key = client.app[SERVICES].session_key
    holder = "op:" + hmac.new(session_key, API_TOKEN.encode(), "sha256").hexdigest()[:32]
    for key, signed_in in ((old_way, False), (session_key, True)):
        cookie = URLSafeTimedSerializer(key, salt="chatops-console").dumps(
            {"n": "operator", "t": None, "c": "x", "k": holder}
        )
        resp = await client.get(
            "/ui",
            cookies={"chatops_session": cookie},
            allow_redirects=False,
            headers={"Authorization": ""},
        )
        assert (resp.status == 200) is signed_in, (resp.status, signed_in)


async def test_a_process_with_another_encryption_key_refuses_to_start(
    settings: Settings, tmp_path: Path
) -> None:
    from aiohttp.test_utils import TestServer

    from bot.infra.secrets import SecretKeyError, generate_key
    from bot.runtime.app import create_app

    first = settings.model_copy(update={"secret_key": SecretStr(generate_key())})
    app = create_app(first)
    async with TestClient(TestServer(app, host="127.0.0.1")):
        pass
    stranger = settings.model_copy(
        update={"secret_key": SecretStr(generate_key()), "data_dir": str(tmp_path / "b")}
    )
    with pytest.raises(SecretKeyError, match="must share the same CHATOPS_SECRET_KEY"):
        async with TestClient(TestServer(create_app(stranger), host="127.0.0.1")):
            pass
    # a rotation (the new key first, the recorded one after it) is not a stranger
    assert first.secret_key is not None
    both = f"{generate_key()},{first.secret_key.get_secret_value()}"
    rotated = settings.model_copy(update={"secret_key": SecretStr(both)})
    async with TestClient(TestServer(create_app(rotated), host="127.0.0.1")):
        pass
