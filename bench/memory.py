"""Memory with many open alerts: 100,000 open alerts in a SQLite file, then the real bot
process serving the console's list, a storm of 1,000 alerts into a Slack channel and 1,000
signed Acknowledge clicks; its resident memory (VmRSS) after each, and its peak (VmHWM). The
floor is the same program started on an empty database."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.pipeline import TOKEN, start_bot
from bench.slack_ack import _clicks, click_body
from bench.storm import CHANNEL, visible, webhook
from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from domain import EventIn, Priority
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers import free_port, wait_healthy


def stop(proc: Any) -> None:
    """SIGTERM, then SIGKILL after 30 s (said: a bot that does not stop is a finding)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print("memory: the bot did not stop within 30 s of SIGTERM; killed", flush=True)
        proc.kill()
        proc.wait(timeout=30)


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process, in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


async def seed(database_url: str, data: str, count: int) -> list[str]:
    """`count` open alerts written through the bot's own ingest (no route: nothing to send)."""
    settings = Settings(
        database_url=database_url,
        data_dir=data,
        api_token=TOKEN,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, role="web")
    services = app[SERVICES]
    await services.db.upgrade()
    priorities = list(Priority)
    ids: list[str] = []
    for start in range(0, count, 1000):
        batches = [
            [
                EventIn(title=f"open {i}", priority=priorities[i % 5], dedup_key=f"open-{i}")
                for i in range(at, min(count, at + 200))
            ]
            for at in range(start, min(count, start + 1000), 200)
        ]
        for done in await asyncio.gather(*(services.ingest.submit_many(b) for b in batches)):
            ids.extend(r.id for r in done if r.id)
    await services.http.aclose()
    await services.db.dispose()
    return ids


async def _bot(database_url: str, data: str, slack: FakeSlack) -> tuple[Any, str]:
    port = free_port()
    proc = start_bot(
        database_url,
        port,
        data,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.url,
    )
    base = f"http://127.0.0.1:{port}"
    await wait_healthy(base, proc)
    return proc, base


async def run_memory(count: int = 100_000, clicks: int = 1000) -> dict[str, Any]:
    data = tempfile.mkdtemp(prefix="chatops-bench-memory-")
    results: dict[str, Any] = {}
    slack = await FakeSlack().start()
    try:
        empty = f"sqlite+aiosqlite:///{data}/empty.db"
        proc, _base = await _bot(empty, f"{data}/empty", slack)
        await asyncio.sleep(1)
        results["floor"] = memory_mb(proc.pid)
        stop(proc)

        database_url = f"sqlite+aiosqlite:///{data}/memory.db"
        started = time.perf_counter()
        ids = await seed(database_url, f"{data}/var", count)
        results["seeded"] = (len(ids), time.perf_counter() - started)
        proc, base = await _bot(database_url, f"{data}/var", slack)
        try:
            results["started"] = memory_mb(proc.pid)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(base, headers=headers, cookie_jar=jar) as http:
                await http.post("/ui/login", data={"token": TOKEN})
                for path in ("/ui", "/ui/alerts.json", "/ui/alerts.json?priority=CRITICAL"):
                    for _ in range(5):
                        async with http.get(path) as resp:
                            assert resp.status == 200, (path, resp.status)
                            await resp.read()
                results["console"] = memory_mb(proc.pid)
                for _ in range(100):  # the bot token becomes the Slack integration at start
                    async with http.get("/api/v1/integrations") as resp:
                        if any(i["type"] == "slack" for i in (await resp.json())["data"]):
                            break
                    await asyncio.sleep(0.05)
                channel = {"name": "storm", "integration": "Slack", "target": CHANNEL}
                async with http.post("/api/v1/channels", json=channel) as resp:
                    assert resp.status == 201, await resp.text()
                async with http.post("/api/v1/routes", json={"channel": "storm"}) as resp:
                    assert resp.status == 201, await resp.text()
                async with http.post("/hooks/alertmanager", json=webhook(1000)) as resp:
                    assert resp.status == 202, await resp.text()
                while visible(slack) < 1000:
                    await asyncio.sleep(0.05)
                results["storm"] = memory_mb(proc.pid)
                await _clicks(base, [click_body(i) for i in ids[:clicks]], 32)

                async def acknowledged() -> int:
                    query = "/api/v1/events?state=acknowledged&limit=1"
                    async with http.get(query) as resp:
                        return int((await resp.json())["total"])

                while await acknowledged() < clicks:
                    await asyncio.sleep(0.1)
                results["clicks"] = memory_mb(proc.pid)
        finally:
            stop(proc)
    finally:
        await slack.stop()
        shutil.rmtree(data, ignore_errors=True)
    return results
