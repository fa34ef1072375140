"""PagerDuty Events API v2: trigger, acknowledge and resolve by `dedup_key`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.base import (
    BadConfig,
    BaseAdapter,
    Inbound,
    NotSupported,
    RemoteState,
    SyncRequest,
    SyncResult,
    hmac_hex,
    json_object,
    raise_for_status,
    signature_matches,
    translate_errors,
)
from adapters.egress import Answer, CheckedPoster, check_target
from cards.style import alert_url
from domain import Alert, AlertState, Delivered, DeliveryKind, Outgoing, Priority

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
API_URL = "https://api.pagerduty.com"
API_ACCEPT = "application/vnd.pagerduty+json;version=2"
SIGNATURE_HEADER = "X-PagerDuty-Signature"
PAGE_SIZE = 100  # the REST API's largest `limit`
FULL_SYNC_DAYS = 30
INCIDENT_EVENTS = (
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reopened",
)
SUMMARY_MAX = 1024  # PagerDuty truncates longer summaries; we do it visibly
DEDUP_KEY_MAX = 255
SEVERITIES = ("info", "warning", "error", "critical")

_BY_PRIORITY = {
    Priority.CRITICAL: "critical",
    Priority.HIGH: "error",
    Priority.MEDIUM: "warning",
    Priority.LOW: "info",
    Priority.INFO: "info",
}


@dataclass(frozen=True)
class PagerDutyConfig:
    """An Events API v2 integration key and where to send events."""

    routing_key: str = field(repr=False)
    events_url: str = EVENTS_URL
    default_severity: str = "info"
    allow_private: bool = False
    api_key: str = field(default="", repr=False)  # REST API key: test and incident sync
    api_url: str = API_URL
    webhook_secret: str = field(default="", repr=False)  # v3 webhook subscription secret


def severity(alert: Alert, default: str = "info") -> str:
    """The more severe of the priority's severity and the one its event type names.

    `critical` and `sla.breached` are critical, `error` and `failed` are errors, `warning` warns.
    """
    kind = alert.event_type.lower()
    if "critical" in kind or "sla.breached" in kind:
        by_type = "critical"
    elif "error" in kind or "failed" in kind:
        by_type = "error"
    elif "warning" in kind:
        by_type = "warning"
    else:
        by_type = default if default in SEVERITIES else "info"
    return max(by_type, _BY_PRIORITY[alert.priority], key=SEVERITIES.index)


def event_action(alert: Alert) -> str:
    """`trigger` while open and unacknowledged, then `acknowledge`, then `resolve`."""
    if alert.state is AlertState.RESOLVED:
        return "resolve"
    if alert.state is AlertState.ACKNOWLEDGED:
        return "acknowledge"
    return "trigger"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def enqueue_body(
    alert: Alert, *, routing_key: str, public_url: str = "", default: str = "info"
) -> dict[str, Any]:
    """The Events v2 request for the alert's current state."""
    action = event_action(alert)
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": _clip(f"chatops-{alert.tenant}-{alert.dedup_key}", DEDUP_KEY_MAX),
    }
    if action != "trigger":
        return body
    details: dict[str, Any] = {"body": alert.body, **alert.facts}
    if alert.stakeholders:
        details["stakeholders"] = ", ".join(alert.stakeholders)
    if alert.occurrences > 1:
        details["occurrences"] = alert.occurrences
    body["payload"] = {
        "summary": _clip(alert.title, SUMMARY_MAX),
        "timestamp": alert.first_seen.isoformat(),
        "severity": severity(alert, default),
        "source": alert.source or "chatops",
        "component": alert.facts.get("component", alert.source),
        "group": alert.event_type,
        "class": alert.event_type.split(".", 1)[0],
        "custom_details": details,
    }
    body["client"] = "ChatOps"
    links = []
    if alert.link:
        links.append({"href": alert.link, "text": "Details"})
    if public_url:
        url = alert_url(public_url, alert)
        body["client_url"] = url
        links.append({"href": url, "text": "Alert in ChatOps"})
    if links:
        body["links"] = links
    return body


