"""Ingest-to-delivered: the real program on SQLite and PostgreSQL, a sink on loopback.

Events go in through `POST /api/v1/events`; the clock runs from just before each request
to the moment the sink receives the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from aiohttp import web
from cryptography.fernet import Fernet

from tests.helpers import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


class Sink:
    """Records when each alert arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.received = 0  # every delivery, a second copy of an alert too
        self.runner: web.AppRunner | None = None
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received += 1
        self.arrived.setdefault(body["alert"]["id"], time.perf_counter())
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_bot(
    database_url: str, port: int, data: str, role: str = "all", **env: str
) -> subprocess.Popen[bytes]:
    """The real program on `port` (under cProfile when BENCH_PROFILE names a file), with
    CHATOPS_* settings for `database_url`, `data` and `env` (keys without the prefix)."""
    settings = {
        "DATABASE_URL": database_url,
        "API_TOKEN": TOKEN,
        "DATA_DIR": data,
        "ALLOW_PRIVATE_TARGETS": "true",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        if os.environ.get("BENCH_PROFILE")
        else []
    )
    if os.environ.get("BENCH_SAMPLE"):  # a sampling profiler: little overhead, a call tree
        output = f"{os.environ['BENCH_SAMPLE']}.{port}"  # one file per bot (the port tells)
        profile = ["-m", "pyinstrument", "-r", "text", "--show-all", "-o", output]
    bot = subprocess.Popen(
        [sys.executable, *profile, "-m", "bot", "run", "--port", str(port), "--role", role],
        cwd=ROOT,
        env={**os.environ, **{f"CHATOPS_{k}": v for k, v in settings.items()}},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if os.environ.get("BENCH_SPY"):  # py-spy on every thread, SQLite's too: folded stacks
        spy = ["py-spy", "record", "--threads", "--nonblocking", "-r", "250", "-f", "raw"]
        subprocess.Popen(
            [*spy, "-o", f"{os.environ['BENCH_SPY']}.{bot.pid}", "--pid", str(bot.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return bot


async def run_pipeline(
    database_url: str,
    events: int,
    concurrency: int,
    rate: float | None = None,
    *,
    roles: tuple[str, ...] = ("all",),
) -> dict[str, Any]:
    """Start the bot on `database_url` (a process per role: several on PostgreSQL), push
    `events` (at `rate` a second, or as fast as it takes them; spread over the processes that
    take events: `all` and `web`), and measure until all are delivered: duplicates, the CPU of
    every process, and on PostgreSQL the longest lock wait seen (pg_stat_activity, 50 ms)."""
    sink = Sink()
    await sink.start()
    processes = len(roles)
    ports = [free_port() for _ in range(processes)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    data = tempfile.mkdtemp(prefix="chatops-bench-")
    key = Fernet.generate_key().decode()  # one encryption key: the processes share secrets
    procs = [
        start_bot(database_url, port, f"{data}/{n}", role, SECRET_KEY=key)
        for n, (port, role) in enumerate(zip(ports, roles, strict=True))
    ]
    sampling = LockWaits(database_url)
    try:
        for base, proc in zip(bases, procs, strict=True):
            await wait_healthy(base, proc)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        limits = httpx.Limits(max_connections=concurrency)
        # The load comes from aiohttp's client: httpx's tops out near 500 requests a second
        # on two cores, below what is measured here (see `bare_floor`).
        connectors = [aiohttp.TCPConnector(limit=concurrency) for _ in bases]
        async with httpx.AsyncClient(
            base_url=bases[0], headers=headers, limits=limits, timeout=60
        ) as http:
            await http.post(
                "/api/v1/integrations",
                json={
                    "type": "webhook",
                    "name": "sink",
                    "settings": {"url": f"http://127.0.0.1:{sink.port}/hook"},
                },
            )
            await http.post(
                "/api/v1/channels",
                json={"name": "sink", "integration": "sink", "rate_per_minute": 1_000_000},
            )
            await http.post("/api/v1/routes", json={"channel": "sink"})
        loads = [
            aiohttp.ClientSession(base, headers=headers, connector=connector)
            for base, connector in zip(bases, connectors, strict=True)
        ]
        takers = [load for load, role in zip(loads, roles, strict=True) if role in ("all", "web")]
        try:
            submitted: dict[str, float] = {}
            gate = asyncio.Semaphore(concurrency)

            async def submit(i: int) -> None:
                if rate:
                    await asyncio.sleep(i / rate)
                async with gate:
                    started = time.perf_counter()
                    body = {"title": f"bench {i}", "dedup_key": f"b{i}"}
                    load = takers[i % len(takers)]
                    async with load.post("/api/v1/events", json=body) as resp:
                        submitted[(await resp.json())["id"]] = started

            await asyncio.sleep(1.5)  # every process has heard of the route (NOTIFY, cache)
            cpu = sum(cpu_seconds(p.pid) for p in procs)
            await sampling.start()
            begin = time.perf_counter()
            await asyncio.gather(*(submit(i) for i in range(events)))
            accepted = time.perf_counter() - begin
            while len(sink.arrived) < events:
                if time.perf_counter() - begin > 600:
                    raise RuntimeError(f"only {len(sink.arrived)} of {events} delivered in 10 min")
                await asyncio.sleep(0.02)
            total = max(sink.arrived.values()) - begin
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu
            await asyncio.sleep(1.0)  # a duplicate would arrive by now
        finally:
            for load in loads:
                await load.close()
            longest_lock = await sampling.stop()
        latencies = sorted(sink.arrived[i] - submitted[i] for i in submitted)
        return {
            "events": events,
            "ingest_per_s": events / accepted,
            "delivered_per_s": events / total,
            "drain": total / accepted,  # 1.0: every event delivered as the last was accepted
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "cpu_ms": cpu / events * 1000,
            "duplicates": sink.received - len(sink.arrived),
            "longest_lock_ms": longest_lock,
            "lock_samples": sampling.samples,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await sink.stop()
        shutil.rmtree(data, ignore_errors=True)


class LockWaits:
    """The longest wait for a lock among the database's sessions, sampled every 50 ms while
    running (PostgreSQL; nothing to sample on SQLite, which has one writer by design)."""

    def __init__(self, database_url: str) -> None:
        self.dsn = (
            database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            if database_url.startswith("postgresql")
            else None
        )
        self.longest = 0.0
        self.samples = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.dsn is not None:
            self.task = asyncio.create_task(self._sample(self.dsn))

    async def _sample(self, dsn: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            while True:
                waited = await connection.fetchval(
                    "SELECT coalesce(max(extract(epoch FROM now() - state_change)), 0) "
                    "FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                )
                self.longest = max(self.longest, float(waited) * 1000)
                self.samples += 1
                await asyncio.sleep(0.05)
        finally:
            await connection.close()

    async def stop(self) -> float:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return self.longest


async def bare_floor(events: int, concurrency: int) -> float:
    """Requests a second to an aiohttp handler that reads the body and answers 202 with an id,
    in another process, driven by the same client as the pipeline: the floor of the figures."""
    port = free_port()
    code = (
        "import sys\n"
        "from aiohttp import web\n"
        "async def h(r):\n"
        "    await r.read()\n"
        "    return web.json_response({'id': 'x'}, status=202)\n"
        "app = web.Application()\n"
        "app.router.add_post('/api/v1/events', h)\n"
        "app.router.add_get('/ready', lambda r: web.json_response({}))\n"
        "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc)
        gate = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(base, connector=connector) as load:

            async def submit(i: int) -> None:
                async with gate:
                    body = {"title": f"bench {i}", "dedup_key": f"b{i}"}
                    async with load.post("/api/v1/events", json=body) as resp:
                        await resp.read()

            begin = time.perf_counter()
            await asyncio.gather(*(submit(i) for i in range(events)))
            return events / (time.perf_counter() - begin)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
