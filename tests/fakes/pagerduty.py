"""A fake PagerDuty on loopback: Events API v2, and the REST API's incidents and log entries.

Events create and change incidents keyed by `dedup_key` (PagerDuty's `incident_key`), so a
sync reads back what the bot sent; `acknowledge_in_pagerduty` plays a person in PagerDuty's UI.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve

VALID_KEY = "e93facc04764012d7bfb002500d5d1a6"
VALID_API_KEY = "y_NbAkKc66ryYTWUXYEu"
_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakePagerDuty:
    """Accepts events for VALID_KEY; 400 with PagerDuty's error body otherwise; 429 on cue."""

    events: list[dict[str, Any]] = field(default_factory=list)
    throttle: int = 0  # answer this many requests with 429 first
    server: TestServer | None = None
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by incident_key
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    fail_rest: int = 0  # answer this many REST requests with 500 first
    throttle_rest: int = 0  # ... or with 429 and Retry-After
    rest_requests: list[str] = field(default_factory=list)
    # Events API v2 limits events per routing key (120 a minute by default); past it, 429
    # with PagerDuty's "throttle event" body and no Retry-After. None: no limit.
    per_minute: float | None = None
    throttled: int = 0  # how many 429s the limit answered
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key: tokens, stamp

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def acknowledge_in_pagerduty(self, key: str, who: str) -> None:
        """Someone acknowledges the incident in PagerDuty itself."""
        self._change(key, "acknowledged", who)

    def _change(self, key: str, status: str, who: str) -> None:
        incident = self.incidents[key]
        incident["status"] = status
        incident["last_status_change_at"] = _now()
        incident["last_status_change_by"] = {"type": "user_reference", "summary": who}
        kind = {"acknowledged": "acknowledge_log_entry", "resolved": "resolve_log_entry"}[status]
        self.log_entries.append(
            {
                "id": f"R{next(_ids):06d}",
                "type": kind,
                "summary": f"{status.capitalize()} by {who}",
                "created_at": _now(),
                "agent": {"type": "user_reference", "summary": who},
                "incident": incident,
            }
        )

    def _record(self, body: dict[str, Any]) -> None:
        key, action = body.get("dedup_key"), body.get("event_action")
        if not key:
            return
        if action == "trigger" and (
            key not in self.incidents or self.incidents[key]["status"] == "resolved"
        ):
            number = next(_ids)
            self.incidents[key] = {
                "id": f"P{number:06d}",
                "type": "incident",
                "number": number,
                "title": body["payload"]["summary"],
                "incident_key": key,
                "status": "triggered",
                "created_at": _now(),
                "last_status_change_at": _now(),
                "last_status_change_by": {"type": "service_reference", "summary": "ChatOps"},
            }
        elif action in ("acknowledge", "resolve") and key in self.incidents:
            status = "acknowledged" if action == "acknowledge" else "resolved"
            if self.incidents[key]["status"] != status:
                self._change(key, status, "ChatOps (Events API)")

    async def rest(self, request: web.Request) -> web.Response:
        self.rest_requests.append(request.path_qs)
        if request.headers.get("Authorization") != f"Token token={VALID_API_KEY}":
            return web.json_response(
                {"error": {"message": "Invalid Credentials", "code": 2006}}, status=401
            )
        if self.throttle_rest:
            self.throttle_rest -= 1
            return web.json_response(
                {"error": {"message": "Too many requests", "code": 2020}},
                status=429,
                headers={"Retry-After": "1"},
            )
        if self.fail_rest:
            self.fail_rest -= 1
            return web.json_response(
                {"error": {"message": "Internal Server Error", "code": 2001}}, status=500
            )
        path = request.match_info["path"]
        if path == "abilities":
            return web.json_response({"abilities": ["teams", "read_only_users"]})
        query = request.query
        limit, offset = int(query.get("limit", "25")), int(query.get("offset", "0"))
        if path == "incidents":
            since = query.get("since", "")
            items = [i for i in self.incidents.values() if i["created_at"] >= since]
        elif path == "log_entries":
            since = query.get("since", "")
            items = [e for e in self.log_entries if e["created_at"] >= since]
        else:
            return web.json_response({"error": {"message": "Not Found", "code": 2100}}, status=404)
        page = items[offset : offset + limit]
        return web.json_response(
            {
                path: page,
                "limit": limit,
                "offset": offset,
                "more": offset + limit < len(items),
                "total": None,
            }
        )

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v2/enqueue"))

    def _over_limit(self, key: str) -> bool:
        if self.per_minute is None:
            return False
        rate, now = self.per_minute / 60.0, time.monotonic()
        tokens, stamp = self._buckets.get(key, (max(1.0, rate), now))
        tokens = min(max(1.0, rate), tokens + (now - stamp) * rate)  # a second's burst at most
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return True
        self._buckets[key] = (tokens - 1, now)
        return False

    async def enqueue(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            key = str(json.loads(raw).get("routing_key", ""))
        except (ValueError, AttributeError):
            key = ""
        limited = self._over_limit(key)
        self.throttled += limited
        if self.throttle or limited:
            self.throttle = max(0, self.throttle - (not limited))
            return web.json_response(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                status=429,
            )
        try:
            body = json.loads(raw)
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
        self._record(body)
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
        app.router.add_get("/{path}", self.rest)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
