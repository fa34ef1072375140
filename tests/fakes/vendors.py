"""Fakes of Opsgenie, Jira, ServiceNow and Twilio on loopback, answering in the vendors' shapes.

Each keeps the records the bot created, refuses wrong credentials the way its vendor does,
answers 429 (with `Retry-After` where the vendor sends one) or 500 on cue, and lets a test
change a record "in the vendor's UI" so a sync has something to read back.
"""

from __future__ import annotations

import base64
import itertools
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.loopback import close, serve

_ids = itertools.count(10001)


@dataclass
class Vendor(ABC):
    """What every fake shares: the server, the cues, and the requests it saw."""

    throttle: int = 0
    fail: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    server: TestServer | None = None
    # The vendor's documented limit on writes (POST), a second's burst at most; past it, its
    # rate-limit answer. None: no limit.
    per_minute: float | None = None
    limited: int = 0  # how many requests the limit refused
    _bucket: tuple[float, float] | None = None

    def _over_limit(self) -> bool:
        if self.per_minute is None:
            return False
        rate, now = self.per_minute / 60.0, time.monotonic()
        tokens, stamp = self._bucket or (max(1.0, rate), now)
        tokens = min(max(1.0, rate), tokens + (now - stamp) * rate)
        over = tokens < 1
        self._bucket = (tokens if over else tokens - 1, now)
        self.limited += over
        return over

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the vendor's endpoints."""

    @abstractmethod
    def authorized(self, request: web.Request) -> bool:
        """Whether the request carries the vendor's valid credentials."""

    @abstractmethod
    def unauthorized(self) -> web.Response:
        """The vendor's answer to wrong credentials."""

    @abstractmethod
    def throttled(self) -> web.Response:
        """The vendor's rate-limit answer."""

    def broken(self) -> web.Response:
        return web.json_response({"error": "internal"}, status=500)

    @web.middleware
    async def cues(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if not self.authorized(request):
            return self.unauthorized()
        if self.throttle or (request.method == "POST" and self._over_limit()):
            self.throttle = max(0, self.throttle - 1)
            return self.throttled()
        if self.fail:
            self.fail -= 1
            return self.broken()
        return await handler(request)  # type: ignore[no-any-return]

    async def start(self) -> Any:
        app = web.Application(middlewares=[self.cues])
        self.routes(app)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)


