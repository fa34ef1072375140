"""The webhook's HTTP client, beside the one it replaced: CPU per POST to a loopback server.

Both connect only to checked addresses: `CheckedPoster` (aiohttp, kept-alive connections whose
resolver checks each address) and httpx through `PinnedTransport` (which resolves the host
before every request). The server runs in the same process, so each figure is client and server
together; the floor is the same server driven by aiohttp with no checking at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from aiohttp import web

from adapters.egress import CheckedPoster, PinnedTransport

BODY = b'{"kind":"alert","title":"' + b"x" * 800 + b'"}'
HEADERS = {"Content-Type": "application/json", "X-ChatOps-Delivery": "bench"}


async def _cpu_per_request(post: Callable[[], Awaitable[object]], count: int) -> float:
    gate = asyncio.Semaphore(16)

    async def one() -> None:
        async with gate:
            await post()

    began = time.process_time()
    await asyncio.gather(*(one() for _ in range(count)))
    return (time.process_time() - began) / count * 1e6


async def _run(count: int) -> dict[str, list[float]]:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/hook"
    poster = CheckedPoster("webhook", allow_private=True, timeout=10)
    pinned = httpx.AsyncClient(transport=PinnedTransport(allow_private=True))
    bare = aiohttp.ClientSession()

    async def ours() -> None:
        await poster.post(url, BODY, HEADERS)

    async def before() -> None:
        (await pinned.post(url, content=BODY, headers=HEADERS)).raise_for_status()

    async def floor() -> None:
        async with bare.post(url, data=BODY, headers=HEADERS) as resp:
            await resp.read()

    figures: dict[str, list[float]] = {"ours": [], "httpx": [], "floor": []}
    try:
        for _ in range(2):  # alternating, twice
            for name, post in (("ours", ours), ("httpx", before), ("floor", floor)):
                figures[name].append(await _cpu_per_request(post, count))
    finally:
        await poster.close()
        await pinned.aclose()
        await bare.close()
        await runner.cleanup()
    return figures


def run_clients(count: int = 3000) -> dict[str, list[float]]:
    """Microseconds of CPU per POST, two rounds each: ours, httpx pinned, bare aiohttp."""
    return asyncio.run(_run(count))
