"""Integrations over REST: validated settings, secrets encrypted and never returned or logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from bot.runtime.app import SERVICES
from storage.db import Database
from storage.schema import Integration
from tests.fakes.sink import Sink

Client = TestClient  # type: ignore[type-arg]
SECRET = "pd-routing-key-not-to-be-seen"


async def create(client: Client, **body: Any) -> Any:
    return await client.post("/api/v1/integrations", json=body)


async def test_types_list_settings_and_which_are_secret(client: Client) -> None:
    data = (await (await client.get("/api/v1/integration-types")).json())["data"]
    kinds = {t["id"]: t for t in data}
    assert {"webhook", "pagerduty"} <= set(kinds)
    settings = {s["name"]: s for s in kinds["pagerduty"]["settings"]}
    assert settings["routing_key"]["secret"] is True
    assert settings["events_url"]["secret"] is False


async def test_secrets_are_masked_everywhere_and_encrypted_at_rest(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resp = await create(client, type="pagerduty", name="PD", settings={"routing_key": SECRET})
    assert resp.status == 201
    created = (await resp.json())["data"]
    assert created["settings"]["routing_key"] == "********"
    listed = await (await client.get("/api/v1/integrations")).text()
    one = await (await client.get(f"/api/v1/integrations/{created['id']}")).text()
    by_name = await (await client.get("/api/v1/integrations/PD")).text()
    for shown in (listed, one, by_name, caplog.text):
        assert SECRET not in shown
    services = client.app[SERVICES]
    async with services.db.session() as session:
        stored = (await session.scalars(select(Integration))).one()
    assert stored.credentials and SECRET not in stored.credentials
    assert services.keyring.decrypt(stored.credentials) == {"routing_key": SECRET}


async def test_an_update_without_the_secret_keeps_it(client: Client) -> None:
    created = (
        await (
            await create(
                client,
                type="webhook",
                name="w",
                settings={"url": "https://a.example/x", "secret": "keep"},
            )
        ).json()
    )["data"]
    resp = await client.patch(
        f"/api/v1/integrations/{created['id']}", json={"settings": {"url": "https://b.example/y"}}
    )
    assert resp.status == 200
    data = (await resp.json())["data"]
    assert data["settings"] == {"url": "https://b.example/…/****", "secret": "********"}
    services = client.app[SERVICES]
    async with services.db.session() as session:
        stored = (await session.scalars(select(Integration))).one()
    # The URL is a capability too: encrypted with the secret, never in the plain settings.
    assert services.keyring.decrypt(stored.credentials) == {
        "url": "https://b.example/y",
        "secret": "keep",
    }
    assert "url" not in (stored.config or {})


@pytest.mark.parametrize(
    "body,message",
    [
        ({"type": "carrier-pigeon", "name": "x"}, "unknown integration type 'carrier-pigeon'"),
        ({"type": "pagerduty", "name": "x", "settings": {}}, "routing_key: required"),
        (
            {"type": "webhook", "name": "x", "settings": {"url": "u", "colour": "red"}},
            "colour: not a setting of webhook",
        ),
        ({"type": "webhook", "settings": {"url": "u"}}, "name: Field required"),
        (
            {"type": "webhook", "name": "x", "settings": "url=u"},
            "settings: expected a mapping, got text",
        ),
    ],
)
async def test_invalid_integrations_are_refused_and_not_stored(
    client: Client, body: dict[str, Any], message: str
) -> None:
    resp = await create(client, **body)
    assert resp.status == 400
    assert message in (await resp.json())["error"]["message"]
    assert (await (await client.get("/api/v1/integrations")).json())["data"] == []


async def test_a_duplicate_name_is_a_conflict(client: Client) -> None:
    assert (
        await create(client, type="webhook", name="w", settings={"url": "https://a.example"})
    ).status == 201
    resp = await create(client, type="webhook", name="w", settings={"url": "https://b.example"})
    assert resp.status == 400
    assert "already exists" in (await resp.json())["error"]["message"]


async def test_connection_test_records_its_outcome(client: Client) -> None:
    good = await Sink(secret="s").start()
    try:
        ok = (
            await (
                await create(
                    client, type="webhook", name="ok", settings={"url": good.url, "secret": "s"}
                )
            ).json()
        )["data"]
        bad = (
            await (
                await create(
                    client, type="webhook", name="bad", settings={"url": "http://127.0.0.1:9/x"}
                )
            ).json()
        )["data"]
        passed = (await (await client.post(f"/api/v1/integrations/{ok['id']}/test")).json())["data"]
        failed = (await (await client.post(f"/api/v1/integrations/{bad['id']}/test")).json())[
            "data"
        ]
        assert passed["success"] is True and good.received[0].body == {"kind": "ping"}
        assert good.received[0].signature_ok is True
        assert (
            failed["success"] is False and "Cannot connect to host 127.0.0.1:9" in failed["error"]
        )
        shown = (await (await client.get(f"/api/v1/integrations/{bad['id']}")).json())["data"]
        assert shown["last_connection_test_result"] == "failed"
        assert shown["connection_status"] == "error"
    finally:
        await good.stop()


async def test_delete_removes_the_integration_and_its_channels(client: Client) -> None:
    created = (
        await (
            await create(client, type="webhook", name="w", settings={"url": "https://a.example"})
        ).json()
    )["data"]
    assert (
        await client.post("/api/v1/channels", json={"name": "c", "integration": "w"})
    ).status == 201
    assert (await client.delete(f"/api/v1/integrations/{created['id']}")).status == 200
    assert (await client.get(f"/api/v1/integrations/{created['id']}")).status == 404
    assert (await (await client.get("/api/v1/channels")).json())["data"] == []


async def test_database_never_holds_a_secret_in_plain_text(settings: Any, client: Client) -> None:
    await create(
        client, type="webhook", name="w", settings={"url": "https://a.example", "secret": SECRET}
    )
    db = Database(settings.database_url)
    try:
        async with db.engine.connect() as conn:
            dump = str((await conn.execute(text("SELECT * FROM integrations"))).all())
        assert SECRET not in dump
    finally:
        await db.dispose()
