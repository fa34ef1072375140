"""The Slack app manifest asks for what the bot listens to; link buttons never get a 404."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import yaml
from aiohttp.test_utils import TestClient

from cards.blockkit import LINK_BUTTONS
from tests.conftest import REPOSITORY
from tests.fakes.slack import FakeSlack
from tests.fixtures import FIXTURES
from tests.helpers import eventually
from tests.scenarios.slackops import click, slash

Client = TestClient  # type: ignore[type-arg]


def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((REPOSITORY / "manifest.yml").read_text()))


def test_the_manifest_is_valid_for_slack() -> None:
    """Slack's published manifest schema (v1): a typo never reaches an admin's install screen."""
    schema = json.loads((FIXTURES / "slack" / "app-manifest-schema-1.0.0.json").read_text())
    problems = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(manifest())]
    assert problems == []


def test_a_typo_in_the_manifest_would_be_caught() -> None:
    schema = json.loads((FIXTURES / "slack" / "app-manifest-schema-1.0.0.json").read_text())
    broken = manifest()
    broken["features"]["app_home"]["home_tab_enabeld"] = True
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_manifest_subscribes_to_every_event_the_bot_handles() -> None:
    data = manifest()
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert "app_home_opened" in events
    assert data["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/chatops"]


async def test_a_link_button_click_is_acknowledged(bot: Client, slack: FakeSlack) -> None:
    assert (await slash(bot, "subscribe min=LOW")).status == 200
    resp = await bot.post("/api/v1/events", json={"title": "x", "link": "https://example.com"})
    alert_id = (await resp.json())["id"]
    await eventually(lambda: slack.in_channel("C111"))
    for action_id in LINK_BUTTONS:
        clicked = await click(bot, action_id, alert_id)
        assert clicked.status == 200, action_id
    detail = await (await bot.get(f"/api/v1/events/{alert_id}")).json()
    assert detail["state"] == "triggered" and detail["audit"] == []
