"""Capability URLs are secrets: no API answer, listing, delivery error or log line shows them."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.infra.logs import JsonFormatter, TextFormatter
from tests.helpers import eventually

Client = TestClient  # type: ignore[type-arg]
SECRETS = ["PATHSECRET1", "QSECRET2", "PWSECRET3", "TGTSECRET4", "QSECRET5"]


async def test_no_answer_or_log_line_shows_a_capability_url(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT", "0")
    monkeypatch.setenv("INTEGRATION_DEFAULTS_WEBHOOK_RETRY_FOR_SECONDS", "0")  # dead at once
    out = io.StringIO()
    handlers = [logging.StreamHandler(out), logging.StreamHandler(out)]
    handlers[0].setFormatter(JsonFormatter())
    handlers[1].setFormatter(TextFormatter())
    root = logging.getLogger()
    for h in handlers:
        root.addHandler(h)
    try:
        hook = await client.post(
            "/api/v1/integrations",
            json={
                "type": "webhook",
                "name": "hook",
                "settings": {"url": "http://127.0.0.1:9/services/T0/PATHSECRET1?token=QSECRET2"},
            },
        )
        assert hook.status == 201, await hook.text()
        jira = await client.post(
            "/api/v1/integrations",
            json={
                "type": "jira",
                "name": "jira",
                "settings": {
                    "site_url": "https://bot:PWSECRET3@jira.example.com",
                    "email": "a@example.com",
                    "api_token": "t",
                    "project_key": "OPS",
                },
            },
        )
        # a password inside a plain URL setting is refused, without saying it back
        refused = await jira.text()
        assert jira.status == 400 and "give them in their own secret settings" in refused
        answers_before = [refused]
        hook_id = (await hook.json())["data"]["id"]
        channel = await client.post(
            "/api/v1/channels",
            json={
                "name": "c",
                "integration": hook_id,
                "target": "http://127.0.0.1:9/hooks/TGTSECRET4?sig=QSECRET5",
            },
        )
        channel_id = (await channel.json())["data"]["id"]
        await client.post("/api/v1/routes", json={"channel": channel_id})
        event = await (await client.post("/api/v1/events", json={"title": "x"})).json()

        async def dead() -> Any:
            detail = await (await client.get(f"/api/v1/events/{event['id']}")).json()
            return detail if detail["deliveries"][0]["status"] == "dead" else None

        detail = await eventually(dead, within=15)
        answers = [
            await (await client.get(path)).text()
            for path in (
                "/api/v1/integrations",
                f"/api/v1/integrations/{hook_id}",
                f"/api/v1/integrations/{hook_id}/logs",
                "/api/v1/channels",
                f"/api/v1/events/{event['id']}",
            )
        ]
        listed = await (await client.get("/api/v1/integrations")).json()
        shown = {i["name"]: i["settings"] for i in listed["data"]}
        assert shown["hook"]["url"] == "http://127.0.0.1:9/…/****"
        assert "jira" not in shown
        assert detail["deliveries"][0]["target"] == "http://127.0.0.1:9/…/****"
    finally:
        for h in handlers:
            root.removeHandler(h)
    everything = "\n".join([*answers_before, *answers, out.getvalue()])
    assert "Cannot connect to host 127.0.0.1:9" in everything  # the failure is told
    assert [s for s in SECRETS if s in everything] == []


async def test_an_unknown_setting_is_refused_with_the_valid_names(client: Client) -> None:
    resp = await client.post(
        "/api/v1/integrations",
        json={
            "type": "webhook",
            "name": "w",
            "settings": {"url": "https://e.com/h", "secrt": "SECRETVALUE9"},
        },
    )
    assert resp.status == 400
    message = (await resp.json())["error"]["message"]
    assert "secrt: not a setting of webhook (its settings: url, secret)" in message
    assert "SECRETVALUE9" not in message


def test_no_secret_sits_in_a_repr(settings: Any) -> None:
    """Options objects end up in logs and tracebacks: their reprs hold no secret."""
    from pydantic import SecretStr

    from adapters.kinds import BuildOptions
    from bot.core.delivery.worker import WorkerOptions

    worker = WorkerOptions(teams=("app-id", "PWSECRET6", "tenant"))
    build = BuildOptions(teams_app_password="PWSECRET6")
    configured = settings.model_copy(update={"teams_app_password": SecretStr("PWSECRET6")})
    shown = " ".join(repr(x) for x in (worker, worker.build, build, configured))
    assert "PWSECRET6" not in shown


async def test_the_services_of_a_process_show_no_secret_in_their_repr(settings: Any) -> None:
    """Everything handlers get (settings, keyring, worker, adapters) printed whole: no secret."""
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from bot.runtime.app import build_services

    key = Fernet.generate_key().decode()
    configured = settings.model_copy(
        update={
            "teams_app_password": SecretStr("PWSECRET7"),
            "secret_key": SecretStr(key),
            "api_token": SecretStr("TOKENSECRET7"),
        }
    )
    services = build_services(configured)
    try:
        shown = repr(services) + repr(vars(services.worker))
        for secret in ("PWSECRET7", key, "TOKENSECRET7"):
            assert secret not in shown
        assert "Services(" in shown
    finally:
        await services.http.aclose()
        await services.db.dispose()
