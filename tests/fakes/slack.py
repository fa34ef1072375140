"""A fake Slack Web API on loopback that behaves like Slack where the bot can tell.

It checks the bot token, allows about one message a second per channel (429 with
Retry-After and `{"ok": false, "error": "ratelimited"}` beyond that), and answers with
Slack's documented error bodies (`channel_not_found`, `not_in_channel`, `message_not_found`...).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
CLIENT_ID, CLIENT_SECRET = "111.222", "client-secret-xyz"
INSTALLED_TOKEN, INSTALLED_TEAM = "xoxb-second-workspace", "T222"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM_ID = "T111"


def sign(
    body: str | bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """Slack's request signature headers for `body` (its raw bytes, whatever they hold)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    raw = body if isinstance(body, bytes) else body.encode()
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"}


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0


@dataclass
class FakeSlack:
    """State of the fake workspace: channels, users, messages, and every call made."""

    channels: dict[str, dict[str, bool]] = field(
        default_factory=lambda: {"C111": {"member": True, "archived": False}}
    )
    users: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "W111": {"name": "primary-owner", "is_admin": True, "is_owner": True},
            "U222": {"name": "casual", "is_admin": False, "is_owner": False},
            "U333": {
                "name": "another",
                "is_admin": False,
                "is_owner": False,
                "profile": {"email": "cy@example.com"},
            },
        }
    )
    messages: list[Message] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes | None] = field(default_factory=dict)  # file id -> bytes sent
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared into channels
    home: dict[str, dict[str, Any]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    installed: dict[str, str] = field(default_factory=dict)  # bot token -> team id
    tokens_used: list[str] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limited: list[str] = field(default_factory=list)
    revoked: bool = False
    per_channel_interval: float = 1.0
    _last_post: dict[str, float] = field(default_factory=dict)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def in_channel(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            args = json.loads(raw)
        else:
            args = dict(parse_qsl(raw.decode())) if raw else {}
        args.update(request.query)
        self.calls.append((method, args))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get(
            "token"
        )
        if method == "oauth.v2.access":
            return self.oauth_access(request, args)
        if not token:
            return self.error("not_authed")
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return self.error("invalid_auth")
            assert self.server is not None
            return self.ok(url=str(self.server.make_url("/link")).replace("http", "ws", 1))
        if token not in (BOT_TOKEN, *self.installed):
            return self.error("invalid_auth")
        self.tokens_used.append(token)
        if self.revoked:
            return self.error("token_revoked")
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self.error("unknown_method", status=404)
        result: web.Response = handler(args)
        return result

    @staticmethod
    def error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"ok": False, "error": code}, status=status, headers=headers)

    @staticmethod
    def ok(**data: Any) -> web.Response:
        return web.json_response({"ok": True, **data})

    def _channel_error(self, channel: str) -> web.Response | None:
        info = self.channels.get(channel)
        if info is None:
            return self.error("channel_not_found")
        if info["archived"]:
            return self.error("is_archived")
        if not info["member"]:
            return self.error("not_in_channel")
        return None

    def m_auth_test(self, args: dict[str, Any]) -> web.Response:
        team = self.installed.get(self.tokens_used[-1], TEAM_ID)
        return self.ok(
            url="https://test.slack.com/",
            team="Test Workspace",
            user="chatops",
            team_id=team,
            user_id="UBOT",
            bot_id="B111",
        )

    def oauth_access(self, request: web.Request, args: dict[str, Any]) -> web.Response:
        """oauth.v2.access: the app's credentials and a code give a bot token for a workspace."""
        import base64

        basic = request.headers.get("Authorization", "").removeprefix("Basic ")
        client_id, _, secret = (base64.b64decode(basic).decode() if basic else ":").partition(":")
        client_id = client_id or str(args.get("client_id", ""))
        secret = secret or str(args.get("client_secret", ""))
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return self.error("invalid_client_id")
        if args.get("code") != "good-code":
            return self.error("invalid_code")
        self.installed[INSTALLED_TOKEN] = INSTALLED_TEAM
        return self.ok(
            access_token=INSTALLED_TOKEN,
            token_type="bot",
            scope="chat:write,commands,users:read",
            bot_user_id="UB2",
            app_id="A111",
            team={"id": INSTALLED_TEAM, "name": "Second Workspace"},
            enterprise=None,
            authed_user={"id": "U900"},
            is_enterprise_install=False,
        )

    def m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel", ""))
        problem = self._channel_error(channel)
        if problem:
            return problem
        now = time.monotonic()
        if now - self._last_post.get(channel, -1e9) < self.per_channel_interval:
            self.rate_limited.append(channel)
            return self.error("ratelimited", status=429, headers={"Retry-After": "1"})
        self._last_post[channel] = now
        ts = f"{1700000000 + next(self._ts)}.000100"
        message = Message(
            channel, ts, args.get("text", ""), args.get("blocks") or [], args.get("thread_ts")
        )
        self.messages.append(message)
        return self.ok(channel=channel, ts=ts, message={"text": message.text, "ts": ts})

    def m_conversations_open(self, args: dict[str, Any]) -> web.Response:
        """A DM with one user: the same channel id every time, which the bot may post in."""
        users = str(args.get("users", ""))
        if users not in self.users:
            return self.error("user_not_found")
        channel = f"D{users}"
        self.channels.setdefault(channel, {"member": True, "archived": False})
        return self.ok(channel={"id": channel})

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> web.Response:
        email = str(args.get("email", "")).lower()
        for user_id, user in self.users.items():
            if str(user.get("profile", {}).get("email", "")).lower() == email:
                return self.ok(user={"id": user_id, "team_id": TEAM_ID, **user})
        return self.error("users_not_found")

    def m_usergroups_users_update(self, args: dict[str, Any]) -> web.Response:
        """A user group's members replaced: kept by group id, as a list of user ids."""
        group = str(args.get("usergroup", ""))
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not group.startswith("S"):
            return self.error("no_such_subteam")
        if not users:
            return self.error("invalid_users")
        unknown = [u for u in users if u not in self.users]
        if unknown:
            return self.error("invalid_users")
        self.usergroups[group] = users
        return self.ok(usergroup={"id": group, "users": users})

    def m_chat_update(self, args: dict[str, Any]) -> web.Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        problem = self._channel_error(channel)
        if problem:
            return problem
        for message in self.messages:
            if message.channel == channel and message.ts == ts:
                message.text = args.get("text", message.text)
                message.blocks = args.get("blocks") or message.blocks
                message.updates += 1
                return self.ok(channel=channel, ts=ts, text=message.text)
        return self.error("message_not_found")

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        problem = self._channel_error(str(args.get("channel", "")))
        if problem:
            return problem
        self.ephemeral.append(args)
        return self.ok(message_ts=f"{time.time():.6f}")

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        """Step one of an upload: a URL to send the bytes to (length and filename required)."""
        length = str(args.get("length", ""))
        if not args.get("filename") or not length.isdigit() or not 0 < int(length) <= 10**9:
            return self.error("invalid_arguments")
        file_id = f"F{next(self._ts):08d}"
        self.uploads[file_id] = None
        assert self.server is not None
        return self.ok(upload_url=str(self.server.make_url(f"/upload/{file_id}")), file_id=file_id)

    async def upload(self, request: web.Request) -> web.Response:
        """Step two: the bytes, raw or as a multipart form's file."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()))
            data = part.file.read() if hasattr(part, "file") else str(part).encode()
        else:
            data = await request.read()
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        """Step three: the uploaded files shared into a channel, with a comment."""
        raw = args.get("files")
        files = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(files, list) or not files:
            return self.error("invalid_arguments")
        channel = args.get("channel_id") or args.get("channels")
        if channel and (problem := self._channel_error(str(channel))):
            return problem
        done = []
        for entry in files:
            data = self.uploads.get(str(entry.get("id")))
            if data is None:
                return self.error("file_not_found")
            shown = {"id": entry["id"], "title": entry.get("title"), "channel": channel}
            self.files.append({**shown, "content": data, "comment": args.get("initial_comment")})
            done.append({"id": entry["id"], "title": entry.get("title")})
        return self.ok(files=done)

    def m_views_open(self, args: dict[str, Any]) -> web.Response:
        if not args.get("trigger_id"):
            return self.error("invalid_trigger_id")
        self.views.append(args["view"])
        return self.ok(view={"id": "V111", **args["view"]})

    def m_views_publish(self, args: dict[str, Any]) -> web.Response:
        if not args.get("user_id"):
            return self.error("invalid_arguments")
        self.home[str(args["user_id"])] = args["view"]
        return self.ok(view={"id": "VHOME", **args["view"]})

    def m_users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return self.error("user_not_found")
        return self.ok(user={"id": args.get("user"), "team_id": TEAM_ID, **user})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, push envelopes, collect the bot's acknowledgements."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}
        )
        async for frame in socket:
            if frame.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(frame.data))
        return socket

    async def response_url(self, request: web.Request) -> web.Response:
        """Where Slack's response_url points: records what the bot said there."""
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send one Socket Mode envelope to the connected bot."""
        await self.sockets[-1].send_json(envelope)

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_get("/link", self.link)
        app.router.add_post("/upload/{file_id}", self.upload)
        app.router.add_post("/hooks/{rest:.*}", self.response_url)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
