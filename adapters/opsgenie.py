"""Opsgenie Alerts API: create, acknowledge and close alerts by alias; read their state back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from adapters.base import BadConfig, BaseAdapter, RemoteState, SyncRequest, SyncResult
from adapters.http import call, json_of
from cards.style import clip, one_line
from cards.text import plain
from domain import AlertState, Delivered, DeliveryKind, Outgoing, Priority

API_URL = "https://api.opsgenie.com"  # https://api.eu.opsgenie.com for EU accounts
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15000
PRIORITIES = {
    Priority.CRITICAL: "P1",
    Priority.HIGH: "P2",
    Priority.MEDIUM: "P3",
    Priority.LOW: "P4",
    Priority.INFO: "P5",
}


@dataclass(frozen=True)
class OpsgenieConfig:
    """An API integration key and the region's API URL."""

    api_key: str = field(repr=False)
    api_url: str = API_URL
    responders: tuple[str, ...] = ()  # team names
    allow_private: bool = False


def _error_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message", ""))
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        message += " " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    return message.strip()


def create_body(alert: Any, responders: tuple[str, ...], public_url: str) -> dict[str, Any]:
    """The create-alert request: the alias is our dedup key, so repeats fold in Opsgenie too."""
    body: dict[str, Any] = {
        "message": clip(one_line(alert.title), MESSAGE_MAX),
        "alias": clip(f"chatops-{alert.tenant}-{alert.dedup_key}", ALIAS_MAX),
        "description": clip(plain(alert, public_url), DESCRIPTION_MAX),
        "priority": PRIORITIES[alert.priority],
        "source": "ChatOps",
        "entity": clip(alert.source, 512),
        "tags": ["chatops", alert.event_type][:20],
        "details": {str(k)[:100]: str(v)[:1000] for k, v in alert.facts.items()},
    }
    if responders:
        body["responders"] = [{"name": name, "type": "team"} for name in responders]
    return body


class OpsgenieAdapter(BaseAdapter):
    """Alerts to Opsgenie; an acknowledgement or close there comes back on sync."""

    kind = "opsgenie"

    def __init__(self, config: OpsgenieConfig, http: httpx.AsyncClient) -> None:
        if not config.api_key:
            raise BadConfig("opsgenie: api_key (an API integration key) is empty")
        self._config, self._http = config, http

    async def send(self, message: Outgoing) -> Delivered:
        """Create the alert, or acknowledge / close it when ours changed state."""
        alert = message.alert
        if alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("opsgenie: digests are not sent to Opsgenie")
        body = create_body(alert, self._config.responders, message.public_url)
        alias = message.ref or body["alias"]
        if message.kind is DeliveryKind.POST:
            resp = await self._request("POST", "/v2/alerts", json=body)
        elif alert.state is AlertState.RESOLVED:
            note = {"user": alert.resolved_by or "ChatOps", "source": "ChatOps"}
            resp = await self._request("POST", _by_alias(alias, "close"), json=note)
        elif alert.state is AlertState.ACKNOWLEDGED:
            note = {"user": alert.acknowledged_by or "ChatOps", "source": "ChatOps"}
            resp = await self._request("POST", _by_alias(alias, "acknowledge"), json=note)
        else:
            resp = await self._request("POST", "/v2/alerts", json=body)  # fired again: counted
        return Delivered(status_code=resp.status_code, ref=alias)

    async def test(self) -> str:
        """List one alert: the key is valid and may read alerts."""
        await self._request("GET", "/v2/alerts", params={"limit": "1"})
        return "API key accepted"

    async def sync(self, request: SyncRequest) -> SyncResult:
        """The state of each open alert the bot sent, looked up by alias."""
        records = []
        failed = 0
        for alias in request.refs:
            try:
                resp = await self._request(
                    "GET", f"/v2/alerts/{quote(alias, safe='')}", params={"identifierType": "alias"}
                )
            except BadConfig:
                failed += 1  # deleted in Opsgenie, or never created
                continue
            data = (json_of(resp) or {}).get("data") or {}
            report = data.get("report") or {}
            if data.get("status") == "closed":
                records.append(RemoteState(alias, "resolved", str(report.get("closedBy", ""))))
            elif data.get("acknowledged"):
                who = str(report.get("acknowledgedBy", ""))
                records.append(RemoteState(alias, "acknowledged", who))
            else:
                records.append(RemoteState(alias, "triggered"))
        return SyncResult(tuple(records), failed=failed)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await call(
            self._http,
            self.kind,
            method,
            self._config.api_url.rstrip("/") + path,
            allow_private=self._config.allow_private,
            error_text=_error_text,
            headers={"Authorization": f"GenieKey {self._config.api_key}"},
            **kwargs,
        )


def _by_alias(alias: str, action: str) -> str:
    return f"/v2/alerts/{quote(alias, safe='')}/{action}?identifierType=alias"
