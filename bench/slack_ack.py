"""The Slack acknowledge path under concurrent clicks, beside a bare Bolt app.

Ours: the real program (`python -m bot run`, SQLite or PostgreSQL) posts a card for each alert
into a Slack channel (the fake, unpaced, the channel allowed any rate), then takes signed
`block_actions` clicks on them, one distinct alert per request, `concurrency` at a time; the run
ends when every alert is acknowledged in the database and every card updated in Slack. Bare: a
Bolt app in its own process whose listener only calls `ack()`, driven by the same client with
the same signed payloads. CPU is the server process's own (user + system), read from /proc.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.pipeline import TOKEN, cpu_seconds, start_bot
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, sign
from tests.fixtures import FIXTURES
from tests.helpers import free_port, wait_healthy

FIXTURE = FIXTURES / "slack" / "block_actions.bolt_test.json"

BARE_BOLT = """
import sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

secret, token, api, port = sys.argv[1:5]
bolt = AsyncApp(signing_secret=secret, token=token,
                client=AsyncWebClient(token=token, base_url=api))

@bolt.action("acknowledge")
async def only_ack(ack):
    await ack()

async def handle(request):
    return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

app = web.Application()
app.router.add_post("/slack/events", handle)
app.router.add_get("/ready", lambda r: web.json_response({}))
web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)
"""


def click_body(alert_id: str) -> str:
    """A signed-to-be `block_actions` payload (Slack's published sample) clicking Acknowledge."""
    payload = json.loads(FIXTURE.read_text())
    payload["user"] = {"id": "U222", "username": "u", "name": "u", "team_id": TEAM_ID}
    payload["team"]["id"] = TEAM_ID
    payload["channel"] = {"id": "C111", "name": "ops"}
    payload["actions"][0].update(action_id="acknowledge", value=alert_id)
    return urlencode({"payload": json.dumps(payload)})


async def _clicks(base: str, bodies: list[str], concurrency: int) -> tuple[float, list[float]]:
    """Post every body, `concurrency` at a time; the wall time and each request's latency."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as load:

        async def click(body: str) -> None:
            async with gate:
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
                started = time.perf_counter()
                async with load.post("/slack/events", data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"a click was answered {resp.status}")
                latencies.append(time.perf_counter() - started)

        begin = time.perf_counter()
        await asyncio.gather(*(click(b) for b in bodies))
        return time.perf_counter() - begin, latencies


def _figures(count: int, wall: float, latencies: list[float], cpu: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "clicks": count,
        "per_s": count / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "cpu_ms": cpu / count * 1000,
    }


async def ours(database_url: str, count: int, concurrency: int) -> dict[str, float]:
    """The real program: clicks answered, then every acknowledgement committed and its card
    updated in Slack."""
    slack = await FakeSlack(per_channel_interval=0.0).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="chatops-bench-ack-")
    proc = start_bot(
        database_url,
        port,
        data,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.url,
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        await wait_healthy(base, proc)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(base, headers=headers, connector=connector) as api:
            gate = asyncio.Semaphore(concurrency)
            for _ in range(100):  # the bot token becomes the Slack integration at start
                async with api.get("/api/v1/integrations") as resp:
                    if any(i["type"] == "slack" for i in (await resp.json())["data"]):
                        break
                await asyncio.sleep(0.05)
            channel = {"name": "ops", "integration": "Slack", "target": "C111"}
            async with api.post("/api/v1/channels", json={**channel, "rate_per_minute": 10**6}):
                pass
            async with api.post("/api/v1/routes", json={"channel": "ops"}) as resp:
                assert resp.status == 201, await resp.text()

            async def alert(i: int) -> str:
                async with gate, api.post("/api/v1/events", json={"title": f"a{i}"}) as resp:
                    return str((await resp.json())["id"])

            ids = await asyncio.gather(*(alert(i) for i in range(count + 5)))
            while len(slack.in_channel("C111")) < count + 5:  # every alert's card is up
                await asyncio.sleep(0.05)

            def updated() -> int:
                return sum(1 for m in slack.messages if m.updates)

            async def acknowledged() -> int:
                query = "/api/v1/events?state=acknowledged&limit=1"
                async with api.get(query) as resp:
                    return int((await resp.json())["total"])

            await _clicks(base, [click_body(i) for i in ids[:5]], 1)  # tenant bound, warm
            while await acknowledged() < 5:
                await asyncio.sleep(0.01)
            cpu = cpu_seconds(proc.pid)
            wall, latencies = await _clicks(base, [click_body(i) for i in ids[5:]], concurrency)
            answered = wall
            begin = time.perf_counter() - wall
            while await acknowledged() < count + 5 or updated() < count + 5:
                if time.perf_counter() - begin > 300:
                    raise RuntimeError("the clicks were not all committed within 5 minutes")
                await asyncio.sleep(0.05)
            committed = time.perf_counter() - begin
            cpu = cpu_seconds(proc.pid) - cpu
        figures = _figures(count, answered, latencies, cpu)
        figures["committed_per_s"] = count / committed
        return figures
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await slack.stop()
        shutil.rmtree(data, ignore_errors=True)


async def bare(count: int, concurrency: int) -> dict[str, float]:
    """A Bolt app that only acknowledges, in its own process, same client and payloads."""
    slack = await FakeSlack().start()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_BOLT, SIGNING_SECRET, BOT_TOKEN, slack.url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        base = f"http://127.0.0.1:{port}"
        await _clicks(base, [click_body(f"w{i}") for i in range(5)], 1)
        cpu = cpu_seconds(proc.pid)
        wall, latencies = await _clicks(
            base, [click_body(f"x{i}") for i in range(count)], concurrency
        )
        return _figures(count, wall, latencies, cpu_seconds(proc.pid) - cpu)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await slack.stop()


def run_slack_ack(
    database_url: str, count: int = 1000, concurrency: int = 32
) -> dict[str, dict[str, Any]]:
    """Both measurements in the same run."""
    return {
        "bare": asyncio.run(bare(count, concurrency)),
        "ours": asyncio.run(ours(database_url, count, concurrency)),
    }
