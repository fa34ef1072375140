"""PagerDuty Events API v2: trigger, acknowledge and resolve by `dedup_key`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.base import BadConfig, raise_for_status, translate_errors
from adapters.targets import check_target
from bot.model import Alert, AlertState, Delivered, DeliveryKind, Outgoing, Priority

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
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
        url = f"{public_url.rstrip('/')}/api/v1/events/{alert.id}"
        body["client_url"] = url
        links.append({"href": url, "text": "Alert in ChatOps"})
    if links:
        body["links"] = links
    return body


class PagerDutyAdapter:
    """Sends each alert's state to PagerDuty; the `dedup_key` is the message reference."""

    kind = "pagerduty"

    def __init__(self, config: PagerDutyConfig, http: httpx.AsyncClient) -> None:
        if not config.routing_key:
            raise BadConfig("pagerduty: routing_key (the Events API v2 integration key) is empty")
        self._config, self._http = config, http

    async def send(self, message: Outgoing) -> Delivered:
        """Trigger, acknowledge or resolve the incident for the alert."""
        if message.alert is None or message.kind is DeliveryKind.DIGEST:
            raise BadConfig("pagerduty: digests are not sent to PagerDuty")
        body = enqueue_body(
            message.alert,
            routing_key=self._config.routing_key,
            public_url=message.public_url,
            default=self._config.default_severity,
        )
        resp = await self._post(body)
        ref = _json(resp).get("dedup_key") or body["dedup_key"]
        return Delivered(status_code=resp.status_code, ref=str(ref))

    async def test(self) -> str:
        """Send a `resolve` for a key that does not exist: accepted when the key is valid."""
        body = {
            "routing_key": self._config.routing_key,
            "event_action": "resolve",
            "dedup_key": "chatops-connection-test",
        }
        resp = await self._post(body)
        return f"routing key accepted (HTTP {resp.status_code})"

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        await check_target(self._config.events_url, allow_private=self._config.allow_private)
        with translate_errors(self.kind):
            resp = await self._http.post(self._config.events_url, json=body)
        if resp.status_code == 400:
            data = _json(resp)
            errors = "; ".join(str(e) for e in data.get("errors", [])) or data.get("message", "")
            raise BadConfig(f"pagerduty: HTTP 400: {errors or resp.text[:200]}", status_code=400)
        raise_for_status(self.kind, resp, default_retry_after=30.0)
        return resp


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
