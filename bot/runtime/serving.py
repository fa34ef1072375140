"""Serving over TCP with deadlines, so slow or silent clients cannot hold connections forever.

aiohttp waits as long as a client likes for the rest of a request's headers or body. Here a
request must arrive whole within HEADER_SECONDS of its first byte (headers) and BODY_SECONDS
(body), and at most MAX_BODY_READS bodies are read at once; `/health` and other body-less
requests never wait behind them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import weakref
from typing import Any

from aiohttp import web

from bot.infra.web import Handler, error_response

log = logging.getLogger("chatops.http")
HEADER_SECONDS = 10.0
BODY_SECONDS = 30.0
MAX_BODY_READS = 256
_guards: weakref.WeakKeyDictionary[Any, SlowClientGuard] = weakref.WeakKeyDictionary()


class SlowClientGuard(asyncio.Protocol):
    """Wraps aiohttp's protocol: a request must be under way within HEADER_SECONDS."""

    def __init__(self, inner: Any, header_seconds: float = HEADER_SECONDS) -> None:
        self._inner, self._seconds = inner, header_seconds
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.in_request = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _guards[transport] = self
        self._inner.connection_made(transport)
        self._arm()  # a connection that never says anything is closed too

    def data_received(self, data: bytes) -> None:
        if not self.in_request:
            self._arm()
        self._inner.data_received(data)

    def _arm(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._seconds, self._too_slow)

    def _too_slow(self) -> None:
        self._timer = None
        if not self.in_request and self._transport is not None:
            log.info("closed a connection that sent no whole request in time")
            self._transport.close()

    def request_started(self) -> None:
        self.in_request = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def request_finished(self) -> None:
        self.in_request = False

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@web.middleware
async def mark_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tell the connection's guard a whole request head arrived, and when it is answered."""
    guard = _guards.get(request.transport) if request.transport else None
    if guard is not None:
        guard.request_started()
    try:
        return await handler(request)
    finally:
        if guard is not None:
            guard.request_finished()


def body_deadline(seconds: float = BODY_SECONDS, concurrent: int = MAX_BODY_READS) -> Any:
    """A middleware reading each body within `seconds`, at most `concurrent` at once."""
    reading = asyncio.Semaphore(concurrent)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            if reading.locked():
                return error_response(503, "busy", "too many requests are sending bodies")
            async with reading:
                try:
                    async with asyncio.timeout(seconds):
                        await request.read()  # kept by aiohttp for the handler
                except TimeoutError:
                    log.info("refused a request whose body came too slowly")
                    response = error_response(408, "slow_body", "the body took too long")
                    response.force_close()
                    return response
        return await handler(request)

    return middleware


async def serve(
    app: web.Application, host: str, port: int, header_seconds: float = HEADER_SECONDS
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=75.0)
    await runner.setup()
    loop = asyncio.get_running_loop()
    server = runner.server
    assert server is not None
    listener = await loop.create_server(
        lambda: SlowClientGuard(server(), header_seconds), host, port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        listener.close()
        await listener.wait_closed()
        await runner.cleanup()
