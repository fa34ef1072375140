"""Slack under hostile input: unsigned garbage is a short 401, signed garbage a 400, replays refused."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign
from tests.helpers import eventually
from tests.scenarios.slackops import fixture, slash

Client = TestClient  # type: ignore[type-arg]
FORM = "application/x-www-form-urlencoded"

GARBAGE: list[tuple[str, bytes, str]] = [
    ("payload not JSON", b"payload=notjson", FORM),
    ("invalid UTF-8", b"payload=%7B\xff\xfe", FORM),
    ("broken JSON", b"{bad", "application/json"),
    ("JSON not an object", b"[1, 2]", "application/json"),
    ("payload a list", b"payload=%5B%5D", FORM),
    ("bogus charset", b'{"type": "x"}', "application/json; charset=no-such-charset"),
    ("deep nesting", b"payload=" + b"%5B" * 50_000, FORM),
    ("no content type", b"payload=%7B%7D", ""),
    ("lone surrogate", b'payload={"a": "\\ud800"}', FORM),
]


@pytest.mark.parametrize("label,body,ctype", GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_unsigned_garbage_is_a_401_with_one_short_log_line(
    bot: Client, label: str, body: bytes, ctype: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        resp = await bot.post("/slack/events", data=body, headers={"Content-Type": ctype})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "bad_signature"
    assert [r for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize("label,body,ctype", GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_signed_garbage_is_a_400_never_a_500(
    bot: Client, label: str, body: bytes, ctype: str
) -> None:
    resp = await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": ctype, **sign(body)},
    )
    if label == "bogus charset":  # the bytes are UTF-8 JSON: Bolt finds no listener for it
        assert resp.status == 404
    else:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"]["code"] == "malformed_body"


async def test_a_replayed_escalate_click_raises_the_level_once(
    bot: Client, slack: FakeSlack
) -> None:
    assert (await slash(bot, "subscribe min=LOW")).status == 200
    resp = await bot.post("/api/v1/events", json={"title": "db-1 down", "priority": "CRITICAL"})
    alert_id = (await resp.json())["id"]
    await eventually(lambda: slack.in_channel("C111"))
    payload: dict[str, Any] = fixture("block_actions.bolt_test.json")
    payload["user"] = {"id": "W111", "username": "w", "name": "w", "team_id": payload["team"]["id"]}
    payload["channel"] = {"id": "C111", "name": "ops"}
    payload["actions"][0].update(action_id="escalate", value=alert_id)
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": FORM, **sign(body)}
    first = await bot.post("/slack/events", data=body, headers=headers)
    assert first.status == 200
    again = await bot.post("/slack/events", data=body, headers=headers)
    assert again.status == 401 and (await again.json())["error"]["code"] == "replayed"

    async def escalations() -> list[str]:
        detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
        return [a["verb"] for a in detail["audit"] if a["verb"] == "escalate"]

    for _ in range(50):  # the click is acknowledged first and applied right after
        if await escalations():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert await escalations() == ["escalate"]


async def test_a_replayed_admin_command_runs_once(bot: Client) -> None:
    form = fixture("slash_command.bolt_test.parsed.json")
    form.update(command="/chatops", text="subscribe min=LOW", user_id="W111", channel_id="C111")
    body = urlencode(form)
    headers = {"Content-Type": FORM, **sign(body)}
    assert (await bot.post("/slack/events", data=body, headers=headers)).status == 200
    replay = await bot.post("/slack/events", data=body, headers=headers)
    assert replay.status == 401
    routes = await (await bot.get("/api/v1/routes")).json()
    assert len(routes["data"]) == 1


@pytest.mark.parametrize(
    "text",
    [
        "me " + "x" * 80 + " on",
        "admins add " + "U" * 400,
        "prefs " + "c" * 300 + " off",
        "subscribe " + "e" * 400 + " min=LOW",
        "ack " + "a" * 300,
        "integrations show " + "n" * 500,
        "note\x00 x",
    ],
)
async def test_oversized_command_arguments_get_a_clear_answer(
    bot: Client, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        resp = await slash(bot, text)
    assert resp.status == 200
    answer = (await resp.json())["text"]
    assert answer and "internal" not in answer.lower()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_click_replayed_after_a_restart_is_refused(
    bot: Client, slack: FakeSlack, settings: Settings
) -> None:
    """The bot restarts (a new process on the same database); a click captured before it is
    played to the new process inside Slack's five minutes: refused, the level raised once."""
    assert (await slash(bot, "subscribe min=LOW")).status == 200
    resp = await bot.post("/api/v1/events", json={"title": "db-1 down", "priority": "CRITICAL"})
    alert_id = (await resp.json())["id"]
    await eventually(lambda: slack.in_channel("C111"))
    payload: dict[str, Any] = fixture("block_actions.bolt_test.json")
    payload["user"] = {"id": "W111", "username": "w", "name": "w", "team_id": payload["team"]["id"]}
    payload["channel"] = {"id": "C111", "name": "ops"}
    payload["actions"][0].update(action_id="escalate", value=alert_id)
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": FORM, **sign(body)}
    assert (await bot.post("/slack/events", data=body, headers=headers)).status == 200
    await asyncio.sleep(2.1)  # the restart comes after the click was signed
    restarted = settings.model_copy(
        update={
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
        }
    )
    async with TestClient(TestServer(create_app(restarted), host="127.0.0.1")) as again:
        replay = await again.post("/slack/events", data=body, headers=headers)
        assert replay.status == 401 and (await replay.json())["error"]["code"] == "replayed"
        fresh = urlencode({"payload": json.dumps(payload)})
        assert (
            await again.post(
                "/slack/events", data=fresh, headers={"Content-Type": FORM, **sign(fresh)}
            )
        ).status == 200
    await asyncio.sleep(0.5)
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert [a["verb"] for a in detail["audit"] if a["verb"] == "escalate"] == ["escalate"] * 2
