"""Incoming payloads to `EventIn`: the REST event, Alertmanager v4 and Grafana alerting."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from domain import NOTIFICATION_TYPES, EventIn, Link, Priority
from domain.matchers import MAX_VALUE as LABEL_VALUE_MAX
from domain.matchers import NAME as LABEL_NAME

LINK_MAX = 2_048  # the link column, and what browsers and chat platforms follow reliably
ID_MAX = 255  # event_type, source, dedup_key, correlation_id: the columns' width
TENANT_MAX = 64
TENANT_NAME = re.compile(r"[A-Za-z0-9_-]+")
LINKS_MAX = 5
LINK_TITLE_MAX = 75  # what a button shows
STAKEHOLDERS_MAX = 50
STAKEHOLDER_MAX = 100
FACT_NAME_MAX = 200


class InvalidEvent(ValueError):
    """The payload cannot become an event; the message names the field and what to send."""

    def __init__(self, message: str, code: str = "invalid_event") -> None:
        super().__init__(message)
        self.code = code


class Cleaner:
    """Collects what was changed to make an event storable: the 202 answer lists it."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def text(self, data: dict[str, Any], name: str, *, default: str | None = None) -> str | None:
        """A string field, or None/default when absent; another type is the caller's mistake."""
        value = data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InvalidEvent(f"{name}: must be a string, got {type(value).__name__}")
        return value

    def ident(self, data: dict[str, Any], name: str, *, default: str | None = None) -> str | None:
        """An identifier column: over its width it is shortened, keeping it distinct."""
        value = self.text(data, name, default=default)
        if value is not None and len(value) > ID_MAX:
            digest = hashlib.sha256(value.encode()).hexdigest()[:16]
            self.notes.append(f"{name}: {len(value)} characters, shortened to {ID_MAX}")
            value = value[: ID_MAX - 17] + "~" + digest
        return value

    def link(self, value: object, name: str = "link") -> str | None:
        """An http(s) URL or a path; anything else is dropped with a note, never refused."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.notes.append(f"{name}: {type(value).__name__}, not a URL: dropped")
            return None
        if len(value) > LINK_MAX:
            self.notes.append(f"{name}: {len(value)} characters, over {LINK_MAX}: dropped")
            return None
        stripped = value.strip()
        if not _safe_url(stripped):
            scheme = stripped.split(":", 1)[0][:20] + ":" if ":" in stripped else "not a URL"
            self.notes.append(f"{name}: {scheme} dropped")
            return None
        return stripped

    def links(self, value: object) -> tuple[Link, ...]:
        """`links`: up to five `{"title", "url"}`, http(s) only; anything else dropped and said."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise InvalidEvent('links: must be a list of {"title", "url"} objects')
        kept: list[Link] = []
        for n, item in enumerate(value):
            where = f"links[{n}]"
            if not isinstance(item, dict):
                self.notes.append(f"{where}: not an object: dropped")
                continue
            url = self.link(item.get("url"), f"{where}.url")
            if url is None:
                continue
            if not url.lower().startswith(("http://", "https://")):
                self.notes.append(f"{where}.url: not http(s): dropped")
                continue
            title = item.get("title")
            kept.append(Link(_title(title, url), url))
        return self.at_most(kept)

    def at_most(self, links: list[Link]) -> tuple[Link, ...]:
        """The first LINKS_MAX links; the rest dropped and said."""
        if len(links) > LINKS_MAX:
            self.notes.append(f"links: {len(links)} given, the first {LINKS_MAX} kept")
        return tuple(links[:LINKS_MAX])


def _title(title: object, url: str) -> str:
    if isinstance(title, str) and title.strip():
        return title.strip()[:LINK_TITLE_MAX]
    return (urlsplit(url).hostname or "Link")[:LINK_TITLE_MAX]


def _safe_url(value: str) -> bool:
    if value.startswith("/") and not value.startswith("//"):
        return True
    if not value.lower().startswith(("http://", "https://")):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        return False
    return bool(parts.hostname) and not any(c.isspace() or ord(c) < 32 for c in value)


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