def _basic(request: web.Request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return "", ""
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


# --- Opsgenie ---------------------------------------------------------------------------

OPSGENIE_KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889"


@dataclass
class FakeOpsgenie(Vendor):
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by alias

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"GenieKey {OPSGENIE_KEY}"

    def unauthorized(self) -> web.Response:
        return web.json_response(
            {"message": "Could not authenticate", "took": 0.0, "requestId": "r-401"}, status=401
        )

    def throttled(self) -> web.Response:
        return web.json_response(
            {"message": "Too many requests", "took": 0.0, "requestId": "r-429"}, status=429
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/alerts", self.create)
        app.router.add_get("/v2/alerts", self.list)
        app.router.add_get("/v2/alerts/{alias}", self.get)
        app.router.add_post("/v2/alerts/{alias}/{action}", self.act)

    @staticmethod
    def accepted() -> web.Response:
        return web.json_response(
            {"result": "Request will be processed", "took": 0.107, "requestId": "r-202"},
            status=202,
        )

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = body.get("message", "")
        if not message or len(message) > 130:
            return web.json_response(
                {
                    "message": "Request body is not processable. Please check the errors.",
                    "errors": {"message": "Message can not be empty or longer than 130."},
                    "took": 0.0,
                    "requestId": "r-422",
                },
                status=422,
            )
        alias = body.get("alias") or f"generated-{next(_ids)}"
        existing = self.alerts.get(alias)
        if existing and existing["status"] == "open":
            existing["count"] += 1
        else:
            self.alerts[alias] = {
                "id": f"og-{next(_ids)}",
                "tinyId": str(next(_ids)),
                "alias": alias,
                "message": message,
                "priority": body.get("priority", "P3"),
                "status": "open",
                "acknowledged": False,
                "count": 1,
                "report": {},
                "request": body,
            }
        return self.accepted()

    async def list(self, request: web.Request) -> web.Response:
        items = list(self.alerts.values())[: int(request.query.get("limit", "20"))]
        return web.json_response({"data": items, "took": 0.01, "requestId": "r-200"})

    async def get(self, request: web.Request) -> web.Response:
        alias = request.match_info["alias"]
        if request.query.get("identifierType") != "alias" or alias not in self.alerts:
            return web.json_response(
                {"message": f"Alert with id [{alias}] does not exist", "took": 0.0}, status=404
            )
        return web.json_response({"data": self.alerts[alias], "took": 0.01, "requestId": "r"})

    async def act(self, request: web.Request) -> web.Response:
        alias, action = request.match_info["alias"], request.match_info["action"]
        body = await request.json()
        if alias in self.alerts:
            self.change(
                alias,
                {"acknowledge": "acknowledged", "close": "resolved"}[action],
                body.get("user", ""),
            )
        return self.accepted()

    def change(self, ref: str, state: str, who: str) -> None:
        alert = self.alerts[ref]
        if state == "acknowledged":
            alert["acknowledged"] = True
            alert["report"]["acknowledgedBy"] = who
        else:
            alert["status"] = "closed"
            alert["report"]["closedBy"] = who

    def state(self, ref: str) -> str:
        alert = self.alerts[ref]
        if alert["status"] == "closed":
            return "resolved"
        return "acknowledged" if alert["acknowledged"] else "triggered"


# --- Jira -------------------------------------------------------------------------------

JIRA_EMAIL, JIRA_TOKEN = "ops@example.com", "ATATT3xFfGF0-token"
JIRA_CATEGORIES = {
    "To Do": {"id": 2, "key": "new", "name": "To Do"},
    "In Progress": {"id": 4, "key": "indeterminate", "name": "In Progress"},
    "Done": {"id": 3, "key": "done", "name": "Done"},
}


@dataclass
class FakeJira(Vendor):
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # by key
    comments: dict[str, list[str]] = field(default_factory=dict)

    def authorized(self, request: web.Request) -> bool:
        return _basic(request) == (JIRA_EMAIL, JIRA_TOKEN)

    def unauthorized(self) -> web.Response:
        return web.Response(
            status=401,
            text="Client must be authenticated to access this resource.",
            content_type="text/html",
        )

    def throttled(self) -> web.Response:
        return web.json_response(
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            status=429,
            headers={"Retry-After": "7"},
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/rest/api/2/myself", self.myself)
        app.router.add_post("/rest/api/2/issue", self.create)
        app.router.add_get("/rest/api/2/issue/{key}", self.get)
        app.router.add_post("/rest/api/2/issue/{key}/comment", self.comment)
        app.router.add_get("/rest/api/2/issue/{key}/transitions", self.transitions)
        app.router.add_post("/rest/api/2/issue/{key}/transitions", self.transition)

    async def myself(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ops Bot", "active": True}
        )

    async def create(self, request: web.Request) -> web.Response:
        fields = (await request.json()).get("fields", {})
        errors = {}
        if (fields.get("project") or {}).get("key") != "OPS":
            errors["project"] = "Specify a valid project ID or key"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        elif len(fields["summary"]) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        if errors:
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        number = next(_ids)
        key = f"OPS-{number}"
        self.issues[key] = {
            "id": str(number),
            "key": key,
            "fields": {
                "summary": fields["summary"],
                "description": fields.get("description"),
                "labels": fields.get("labels", []),
                "status": {"name": "To Do", "statusCategory": JIRA_CATEGORIES["To Do"]},
                "assignee": None,
            },
        }
        return web.json_response(
            {"id": str(number), "key": key, "self": f"{self.url}/rest/api/2/issue/{number}"},
            status=201,
        )

    def _missing(self) -> web.Response:
        return web.json_response(
            {
                "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                "errors": {},
            },
            status=404,
        )

    async def get(self, request: web.Request) -> web.Response:
        issue = self.issues.get(request.match_info["key"])
        return web.json_response(issue) if issue else self._missing()

    async def comment(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in self.issues:
            return self._missing()
        self.comments.setdefault(key, []).append((await request.json())["body"])
        return web.json_response({"id": str(next(_ids))}, status=201)

    async def transitions(self, request: web.Request) -> web.Response:
        if request.match_info["key"] not in self.issues:
            return self._missing()
        return web.json_response(
            {
                "transitions": [
                    {
                        "id": "21",
                        "name": "Start",
                        "to": {
                            "name": "In Progress",
                            "statusCategory": JIRA_CATEGORIES["In Progress"],
                        },
                    },
                    {
                        "id": "31",
                        "name": "Done",
                        "to": {"name": "Done", "statusCategory": JIRA_CATEGORIES["Done"]},
                    },
                ]
            }
        )

    async def transition(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in self.issues:
            return self._missing()
        target = {"21": "In Progress", "31": "Done"}[(await request.json())["transition"]["id"]]
        self.issues[key]["fields"]["status"] = {
            "name": target,
            "statusCategory": JIRA_CATEGORIES[target],
        }
        return web.Response(status=204)

    def change(self, ref: str, state: str, who: str) -> None:
        target = {"acknowledged": "In Progress", "resolved": "Done"}[state]
        fields = self.issues[ref]["fields"]
        fields["status"] = {"name": target, "statusCategory": JIRA_CATEGORIES[target]}
        fields["assignee"] = {"displayName": who, "accountId": "x"}

    def state(self, ref: str) -> str:
        key = self.issues[ref]["fields"]["status"]["statusCategory"]["key"]
        return {"new": "triggered", "indeterminate": "acknowledged", "done": "resolved"}[key]


# --- ServiceNow -------------------------------------------------------------------------

SN_USER, SN_PASSWORD = "chatops.integration", "s3cr3t-Pw"


@dataclass
class FakeServiceNow(Vendor):
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by sys_id

    def authorized(self, request: web.Request) -> bool:
        return _basic(request) == (SN_USER, SN_PASSWORD)

    def unauthorized(self) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": "User Not Authenticated",
                    "detail": "Required to provide Auth information",
                },
                "status": "failure",
            },
            status=401,
        )

    def throttled(self) -> web.Response:
        return web.json_response(
            {
                "error": {"message": "Rate limit exceeded", "detail": "Too many requests"},
                "status": "failure",
            },
            status=429,
            headers={"Retry-After": "3"},
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/now/table/incident", self.create)
        app.router.add_get("/api/now/table/incident", self.query)
        app.router.add_patch("/api/now/table/incident/{sys_id}", self.patch)

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("short_description"):
            return web.json_response(
                {
                    "error": {
                        "message": "Invalid request",
                        "detail": "short_description is mandatory",
                    },
                    "status": "failure",
                },
                status=400,
            )
        number = next(_ids)
        sys_id = f"{number:032x}"
        self.incidents[sys_id] = {
            "sys_id": sys_id,
            "number": f"INC{number:07d}",
            "state": "1",
            "assigned_to": "",
            "work_notes": [],
            **{k: v for k, v in body.items() if k != "work_notes"},
        }
        return web.json_response({"result": self.incidents[sys_id]}, status=201)

    async def query(self, request: web.Request) -> web.Response:
        wanted = request.query.get("sysparm_query", "")
        items = list(self.incidents.values())
        if wanted.startswith("sys_idIN"):
            ids = set(wanted[len("sys_idIN") :].split(","))
            items = [i for i in items if i["sys_id"] in ids]
        items = items[: int(request.query.get("sysparm_limit", "10000"))]
        if request.query.get("sysparm_display_value") == "all":
            items = [
                {
                    "sys_id": {"value": i["sys_id"], "display_value": i["sys_id"]},
                    "number": {"value": i["number"], "display_value": i["number"]},
                    "state": {"value": i["state"], "display_value": i["state"]},
                    "assigned_to": {"value": "u1", "display_value": i["assigned_to"]}
                    if i["assigned_to"]
                    else "",
                }
                for i in items
            ]
        return web.json_response({"result": items})

    async def patch(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["sys_id"])
        if incident is None:
            return web.json_response(
                {
                    "error": {
                        "message": "No Record found",
                        "detail": "Record doesn't exist or ACL restricts the record retrieval",
                    },
                    "status": "failure",
                },
                status=404,
            )
        body = await request.json()
        if "work_notes" in body:
            incident["work_notes"].append(body.pop("work_notes"))
        incident.update(body)
        return web.json_response({"result": incident})

    def change(self, ref: str, state: str, who: str) -> None:
        self.incidents[ref]["state"] = {"acknowledged": "2", "resolved": "6"}[state]
        self.incidents[ref]["assigned_to"] = who

    def state(self, ref: str) -> str:
        value = self.incidents[ref]["state"]
        return (
            "resolved"
            if value in ("6", "7", "8")
            else "acknowledged"
            if value in ("2", "3")
            else "triggered"
        )


# --- Twilio -----------------------------------------------------------------------------

TWILIO_SID, TWILIO_TOKEN = "AC" + "3" * 32, "twilio-auth-token"


@dataclass
class FakeTwilio(Vendor):
    messages: list[dict[str, str]] = field(default_factory=list)

    def authorized(self, request: web.Request) -> bool:
        return _basic(request) == (TWILIO_SID, TWILIO_TOKEN)

    def unauthorized(self) -> web.Response:
        return web.json_response(
            {
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            },
            status=401,
        )

    def throttled(self) -> web.Response:
        return web.json_response(
            {
                "code": 20429,
                "message": "Too Many Requests",
                "more_info": "https://www.twilio.com/docs/errors/20429",
                "status": 429,
            },
            status=429,
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/2010-04-01/Accounts/{sid}.json", self.account)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.message)

    async def account(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"sid": request.match_info["sid"], "friendly_name": "Ops account", "status": "active"}
        )

    async def message(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        to = str(form.get("To", ""))
        if not to.startswith("+1555"):
            return web.json_response(
                {
                    "code": 21211,
                    "message": f"The 'To' number {to} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
                status=400,
            )
        if len(str(form.get("Body", ""))) > 1600:
            return web.json_response(
                {
                    "code": 21617,
                    "message": "The concatenated message body exceeds the 1600 character limit.",
                    "status": 400,
                },
                status=400,
            )
        sid = f"SM{next(_ids):032x}"
        record = {
            "sid": sid,
            "to": to,
            "from": str(form.get("From", "")),
            "body": str(form.get("Body", "")),
            "status": "queued",
        }
        self.messages.append(record)
        return web.json_response(record, status=201)
