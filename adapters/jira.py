"""Jira (REST API v2): an issue per alert (routed at an escalation level), its state read back."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from adapters.base import (
    BadConfig,
    BaseAdapter,
    Inbound,
    RemoteState,
    SyncRequest,
    SyncResult,
    hmac_hex,
    signature_matches,
)
from adapters.http import call, json_of
from cards.text import ticket
from domain import AlertState, Delivered, DeliveryKind, Outgoing

SIGNATURE_HEADER = "X-Hub-Signature"
SUMMARY_MAX = 255
DONE = "done"  # Jira's status category for finished work
IN_PROGRESS = "indeterminate"


@dataclass(frozen=True)
class JiraConfig:
    """The site, an account's e-mail and API token, and where issues go."""

    site_url: str
    email: str
    api_token: str = field(repr=False)
    project_key: str = ""
    issue_type: str = "Task"
    webhook_secret: str = field(default="", repr=False)
    allow_private: bool = False


def _error_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages", [])]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(parts)


def issue_state(issue: Any) -> RemoteState | None:
    """An issue's key and state: done is resolved, in progress is acknowledged (by its assignee)."""
    if not isinstance(issue, dict) or not issue.get("key"):
        return None
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key", "")
    assignee = (fields.get("assignee") or {}).get("displayName", "")
    if category == DONE:
        return RemoteState(str(issue["key"]), "resolved", str(assignee))
    if category == IN_PROGRESS:
        return RemoteState(str(issue["key"]), "acknowledged", str(assignee))
    return RemoteState(str(issue["key"]), "triggered")


class JiraAdapter(BaseAdapter):
    """Opens an issue for each alert; comments on changes and moves it to done when resolved."""

    kind = "jira"

    def __init__(self, config: JiraConfig, http: httpx.AsyncClient) -> None:
        missing = [n for n in ("site_url", "email", "api_token") if not getattr(config, n)]
        if missing:
            raise BadConfig(f"jira: {', '.join(missing)} must be set")
        self._config, self._http = config, http
        auth = base64.b64encode(f"{config.email}:{config.api_token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {auth}", "Accept": "application/json"}

    async def send(self, message: Outgoing) -> Delivered:
        """Create the issue (a POST), or comment / transition it (an update)."""
        alert = message.alert
        if alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("jira: digests do not become issues")
        if message.kind is DeliveryKind.POST or not message.ref:
            if not self._config.project_key:
                raise BadConfig("jira: project_key must be set to create issues")
            fields = ticket(alert, message.public_url, SUMMARY_MAX)
            body = {
                "fields": {
                    "project": {"key": self._config.project_key},
                    "summary": fields.summary,
                    "description": fields.description,
                    "issuetype": {"name": self._config.issue_type},
                    "labels": list(fields.labels),
                }
            }
            resp = await self._request("POST", "/rest/api/2/issue", json=body)
            key = (json_of(resp) or {}).get("key")
            if not key:
                raise BadConfig("jira: the create answer has no issue key")
            return Delivered(status_code=resp.status_code, ref=str(key))
        key = quote(message.ref, safe="")
        note = message.notes[-1] if message.notes else f"Alert is now {alert.state.value}."
        resp = await self._request("POST", f"/rest/api/2/issue/{key}/comment", json={"body": note})
        if alert.state is AlertState.RESOLVED:
            await self._finish(key)
        return Delivered(status_code=resp.status_code, ref=message.ref)

    async def _finish(self, key: str) -> None:
        """Move the issue along the first transition into the done category, if there is one."""
        resp = await self._request("GET", f"/rest/api/2/issue/{key}/transitions")
        for transition in (json_of(resp) or {}).get("transitions", []):
            target = (transition.get("to") or {}).get("statusCategory") or {}
            if target.get("key") == DONE:
                await self._request(
                    "POST",
                    f"/rest/api/2/issue/{key}/transitions",
                    json={"transition": {"id": transition["id"]}},
                )
                return

    async def test(self) -> str:
        """Who the token belongs to."""
        resp = await self._request("GET", "/rest/api/2/myself")
        name = (json_of(resp) or {}).get("displayName", "someone")
        return f"authenticated as {name}"

    async def sync(self, request: SyncRequest) -> SyncResult:
        """The state of each open alert's issue."""
        records, failed = [], 0
        for key in request.refs:
            try:
                resp = await self._request(
                    "GET",
                    f"/rest/api/2/issue/{quote(key, safe='')}",
                    params={"fields": "status,assignee"},
                )
            except BadConfig:
                failed += 1  # deleted, or moved out of reach
                continue
            state = issue_state(json_of(resp))
            if state is not None:
                records.append(state)
        return SyncResult(tuple(records), failed=failed)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Jira webhooks registered with a secret: `sha256=<hex HMAC of the body>`."""
        if not self._config.webhook_secret:
            return False
        expected = "sha256=" + hmac_hex(self._config.webhook_secret, body)
        return signature_matches(expected, headers.get(SIGNATURE_HEADER, ""))

    def process_webhook(self, payload: Any) -> Inbound:
        """`jira:issue_updated` and friends: the issue's state, by whoever changed it."""
        if not isinstance(payload, dict) or not isinstance(payload.get("webhookEvent"), str):
            raise BadConfig("jira: not a Jira webhook (no webhookEvent)")
        state = issue_state(payload.get("issue"))
        if state is not None and not state.by:
            user = payload.get("user") or {}
            state = RemoteState(state.ref, state.state, str(user.get("displayName", "")))
        return Inbound(payload["webhookEvent"], (state,) if state else ())

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await call(
            self._http,
            self.kind,
            method,
            self._config.site_url.rstrip("/") + path,
            allow_private=self._config.allow_private,
            error_text=_error_text,
            headers=self._headers,
            **kwargs,
        )