def _string_list(data: dict[str, Any], name: str, clean: Cleaner) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidEvent(f"{name}: must be a list of strings")
    if len(value) > STAKEHOLDERS_MAX:
        clean.notes.append(f"{name}: {len(value)} entries, the first {STAKEHOLDERS_MAX} kept")
    if any(len(v) > STAKEHOLDER_MAX for v in value):
        clean.notes.append(f"{name}: entries over {STAKEHOLDER_MAX} characters shortened")
    return tuple(v[:STAKEHOLDER_MAX] for v in value[:STAKEHOLDERS_MAX])


def _facts(data: dict[str, Any]) -> dict[str, str]:
    value = data.get("facts") or {}
    if not isinstance(value, dict):
        raise InvalidEvent("facts: must be an object of names to values")
    return {
        str(k)[:FACT_NAME_MAX]: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()
    }


LABELS_MAX = 64  # labels an event keeps; the rest are dropped, and the answer says so


def labels_of(value: Any, clean: Cleaner, where: str = "labels") -> dict[str, str]:
    """A string map of label names (letters, digits, _) to values; what cannot be a label is
    dropped, a long value shortened, and `cleaned` says which."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(f"{where}: must be an object of label names to values")
    labels: dict[str, str] = {}
    for name, raw in value.items():
        if not LABEL_NAME.fullmatch(str(name)):
            clean.notes.append(
                f"{where}.{str(name)[:40]}: not a label name (letters, digits, _): dropped"
            )
            continue
        text = raw if isinstance(raw, str) else json.dumps(raw)
        if len(text) > LABEL_VALUE_MAX:
            clean.notes.append(f"{where}.{name}: shortened to {LABEL_VALUE_MAX} characters")
            text = text[:LABEL_VALUE_MAX]
        labels[str(name)] = text
    if len(labels) > LABELS_MAX:
        clean.notes.append(f"{where}: {len(labels)} labels, the first {LABELS_MAX} kept")
        labels = dict(list(labels.items())[:LABELS_MAX])
    return labels


def tenant_of(value: object) -> str:
    """A tenant id: letters, digits, - and _, at most 64; anything else is the caller's mistake."""
    if value is None:
        return "default"
    if not isinstance(value, str) or not value:
        raise InvalidEvent("tenant: must be a non-empty string")
    if len(value) > TENANT_MAX:
        raise InvalidEvent(f"tenant: {len(value)} characters; at most {TENANT_MAX}")
    if not TENANT_NAME.fullmatch(value):
        raise InvalidEvent("tenant: use letters, digits, - and _ only")
    return value


# The fields of `POST /api/v1/events`; any other is ignored, and the answer's `cleaned` says so.
API_FIELDS = frozenset(
    {
        "title",
        "tenant",
        "event_type",
        "type",
        "priority",
        "body",
        "link",
        "links",
        "source",
        "dedup_key",
        "stakeholders",
        "facts",
        "correlation_id",
        "metadata",
        "labels",
    }
)
UNKNOWN_LISTED = 10  # unknown fields named one by one; past this, counted