class PagerDutyAdapter(BaseAdapter):
    """Sends each alert's state to PagerDuty; the `dedup_key` is the message reference."""

    kind = "pagerduty"

    def __init__(
        self, config: PagerDutyConfig, http: httpx.AsyncClient, *, timeout: float = 10.0
    ) -> None:
        if not config.routing_key:
            raise BadConfig("pagerduty: routing_key (the Events API v2 integration key) is empty")
        self._config, self._http = config, http  # httpx for the REST API (syncs, tests)
        # Every page goes through the Events API: aiohttp, kept alive, to checked addresses.
        self._events = CheckedPoster(self.kind, allow_private=config.allow_private, timeout=timeout)

    async def disconnect(self) -> None:
        """Close the Events API's kept-alive connections."""
        await self._events.close()

    async def send(self, message: Outgoing) -> Delivered:
        """Trigger, acknowledge or resolve the incident for the alert."""
        if message.alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("pagerduty: digests are not sent to PagerDuty")
        body = enqueue_body(
            message.alert,
            routing_key=self._config.routing_key,
            public_url=message.public_url,
            default=self._config.default_severity,
        )
        resp = await self._post(body)
        ref = json_object(resp).get("dedup_key") or body["dedup_key"]
        return Delivered(status_code=resp.status_code, ref=str(ref))

    async def test(self) -> str:
        """Send a `resolve` for a key that does not exist: accepted when the key is valid."""
        body = {
            "routing_key": self._config.routing_key,
            "event_action": "resolve",
            "dedup_key": "chatops-connection-test",
        }
        resp = await self._post(body)
        detail = f"routing key accepted (HTTP {resp.status_code})"
        if self._config.api_key:
            await self._get("/abilities", {})
            detail += "; REST API key accepted"
        return detail

    async def sync(self, request: SyncRequest) -> SyncResult:
        """Incident states from PagerDuty, keyed by `incident_key` (our dedup key).

        Incremental: the log entries (acknowledge, resolve) since the cursor, because
        `/incidents` filters by creation time. Full, or with no cursor yet: the incidents
        created in the last 30 days, in their current state.
        """
        if not self._config.api_key:
            raise NotSupported("pagerduty: set api_key (a REST API key) to sync incident state")
        until = datetime.now(UTC)
        since = _parse_time(request.cursor) if request.kind == "incremental" else None
        records: list[RemoteState] = []
        if since is None:
            params = {"since": (until - timedelta(days=FULL_SYNC_DAYS)).isoformat()}
            async for incident in self._pages("/incidents", "incidents", params, until):
                records += [r for r in [_incident_state(incident)] if r is not None]
        else:
            params = {"since": since.isoformat(), "is_overview": "true", "include[]": "incidents"}
            async for entry in self._pages("/log_entries", "log_entries", params, until):
                records += [r for r in [_log_entry_state(entry)] if r is not None]
        return SyncResult(tuple(records), cursor=until.isoformat())

    async def _pages(
        self, path: str, key: str, params: dict[str, str], until: datetime
    ) -> AsyncIterator[Any]:
        offset = 0
        while True:
            page = await self._get(
                path,
                {
                    **params,
                    "until": until.isoformat(),
                    "limit": str(PAGE_SIZE),
                    "offset": str(offset),
                    "time_zone": "UTC",
                },
            )
            items = page.get(key, [])
            for item in items:
                yield item
            if not page.get("more") or not items:
                return
            offset += len(items)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """v3 signatures: any `v1=<hex HMAC-SHA256 of the raw body>` in the header matches."""
        if not self._config.webhook_secret:
            return False
        expected = "v1=" + hmac_hex(self._config.webhook_secret, body)
        given = headers.get(SIGNATURE_HEADER, "").split(",")
        return any(signature_matches(expected, item) for item in given)

    def process_webhook(self, payload: Any) -> Inbound:
        """An incident event of a v3 webhook: the incident's key, status and who changed it."""
        event = payload.get("event") if isinstance(payload, dict) else None
        if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
            raise BadConfig("pagerduty: not a v3 webhook payload (no event.event_type)")
        kind = event["event_type"]
        if kind not in INCIDENT_EVENTS:
            return Inbound(kind)
        data, agent = event.get("data"), event.get("agent")
        data = data if isinstance(data, dict) else {}
        record = _incident_state({**data, "last_status_change_by": agent})
        return Inbound(kind, (record,) if record else ())

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = self._config.api_url.rstrip("/") + path
        await check_target(url, allow_private=self._config.allow_private)
        headers = {"Authorization": f"Token token={self._config.api_key}", "Accept": API_ACCEPT}
        with translate_errors(self.kind):
            resp = await self._http.get(url, params=params, headers=headers)
        raise_for_status(self.kind, resp, default_retry_after=60.0)
        return json_object(resp)

    async def _post(self, body: dict[str, Any]) -> Answer:
        raw = json.dumps(body, separators=(",", ":")).encode()
        resp = await self._events.post(
            self._config.events_url, raw, {"Content-Type": "application/json"}
        )
        if resp.status_code == 400:
            data = json_object(resp)
            errors = "; ".join(str(e) for e in data.get("errors", [])) or data.get("message", "")
            raise BadConfig(f"pagerduty: HTTP 400: {errors or resp.text[:200]}", status_code=400)
        raise_for_status(self.kind, resp, default_retry_after=30.0)
        return resp


def _incident_state(incident: Any) -> RemoteState | None:
    if not isinstance(incident, dict) or not incident.get("incident_key"):
        return None
    status = incident.get("status")
    if status not in ("triggered", "acknowledged", "resolved"):
        return None
    by = incident.get("last_status_change_by")
    name = by.get("summary", "") if isinstance(by, dict) else ""
    return RemoteState(
        str(incident["incident_key"]), status, str(name), str(incident.get("title", ""))
    )


LOG_ENTRY_STATES = {"acknowledge_log_entry": "acknowledged", "resolve_log_entry": "resolved"}


def _log_entry_state(entry: Any) -> RemoteState | None:
    if not isinstance(entry, dict) or entry.get("type") not in LOG_ENTRY_STATES:
        return None
    incident = entry.get("incident")
    if not isinstance(incident, dict) or not incident.get("incident_key"):
        return None
    agent = entry.get("agent")
    name = agent.get("summary", "") if isinstance(agent, dict) else ""
    state = LOG_ENTRY_STATES[entry["type"]]
    return RemoteState(
        str(incident["incident_key"]), state, str(name), str(incident.get("title", ""))
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
