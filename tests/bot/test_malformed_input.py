"""Malformed input a hostile run found answered 500: each is a 4xx with the JSON error now,
on SQLite and on PostgreSQL (whose text type refuses NUL and whose columns have lengths)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from tests.conftest import API_TOKEN
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign

Client = TestClient  # type: ignore[type-arg]
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
BLOCK_ACTIONS_WITHOUT_ACTIONS = urlencode(
    {"payload": json.dumps({"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}})}
).encode()
BOM_JSON = b'\xef\xbb\xbf{"type": "event_callback", "event": {"type": "app_mention"}}'

PROBES: list[tuple[str, str, str, bytes | None, dict[str, str]]] = [
    ("login, multipart without a boundary", "POST", "/ui/login", b"--x\r\n", {"Content-Type": "multipart/form-data"}),
    ("login, invalid UTF-8", "POST", "/ui/login", b"token=\xff\xfe", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("NUL in an alert page's path", "GET", "/alerts/%00/%00", None, {}),
    ("NUL in a digest page's path", "GET", "/digests/%00", None, {}),
    ("NUL in an event id", "GET", "/api/v1/events/%00", None, AUTH),
    ("an offset past any integer", "GET", "/api/v1/events?offset=99999999999999999999", None, AUTH),
    ("a 300-character name", "PATCH", "/api/v1/integrations/{id}", json.dumps({"name": "n" * 300}).encode(), {**AUTH, "Content-Type": "application/json"}),
    ("Slack JSON with a byte-order mark", "POST", "/slack/events", BOM_JSON, {"Content-Type": "application/json", **sign(BOM_JSON)}),
    ("Slack block_actions without actions", "POST", "/slack/events", BLOCK_ACTIONS_WITHOUT_ACTIONS, {"Content-Type": "application/x-www-form-urlencoded", **sign(BLOCK_ACTIONS_WITHOUT_ACTIONS)}),
]  # fmt: skip


@pytest.fixture
async def bot(settings: Settings) -> object:
    slack = await FakeSlack().start()
    configured = settings.model_copy(
        update={
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        yield client
    await slack.stop()


@pytest.mark.parametrize("what,method,path,body,headers", PROBES, ids=[p[0] for p in PROBES])
async def test_malformed_input_is_a_4xx_never_a_500(
    bot: Client, what: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    made = await bot.post(
        "/api/v1/integrations",
        headers=AUTH,
        json={"type": "webhook", "name": "w", "settings": {"url": "http://127.0.0.1:9/x"}},
    )
    integration_id = (await made.json())["data"]["id"]
    before = await (await bot.get("/api/v1/integrations", headers=AUTH)).json()
    resp = await bot.request(method, path.format(id=integration_id), data=body, headers=headers)
    assert 400 <= resp.status < 500, (what, resp.status, await resp.text())
    assert "error" in await resp.json()
    after = await (await bot.get("/api/v1/integrations", headers=AUTH)).json()
    assert after == before  # nothing changed
