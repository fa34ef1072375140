"""Serving a fake on a free loopback port, and closing it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer


async def serve(app: web.Application) -> TestServer:
    """Start `app` on 127.0.0.1 at a free port."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def close(server: TestServer | None) -> None:
    """Stop a server started by `serve` (nothing when it never started)."""
    if server is not None:
        await server.close()
