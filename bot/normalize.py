"""Incoming payloads to `EventIn`: the REST event, Alertmanager v4 and Grafana alerting."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.model import NOTIFICATION_TYPES, EventIn, Priority

TITLE_MAX = 1_000
BODY_MAX = 64_000
TEXT_MAX = 2_048
FACTS_MAX = 200
STAKEHOLDERS_MAX = 50


class InvalidEvent(ValueError):
    """The payload cannot become an event; the message names the field and what to send."""

    def __init__(self, message: str, code: str = "invalid_event") -> None:
        super().__init__(message)
        self.code = code


def _text(data: dict[str, Any], name: str, limit: int, *, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidEvent(f"{name}: must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidEvent(f"{name}: {len(value)} characters; at most {limit} are accepted")
    return value


def _priority(data: dict[str, Any]) -> Priority:
    raw = data.get("priority")
    kind = data.get("type")
    if raw is not None:
        if not isinstance(raw, str) or raw.upper() not in Priority.__members__:
            allowed = " ".join(p.value for p in Priority)
            raise InvalidEvent(f"priority: unknown {raw!r}; use one of {allowed}", "bad_priority")
        return Priority(raw.upper())
    if kind is not None:
        if not isinstance(kind, str) or kind.lower() not in NOTIFICATION_TYPES:
            allowed = " ".join(NOTIFICATION_TYPES)
            raise InvalidEvent(f"type: unknown {kind!r}; use one of {allowed}", "bad_type")
        return NOTIFICATION_TYPES[kind.lower()]
    return Priority.MEDIUM


def _string_list(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidEvent(f"{name}: must be a list of strings")
    if len(value) > STAKEHOLDERS_MAX:
        raise InvalidEvent(f"{name}: {len(value)} entries; at most {STAKEHOLDERS_MAX}")
    return tuple(v[:100] for v in value)


def _facts(data: dict[str, Any]) -> dict[str, str]:
    value = data.get("facts") or {}
    if not isinstance(value, dict):
        raise InvalidEvent("facts: must be an object of names to values")
    if len(value) > FACTS_MAX:
        raise InvalidEvent(f"facts: {len(value)} entries; at most {FACTS_MAX}")
    return {str(k)[:200]: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def from_api(data: Any) -> EventIn:
    """The `POST /api/v1/events` body: only `title` is required."""
    if not isinstance(data, dict):
        raise InvalidEvent("the body must be a JSON object with at least a title")
    title = _text(data, "title", TITLE_MAX)
    if not title or not title.strip():
        raise InvalidEvent(
            "title: required; send a short summary of what happened", "missing_title"
        )
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidEvent("metadata: must be an object")
    tenant = _text(data, "tenant", 64, default="default") or "default"
    if not tenant.replace("-", "").replace("_", "").isalnum():
        raise InvalidEvent("tenant: use letters, digits, - and _ only")
    return EventIn(
        title=title.strip(),
        tenant=tenant,
        event_type=_text(data, "event_type", 255, default="generic") or "generic",
        priority=_priority(data),
        body=_text(data, "body", BODY_MAX, default="") or "",
        link=_link(_text(data, "link", TEXT_MAX)),
        source=_text(data, "source", 255, default="api") or "api",
        dedup_key=_text(data, "dedup_key", 255),
        stakeholders=_string_list(data, "stakeholders"),
        facts=_facts(data),
        correlation_id=_text(data, "correlation_id", 255),
        metadata=metadata,
    )


def _link(value: str | None) -> str | None:
    if value and not value.startswith(("http://", "https://", "/")):
        raise InvalidEvent("link: must be an http(s) URL or a path starting with /")
    return value or None


def dedup_key_for(event: EventIn) -> str:
    """The given key, or one derived from what makes the event the same event."""
    if event.dedup_key:
        return event.dedup_key
    basis = "\x1f".join((event.tenant, event.event_type, event.source, event.title))
    return "auto-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


_SEVERITY = {
    "critical": Priority.CRITICAL,
    "page": Priority.CRITICAL,
    "error": Priority.HIGH,
    "high": Priority.HIGH,
    "warning": Priority.MEDIUM,
    "warn": Priority.MEDIUM,
    "medium": Priority.MEDIUM,
    "low": Priority.LOW,
    "info": Priority.INFO,
    "none": Priority.INFO,
}


def _alert_list(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise InvalidEvent(f"not a {what} webhook: expected an object with an `alerts` list")
    alerts = [a for a in data["alerts"] if isinstance(a, dict)]
    if len(alerts) != len(data["alerts"]):
        raise InvalidEvent("alerts: every entry must be an object")
    return alerts


def from_alertmanager(
    data: Any, *, tenant: str = "default", source: str = "alertmanager"
) -> list[EventIn]:
    """One event per alert; `resolved` closes it; the fingerprint (or labels) dedups it."""
    alerts = _alert_list(data, "Alertmanager")
    if source == "alertmanager" and str(data.get("version", "4")) != "4":
        raise InvalidEvent(
            f"version: Alertmanager webhook version {data.get('version')!r}; 4 is supported"
        )
    common_labels = _str_map(data.get("commonLabels"))
    common_ann = _str_map(data.get("commonAnnotations"))
    group_status = str(data.get("status", "firing"))
    events = []
    for alert in alerts:
        labels = {**common_labels, **_str_map(alert.get("labels"))}
        annotations = {**common_ann, **_str_map(alert.get("annotations"))}
        status = str(alert.get("status") or group_status)
        name = labels.get("alertname", "alert")
        fingerprint = (
            alert.get("fingerprint")
            or hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
        )
        title = annotations.get("summary") or name
        link = alert.get("generatorURL") or annotations.get("runbook_url") or None
        facts = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
        if "values" in alert and isinstance(alert["values"], dict):
            facts.update({f"value {k}": str(v) for k, v in alert["values"].items()})
        events.append(
            EventIn(
                title=title[:TITLE_MAX],
                tenant=tenant,
                event_type=f"{source}.{name}"[:255],
                priority=_SEVERITY.get(labels.get("severity", "").lower(), Priority.HIGH),
                body=annotations.get("description", "")[:BODY_MAX],
                link=link if link and link.startswith(("http://", "https://")) else None,
                source=source,
                dedup_key=f"{source}-{fingerprint}"[:255],
                stakeholders=tuple(filter(None, [labels.get("team", "").upper()])),
                facts=dict(list(facts.items())[:FACTS_MAX]),
                correlation_id=str(data.get("groupKey", ""))[:255] or None,
                metadata={
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": alert.get("startsAt"),
                    "endsAt": alert.get("endsAt"),
                },
                resolve=status == "resolved",
            )
        )
    return events


def from_grafana(data: Any, *, tenant: str = "default") -> list[EventIn]:
    """Grafana alerting's webhook: Alertmanager's shape with Grafana's extra fields."""
    return from_alertmanager(data, tenant=tenant, source="grafana")


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
