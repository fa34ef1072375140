"""`chatops config export`: the configuration as YAML, names instead of ids, no secret at all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.core.config_export import export_document, to_yaml
from bot.infra.settings import Settings
from bot.runtime.app import SERVICES
from tests.helpers import chatops_cli, free_port

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


def test_the_cli_writes_a_file(tmp_path: Path) -> None:
    chatops = chatops_cli(tmp_path)
    out = tmp_path / "chatops.yml"
    done = chatops("config", "export", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text())["version"] == 1
    nowhere = chatops("config", "export", "--output", "ftp://host/chatops.yml")
    assert nowhere.returncode == 2
    assert nowhere.stderr == "chatops: ftp://host/chatops.yml: a local path or s3://bucket/key\n"


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An S3 server on loopback (moto's server mode) with one bucket; the environment for it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "CHATOPS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=env["CHATOPS_S3_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket="configs")
    try:
        yield env
    finally:
        server.stop()


# S3 is the same on either database; the round trip through both is tested without it.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_export_to_s3_and_apply_from_it_gives_the_same_setup(
    client: Client, settings: Settings, tmp_path: Path, s3: dict[str, str]
) -> None:
    hook = await client.post(
        "/api/v1/integrations",
        json={
            "type": "webhook",
            "name": "ops",
            "settings": {"url": "https://hooks.example.com/T0/S3CRETPATH", "secret": "S3CRETHMAC"},
        },
    )
    hook_id = (await hook.json())["data"]["id"]
    await client.post("/api/v1/channels", json={"name": "ops", "integration": hook_id})
    await client.post("/api/v1/routes", json={"channel": "ops", "min_priority": "HIGH"})
    chatops = chatops_cli(tmp_path)
    a = {"CHATOPS_DATABASE_URL": settings.database_url, "CHATOPS_DATA_DIR": settings.data_dir}
    out = chatops("config", "export", "--output", "s3://configs/prod/chatops.yml", env={**a, **s3})
    assert out.returncode == 0, out.stderr
    secrets = {
        "CHATOPS_SECRET_OPS_URL": "https://hooks.example.com/T0/S3CRETPATH",
        "CHATOPS_SECRET_OPS_SECRET": "S3CRETHMAC",
    }
    b = {"CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"}
    applied = chatops(
        "config", "apply", "s3://configs/prod/chatops.yml", env={**b, **s3, **secrets}
    )
    assert applied.returncode == 0, applied.stderr
    assert '+ create integration "ops" (webhook) in default' in applied.stdout
    assert "S3CRET" not in applied.stdout + applied.stderr
    mine = chatops("config", "export", env={**a, **s3}).stdout
    assert chatops("config", "export", env={**b, **s3}).stdout == mine
    again = chatops("config", "apply", "s3://configs/prod/chatops.yml", env={**b, **s3, **secrets})
    assert again.stdout == "no changes\n"
    missing = chatops("config", "apply", "s3://configs/nope.yml", env={**b, **s3})
    assert missing.returncode == 2
    assert missing.stderr.strip() == "chatops: s3://configs/nope.yml: S3 said 404"


def test_prune_lists_what_goes_with_an_integration_and_asks_first(tmp_path: Path) -> None:
    from tests.helpers import chatops_cli

    chatops = chatops_cli(tmp_path)

    def ok(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env={
                "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                "CHATOPS_DATA_DIR": str(tmp_path / "var"),
                "PATH": "/usr/bin:/bin",
            },
            input=stdin,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok(
        "integrations",
        "add",
        "webhook",
        "--name",
        "sink",
        "--secrets-stdin",
        stdin="url=https://example.com/h\n",
    )
    ok("channels", "add", "ops", "--integration", "sink")
    ok("routes", "add", "ops", "--min", "HIGH")
    empty = tmp_path / "empty.yml"
    empty.write_text("version: 1\ntenants:\n  default: {}\n")
    plan = chatops("config", "apply", str(empty), "--prune", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert (
        "- delete integration \"sink\" in default (with channel 'ops'; 1 route(s) of those "
        "channels)" in plan.stdout
    )
    refused = chatops("config", "apply", str(empty), "--prune")  # no terminal to ask on
    assert refused.returncode == 2
    assert "add --yes" in refused.stderr and "--dry-run" in refused.stderr
    assert "sink" in ok("integrations", "list")  # nothing was deleted
    done = chatops("config", "apply", str(empty), "--prune", "--yes")
    assert done.returncode == 0 and done.stdout == plan.stdout
    assert "sink" not in ok("integrations", "list")
