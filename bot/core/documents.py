"""Deliveries, channels and routes as the REST API and the CLI show them: nothing secret."""

from __future__ import annotations

from typing import Any

from bot.core.records import DeliveryRecord
from bot.core.specs.routes import ChannelRecord, RouteInfo, RouteSpec
from cards.redact import mask_target
from domain import grouping


def delivery_document(row: DeliveryRecord) -> dict[str, Any]:
    """A delivery as the API shows it: its audit columns, nothing secret."""
    return {
        "id": row.id,
        "event_id": row.event_id,
        "channel_id": row.channel_id,
        "channel_type": row.channel_type,
        "integration_type": row.channel_type.upper(),
        "target": row.target,
        "kind": row.kind,
        "status": row.status,
        "attempts": row.attempts,
        "failures": row.failures,
        "max_attempts": row.max_attempts,
        "status_code": row.status_code,
        "error_message": row.error_message,
        "message_ref": row.message_ref,
        "user_id": row.user_id,
        "priority": row.priority,
        "event_type": row.event_type,
        "correlation_id": row.correlation_id,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "created_at": row.created_at.isoformat(),
    }


def channel_document(channel: ChannelRecord) -> dict[str, Any]:
    """A channel; a URL target shows its host only: webhook URLs carry their secret."""
    return {
        "id": channel.id,
        "name": channel.name,
        "type": channel.type,
        "integration_id": channel.integration_id,
        "target": mask_target(channel.target),
        "rate_per_minute": channel.rate_per_minute,
        "is_active": channel.enabled,
        "created_at": channel.created_at.isoformat(),
    }


def route_document(route: RouteInfo) -> dict[str, Any]:
    """A route and what it matches."""
    document: dict[str, Any] = {"id": route.id, "channel_id": route.channel_id}
    for name in RouteSpec.model_fields:  # every field of the spec, in its order
        if name == "channel" or name in grouping.FIELDS:
            continue
        value = getattr(route, name)  # `actions` null: every verb
        document[SHOWN_AS.get(name, name)] = [] if value is None and name in LISTS else value
    document.update(_grouping_document(route))
    document["created_by"] = route.created_by
    document["created_at"] = route.created_at.isoformat()
    return document


SHOWN_AS = {"continue_": "continue", "enabled": "is_active"}  # a route's REST names
LISTS = ("matchers", "mute_time_intervals", "active_time_intervals")  # shown as [] when none


def _grouping_document(route: RouteInfo) -> dict[str, Any]:
    """A route's grouping with every interval (defaults filled in); `group_by` null when it
    does not group."""
    found = grouping.grouping_from({f: getattr(route, f) for f in grouping.FIELDS})
    if found is None:
        return {"group_by": None}
    return grouping.document(found)
