"""A fake Bot Framework connector on loopback: it records what the bot sends and updates."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve


@dataclass
class FakeConnector:
    """Conversations as the bot wrote them: activities by id, with their updates."""

    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # to activity
    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # 1:1 chats
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/"))

    def cards(self, conversation: str) -> list[dict[str, Any]]:
        """The current Adaptive Card of every message posted in a conversation (not replies)."""
        replied = {a["id"] for _, _, a in self.replies}
        return [
            self.activities[a["id"]]["attachments"][0]["content"]
            for c, a in self.posted
            if c == conversation and a.get("attachments") and a["id"] not in replied
        ]

    def replies_to(self, activity_id: str) -> list[dict[str, Any]]:
        """The cards posted as replies to one activity, oldest first."""
        return [
            a["attachments"][0]["content"]
            for _, to, a in self.replies
            if to == activity_id and a.get("attachments")
        ]

    async def post(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity = await request.json()
        activity_id = f"1:{next(self._ids)}"
        activity["id"] = activity_id
        self.activities[activity_id] = activity
        self.posted.append((conversation, activity))
        if "activity" in request.match_info:
            self.replies.append((conversation, request.match_info["activity"], activity))
        return web.json_response({"id": activity_id})

    async def create(self, request: web.Request) -> web.Response:
        """POST /v3/conversations: a 1:1 chat with one member, the same id each time."""
        body = await request.json()
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1 or not members[0].get("id"):
            return web.json_response(
                {"error": {"code": "BadArgument", "message": "one member for a 1:1 chat"}},
                status=400,
            )
        conversation = f"a:personal-{members[0]['id']}"
        self.created.append((conversation, body))
        return web.json_response({"id": conversation})

    async def put(self, request: web.Request) -> web.Response:
        conversation, activity_id = (
            request.match_info["conversation"],
            request.match_info["activity"],
        )
        if activity_id not in self.activities:
            return web.json_response(
                {"error": {"code": "ActivityNotFound", "message": "Unknown activity"}}, status=404
            )
        activity = await request.json()
        self.activities[activity_id].update(activity)
        self.updates.append((conversation, activity_id, activity))
        return web.json_response({"id": activity_id})

    async def start(self) -> FakeConnector:
        app = web.Application()
        app.router.add_post("/v3/conversations", self.create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self.post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self.post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self.put)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
