"""A webhook receiver on loopback that behaves like a real one: slow, rate-limited or failing on cue."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve


@dataclass
class Received:
    """One request as the sink saw it."""

    at: float
    body: dict[str, Any]
    headers: dict[str, str]
    status: int
    signature_ok: bool | None


@dataclass
class Sink:
    """Answers from `script` first (status, headers, body), then `default_status`."""

    secret: str = ""
    delay: float = 0.0
    default_status: int = 200
    script: deque[tuple[int, dict[str, str], str]] = field(default_factory=deque)
    max_per_second: float | None = None  # answer 429 when faster than this
    received: list[Received] = field(default_factory=list)
    _last_ok: float = 0.0
    server: TestServer | None = None

    @property
    def url(self) -> str:
        """Where to send."""
        assert self.server is not None
        return str(self.server.make_url("/hook"))

    def accepted(self) -> list[Received]:
        """Requests answered 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        now = time.monotonic()
        ok = None
        if self.secret:
            stamp = request.headers.get("X-ChatOps-Timestamp", "")
            mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
            ok = hmac.compare_digest(
                "sha256=" + mac.hexdigest(), request.headers.get("X-ChatOps-Signature", "")
            )
        status, headers, text = self.default_status, {}, '{"ok": true}'
        if self.script:
            status, headers, text = self.script.popleft()
        elif self.max_per_second and now - self._last_ok < 1.0 / self.max_per_second:
            status, headers, text = 429, {"Retry-After": "1"}, '{"error": "rate limited"}'
        if 200 <= status < 300:
            self._last_ok = now
        self.received.append(Received(now, json.loads(raw), dict(request.headers), status, ok))
        return web.Response(
            status=status, text=text, headers=headers, content_type="application/json"
        )

    async def start(self) -> Sink:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
