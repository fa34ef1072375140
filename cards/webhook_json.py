"""The plain JSON document of an alert or a digest, as generic webhooks receive it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cards.style import alert_url
from domain import Alert, Digest, Outgoing


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_document(alert: Alert, public_url: str = "") -> dict[str, Any]:
    """Every field of an alert a receiver may need, with times in ISO 8601."""
    base = public_url.rstrip("/")
    return {
        "id": alert.id,
        "tenant": alert.tenant,
        "event_type": alert.event_type,
        "priority": alert.priority.value,
        "state": alert.state.value,
        "title": alert.title,
        "body": alert.body,
        "link": alert.link,
        "source": alert.source,
        "dedup_key": alert.dedup_key,
        "stakeholders": list(alert.stakeholders),
        "facts": dict(alert.facts),
        "labels": dict(alert.labels),
        "muted_by": alert.muted_by,
        "links": [{"title": link.title, "url": link.url} for link in alert.links],
        "correlation_id": alert.correlation_id,
        "occurrences": alert.occurrences,
        "first_seen": _iso(alert.first_seen),
        "last_seen": _iso(alert.last_seen),
        "escalation_level": alert.escalation_level,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "resolved_by": alert.resolved_by,
        "resolved_at": _iso(alert.resolved_at),
        "snoozed_until": _iso(alert.snoozed_until) if alert.snoozed else None,
        "snoozed_by": alert.snoozed_by if alert.snoozed else None,
        "note_count": alert.note_count,
        "url": alert_url(base, alert) if base else None,
    }


def digest_document(digest: Digest, public_url: str = "") -> dict[str, Any]:
    """A digest: how many alerts, by priority, and the most severe in full."""
    return {
        "id": digest.id,
        "count": digest.count,
        "by_priority": dict(digest.by_priority),
        "since": _iso(digest.since),
        "until": _iso(digest.until),
        "most_severe": [alert_document(a, public_url) for a in digest.most_severe],
        "alert_ids": list(digest.alert_ids),
    }


def message_document(message: Outgoing) -> dict[str, Any]:
    """The body a generic webhook receives for any outgoing message."""
    doc: dict[str, Any] = {"delivery_id": message.delivery_id, "kind": message.kind.value}
    if message.alert is not None:
        doc["alert"] = alert_document(message.alert, message.public_url)
    if message.digest is not None:
        doc["digest"] = digest_document(message.digest, message.public_url)
    if message.notes:
        doc["notes"] = list(message.notes)
    return doc