def from_api(data: Any, *, nul_removed: Sequence[str] = ()) -> EventIn:
    """The `POST /api/v1/events` body: only `title` is required; nothing refused for length."""
    if not isinstance(data, dict):
        raise InvalidEvent("the body must be a JSON object with at least a title")
    clean = Cleaner()
    clean.notes.extend(f"{where}: NUL characters removed" for where in nul_removed)
    unknown = sorted(str(k) for k in data if k not in API_FIELDS)
    for name in unknown[:UNKNOWN_LISTED]:
        clean.notes.append(f"{name[:64]}: not a field of an event: ignored")
    if len(unknown) > UNKNOWN_LISTED:
        clean.notes.append(f"… and {len(unknown) - UNKNOWN_LISTED} more unknown fields ignored")
    title = clean.text(data, "title")
    if not title or not title.strip():
        raise InvalidEvent(
            "title: required; send a short summary of what happened", "missing_title"
        )
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidEvent("metadata: must be an object")
    event = EventIn(
        title=title.strip(),
        tenant=tenant_of(data.get("tenant")),
        event_type=clean.ident(data, "event_type", default="generic") or "generic",
        priority=_priority(data),
        body=clean.text(data, "body", default="") or "",
        link=clean.link(data.get("link")),
        source=clean.ident(data, "source", default="api") or "api",
        dedup_key=clean.ident(data, "dedup_key"),
        stakeholders=_string_list(data, "stakeholders", clean),
        facts=_facts(data),
        correlation_id=clean.ident(data, "correlation_id"),
        metadata=metadata,
        links=clean.links(data.get("links")),
        labels=labels_of(data.get("labels"), clean),
    )
    return dataclasses.replace(event, cleaned=tuple(clean.notes))


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
        clean = Cleaner()
        links = alert_links(clean, alert, annotations, grafana=source == "grafana")
        facts = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
        if "values" in alert and isinstance(alert["values"], dict):
            facts.update({f"value {k}": str(v) for k, v in alert["values"].items()})
        events.append(
            EventIn(
                title=title,
                tenant=tenant,
                event_type=f"{source}.{name}"[:ID_MAX],
                priority=_SEVERITY.get(labels.get("severity", "").lower(), Priority.HIGH),
                body=annotations.get("description", ""),
                link=_main_link(links),
                links=links,
                source=source,
                dedup_key=f"{source}-{fingerprint}"[:ID_MAX],
                stakeholders=tuple(filter(None, [labels.get("team", "").upper()[:100]])),
                facts=facts,
                correlation_id=str(data.get("groupKey", ""))[:ID_MAX] or None,
                metadata={
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": alert.get("startsAt"),
                    "endsAt": alert.get("endsAt"),
                },
                resolve=status == "resolved",
                labels=labels_of(labels, clean),
                cleaned=tuple(clean.notes),
            )
        )
    return events


# Annotation and field names that become links, and the titles of their buttons, in card order.
NAMED_LINKS = {"runbook_url": "Runbook", "dashboard_url": "Dashboard"}
GRAFANA_LINKS = {"dashboardURL": "Dashboard", "panelURL": "Panel", "silenceURL": "Silence"}


def alert_links(
    clean: Cleaner, alert: dict[str, Any], annotations: dict[str, str], *, grafana: bool
) -> tuple[Link, ...]:
    """Runbook, dashboard, the other `*_url` annotations, Grafana's URLs, then the source."""
    found: list[tuple[str, object, str]] = [
        (title, annotations.get(name), name) for name, title in NAMED_LINKS.items()
    ]
    found += [
        (name.removesuffix("_url").replace("_", " ").capitalize(), value, name)
        for name, value in sorted(annotations.items())
        if name.endswith("_url") and name not in NAMED_LINKS
    ]
    if grafana:
        found += [(title, alert.get(name), name) for name, title in GRAFANA_LINKS.items()]
    found.append(("Source", alert.get("generatorURL"), "generatorURL"))
    links = []
    for title, value, name in found:
        url = clean.link(value, name)
        if url and url.lower().startswith(("http://", "https://")):
            links.append(Link(title[:LINK_TITLE_MAX], url))
    return clean.at_most(links)


def _main_link(links: tuple[Link, ...]) -> str | None:
    """`link`, as before links: the alert's source, else its runbook (cards show it once)."""
    by_title = {link.title: link.url for link in links}
    return by_title.get("Source") or by_title.get("Runbook")


def from_grafana(data: Any, *, tenant: str = "default") -> list[EventIn]:
    """Grafana alerting's webhook: Alertmanager's shape with Grafana's extra fields."""
    return from_alertmanager(data, tenant=tenant, source="grafana")


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
