"""The web console under 1,000 open alerts: page and refresh latency, beside a bare aiohttp
handler serving a JSON body of the same size from the same loop (the floor)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer

from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from domain import EventIn, Priority

TOKEN = "bench-token-0123456789abcdef"


async def _timed(http: ClientSession, path: str, requests: int) -> dict[str, float]:
    times, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        async with http.get(path) as resp:
            size = len(await resp.read())
            assert resp.status == 200, resp.status
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p90_ms": times[int(len(times) * 0.9) - 1],
        "kb": size / 1024,
    }


async def run_console(alerts: int = 1000, requests: int = 100) -> dict[str, dict[str, float]]:
    """Latency of the console's pages with `alerts` open alerts on SQLite, and of the floor."""
    folder = Path(tempfile.mkdtemp(prefix="chatops-bench-console-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'console.db'}",
        data_dir=str(folder / "var"),
        api_token=TOKEN,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    results: dict[str, dict[str, float]] = {}
    async with TestServer(app, host="127.0.0.1") as server:
        ingest = app[SERVICES].ingest
        priorities = list(Priority)
        for start in range(0, alerts, 200):
            await ingest.submit_many(
                [
                    EventIn(title=f"alert {i}", priority=priorities[i % 5], dedup_key=f"k{i}")
                    for i in range(start, min(alerts, start + 200))
                ]
            )
        jar = CookieJar(unsafe=True)
        async with ClientSession(base_url=str(server.make_url("")), cookie_jar=jar) as http:
            await http.post("/ui/login", data={"token": TOKEN})
            async with http.get("/ui/alerts.json") as resp:
                body = await resp.read()
            for name, path in (
                ("alerts.json", "/ui/alerts.json"),
                ("alerts page", "/ui"),
                ("filtered", "/ui/alerts.json?priority=CRITICAL&q=alert%209"),
                ("preview", "/ui/preview"),
            ):
                results[name] = await _timed(http, path, requests)

    async def same(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    floor = web.Application()
    floor.router.add_get("/", same)
    async with TestServer(floor, host="127.0.0.1") as server:
        async with ClientSession(base_url=str(server.make_url(""))) as http:
            results["floor"] = await _timed(http, "/", requests)
    return results
