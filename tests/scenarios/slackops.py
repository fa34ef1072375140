"""Talking to the bot as Slack does: signed slash commands and button clicks."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient

from tests.fakes.slack import TEAM_ID, sign
from tests.fixtures import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "slack"
Client = TestClient  # type: ignore[type-arg]


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


async def slash(
    bot: Client,
    text: str,
    user: str = "W111",
    team: str = TEAM_ID,
    channel: str = "C111",
    headers: dict[str, str] | None = None,
    response_url: str | None = None,
) -> Any:
    form = fixture("slash_command.bolt_test.parsed.json")
    if response_url:
        form["response_url"] = response_url
    form.update(
        command="/chatops",
        text=text,
        user_id=user,
        user_name=user.lower(),
        team_id=team,
        channel_id=channel,
        channel_name="ops",
    )
    body = urlencode(form)
    return await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or sign(body))},
    )


async def click(
    bot: Client,
    verb: str,
    value: str,
    user: str = "U222",
    team: str = TEAM_ID,
    headers: dict[str, str] | None = None,
    channel: str = "C111",
) -> Any:
    payload = copy.deepcopy(fixture("block_actions.bolt_test.json"))
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}
    payload["team"]["id"] = team
    payload["channel"] = {"id": channel, "name": "ops" if channel == "C111" else "directmessage"}
    payload["container"] = {"type": "message", "message_ts": "1.2", "channel_id": channel}
    payload["actions"][0].update(action_id=verb, value=value, block_id=f"alert:{value}")
    body = urlencode({"payload": json.dumps(payload)})
    return await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or sign(body))},
    )


async def choose(bot: Client, action_id: str, alert_id: str, value: str, user: str = "U222") -> Any:
    """A choice in a card's menu (the snooze menu): its block names the alert."""
    payload = copy.deepcopy(fixture("block_actions.bolt_test.json"))
    payload["user"] = {
        "id": user,
        "username": user.lower(),
        "name": user.lower(),
        "team_id": TEAM_ID,
    }
    payload["team"]["id"] = TEAM_ID
    payload["channel"] = {"id": "C111", "name": "ops"}
    payload["container"] = {"type": "message", "message_ts": "1.2", "channel_id": "C111"}
    payload["actions"] = [
        {
            "type": "static_select",
            "action_id": action_id,
            "block_id": f"alert:{alert_id}",
            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            "action_ts": "1700000000.000200",
        }
    ]
    body = urlencode({"payload": json.dumps(payload)})
    return await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )


async def submit_note(bot: Client, view: dict[str, Any], text: str, user: str = "U222") -> Any:
    """The note modal `view` (as the bot opened it) submitted with `text`."""
    payload = copy.deepcopy(fixture("view_submission.bolt_test.json"))
    payload["user"] = {
        "id": user,
        "username": user.lower(),
        "name": user.lower(),
        "team_id": TEAM_ID,
    }
    payload["view"]["callback_id"] = view["callback_id"]
    payload["view"]["private_metadata"] = view["private_metadata"]
    payload["view"]["state"] = {
        "values": {"note": {"text": {"type": "plain_text_input", "value": text}}}
    }
    body = urlencode({"payload": json.dumps(payload)})
    return await bot.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)
