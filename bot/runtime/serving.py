"""Serving over TCP with deadlines, so slow or silent clients cannot hold connections forever.

aiohttp waits as long as a client likes for the rest of a request's headers or body. Here a
request must arrive whole within HEADER_SECONDS of its first byte (headers) and BODY_SECONDS
(body). Bodies are read in three pools chosen from the request's head (checked keys, fresh
platform signatures, everything else), so slow bodies from clients that proved nothing never
take the slots of authenticated events; `/health` and other body-less requests never wait.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import weakref
from typing import Any

from aiohttp import web

from bot.http.auth import PRINCIPAL, SIGNED_HOOK
from bot.http.console import COOKIE as CONSOLE_COOKIE
from bot.infra.web import Handler, error_response

log = logging.getLogger(__name__)
HEADER_SECONDS = 10.0
BODY_SECONDS = 30.0
MAX_BODY_READS = 256
MAX_ANONYMOUS_READS = 32  # bodies read at once from clients whose head proves nothing
SLACK_FRESH_SECONDS = 300  # Slack's own replay window
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


def body_pool(request: web.Request) -> str:
    """Which pool a request's body is read in, judged from its head alone.

    `keyed`: the bearer token or API key was checked already (the auth middleware runs
    first). `signed`: the platform's signature headers are there and fresh (Slack's within
    five minutes, a Bot Framework bearer token, a provider's signature, a console session);
    they are checked on the body, but a client without them cannot take these slots.
    `anonymous`: everything else (sign-in, unsigned requests), in a pool of its own.
    """
    if request.get(PRINCIPAL) is not None:
        return "keyed"
    headers, path = request.headers, request.path
    if path == "/slack/events":
        stamp = headers.get("X-Slack-Request-Timestamp", "")
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= SLACK_FRESH_SECONDS
        return "signed" if fresh and headers.get("X-Slack-Signature") else "anonymous"
    if path == "/api/messages":
        bearer = headers.get("Authorization", "").lower().startswith("bearer ")
        return "signed" if bearer else "anonymous"
    if SIGNED_HOOK.match(path):
        signed = any("signature" in name.lower() for name in headers)
        return "signed" if signed else "anonymous"
    if path.startswith("/ui/") and path != "/ui/login" and request.cookies.get(CONSOLE_COOKIE):
        return "signed"
    return "anonymous"


def body_deadline(
    seconds: float = BODY_SECONDS,
    concurrent: int = MAX_BODY_READS,
    anonymous: int = MAX_ANONYMOUS_READS,
) -> Any:
    """A middleware reading each body within `seconds`, in pools by what its head shows.

    Keyed requests have `concurrent` slots, signed ones half as many and anonymous ones
    `anonymous`: slow bodies from clients that proved nothing cannot starve an authenticated
    event. A request for a path that does not exist is answered from its head, unread."""
    pools = {
        "keyed": asyncio.Semaphore(concurrent),
        "signed": asyncio.Semaphore(max(1, concurrent // 2)),
        "anonymous": asyncio.Semaphore(anonymous),
    }

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        missing = request.match_info.http_exception
        if missing is not None:  # no such path (or method): nothing to read the body for
            response = error_response(missing.status, "not_found", missing.reason.lower())
            response.force_close()
            return response
        reading = pools[body_pool(request)]
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
