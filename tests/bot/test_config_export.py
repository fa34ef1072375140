"""`chatops config export`: the configuration as YAML, names instead of ids, no secret at all."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient

from bot.core.config_export import export_document, to_yaml
from bot.runtime.app import SERVICES
from tests.helpers import chatops_cli

Client = TestClient  # type: ignore[type-arg]


async def test_the_export_names_things_and_holds_no_secret(client: Client) -> None:
    hook = await client.post(
        "/api/v1/integrations",
        json={
            "type": "webhook",
            "name": "Ops Hook",
            "settings": {"url": "https://hooks.example.com/T0/URLSECRET1", "secret": "HMACSECRET2"},
        },
    )
    hook_id = (await hook.json())["data"]["id"]
    channel = await client.post(
        "/api/v1/channels", json={"name": "ops", "integration": hook_id, "rate_per_minute": 30}
    )
    channel_id = (await channel.json())["data"]["id"]
    await client.post(
        "/api/v1/routes",
        json={"channel": channel_id, "event_glob": "deploy.*", "min_priority": "HIGH"},
    )
    await client.post("/api/v1/routes", json={"channel": channel_id, "default": True})
    await client.put("/api/v1/preferences", json={"sync_failures": False})
    services = client.app[SERVICES]
    text = to_yaml(await export_document(services.db, services.keyring, None))
    assert text.startswith("# ChatOps configuration")
    assert "URLSECRET1" not in text and "HMACSECRET2" not in text
    assert hook_id not in text and channel_id not in text  # names, never database ids
    tenant = yaml.safe_load(text)["tenants"]["default"]
    assert tenant["integrations"][0]["settings"] == {
        "secret": "${CHATOPS_SECRET_OPS_HOOK_SECRET}",
        "url": "${CHATOPS_SECRET_OPS_HOOK_URL}",
    }
    assert tenant["channels"] == [
        {"name": "ops", "type": "webhook", "integration": "Ops Hook", "rate_per_minute": 30}
    ]
    assert tenant["routes"] == [
        {"channel": "ops", "event_glob": "deploy.*", "min_priority": "HIGH"},
        {"channel": "ops", "default": True},
    ]
    assert tenant["preferences"]["sync_failures"] is False
    again = to_yaml(await export_document(services.db, services.keyring, None))
    assert again == text  # no timestamps: the same setup exports the same file


def test_the_cli_writes_a_file_and_refuses_what_is_not_built(tmp_path: Path) -> None:
    chatops = chatops_cli(tmp_path)
    out = tmp_path / "chatops.yml"
    done = chatops("config", "export", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text())["version"] == 1
    s3 = chatops("config", "export", "--output", "s3://bucket/chatops.yml")
    assert s3.returncode == 2 and "only local files" in s3.stderr
