"""Fixtures of the end-to-end scenarios: a fake Slack, and the bot wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from tests.conftest import API_TOKEN
from tests.fakes.connector import FakeConnector
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


@pytest.fixture
def admins() -> str:
    """`CHATOPS_ADMINS` of the bot under test; a scenario module may override it."""
    return ""


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack, admins: str) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={
            "admins": admins,
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
        }
    )
    app = create_app(configured)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    """A fake Bot Framework connector (Teams' side of replies and card updates) on loopback."""
    fake = await FakeConnector().start()
    yield fake
    await fake.stop()
