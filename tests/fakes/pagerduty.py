"""A fake PagerDuty Events API v2 on loopback, answering as the published API does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve

VALID_KEY = "e93facc04764012d7bfb002500d5d1a6"


@dataclass
class FakePagerDuty:
    """Accepts events for VALID_KEY; 400 with PagerDuty's error body otherwise; 429 on cue."""

    events: list[dict[str, Any]] = field(default_factory=list)
    throttle: int = 0  # answer this many requests with 429 first
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v2/enqueue"))

    async def enqueue(self, request: web.Request) -> web.Response:
        if self.throttle:
            self.throttle -= 1
            return web.json_response(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                status=429,
            )
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._error(["JSON parse error"])
        problems = []
        if body.get("routing_key") != VALID_KEY:
            problems.append("Invalid routing key")
        if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            problems.append(
                "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
            )
        if body.get("event_action") == "trigger":
            payload = body.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    problems.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                problems.append("'payload.severity' is invalid")
        elif not body.get("dedup_key"):
            problems.append("'dedup_key' is missing")
        if problems:
            return self._error(problems)
        self.events.append(body)
        return web.json_response(
            {
                "status": "success",
                "message": "Event processed",
                "dedup_key": body.get("dedup_key") or "generated-key",
            },
            status=202,
        )

    @staticmethod
    def _error(errors: list[str]) -> web.Response:
        return web.json_response(
            {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
            status=400,
        )

    async def start(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self.enqueue)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
