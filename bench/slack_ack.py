"""The Slack acknowledge path against a bare Bolt app that only acknowledges the same payload.

Ours: signed `block_actions` → HTTP 200 → state change committed (waited for). Bare: the
same signed request to a Bolt app whose listener only calls `ack()`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.infra.settings import Settings
from bot.model import EventIn
from bot.runtime.app import SERVICES, create_app
from storage import events as events_repo
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, sign
from tests.fixtures import FIXTURES

FIXTURE = FIXTURES / "slack" / "block_actions.bolt_test.json"


def click_body(alert_id: str) -> str:
    payload = json.loads(FIXTURE.read_text())
    payload["user"] = {"id": "U222", "username": "u", "name": "u", "team_id": TEAM_ID}
    payload["team"]["id"] = TEAM_ID
    payload["channel"] = {"id": "C111", "name": "ops"}
    payload["actions"][0].update(action_id="acknowledge", value=alert_id)
    return urlencode({"payload": json.dumps(payload)})


async def _timed_posts(client: TestClient, bodies: list[str]) -> list[float]:  # type: ignore[type-arg]
    times = []
    for body in bodies:
        started = time.perf_counter()
        resp = await client.post(
            "/slack/events",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        await resp.read()
        assert resp.status == 200, resp.status
        times.append(time.perf_counter() - started)
    return times


async def ours(count: int) -> dict[str, float]:
    slack = await FakeSlack().start()
    data = tempfile.mkdtemp(prefix="chatops-bench-slack-")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{data}/b.db",
        data_dir=data,
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_api_url=slack.url,
        log_level="WARNING",
        _env_file=None,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        services = app[SERVICES]
        ids = [
            (await services.ingest.submit(EventIn(title=f"a{i}", dedup_key=f"a{i}"))).id
            for i in range(count)
        ]
        bodies = [click_body(str(i)) for i in ids]
        await _timed_posts(client, bodies[:5])  # warm up: auth.test, tenant binding
        started = time.perf_counter()
        http = await _timed_posts(client, bodies[5:])
        while True:
            async with services.db.session() as session:
                alerts = [await events_repo.get(session, str(i)) for i in ids[5:]]
            if all(a is not None and a.state.value == "acknowledged" for a in alerts):
                break
            await asyncio.sleep(0.005)
        committed = time.perf_counter() - started
    await slack.stop()
    return {
        "http_p50_ms": statistics.median(http) * 1000,
        "per_click_committed_ms": committed / len(http) * 1000,
    }


async def bare(count: int) -> dict[str, float]:
    slack = await FakeSlack().start()
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        token=BOT_TOKEN,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.url),
    )

    @bolt.action("acknowledge")
    async def only_ack(ack: Any) -> None:
        await ack()

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        bodies = [click_body(f"x{i}") for i in range(count)]
        await _timed_posts(client, bodies[:5])
        started = time.perf_counter()
        http = await _timed_posts(client, bodies[5:])
        total = time.perf_counter() - started
    await slack.stop()
    return {
        "http_p50_ms": statistics.median(http) * 1000,
        "per_click_committed_ms": total / len(http) * 1000,
    }


def run_slack_ack(count: int = 305) -> dict[str, dict[str, float]]:
    """Both measurements in the same run."""
    return {"ours": asyncio.run(ours(count)), "bare": asyncio.run(bare(count))}
