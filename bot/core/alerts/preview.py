"""An event body as the alert it would become, in any state: what `chatops preview` and the
console's preview render, without storing anything."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from bot.core.alerts.normalize import dedup_key_for, from_api
from domain import Alert, AlertState

STATES = ("triggered", "acknowledged", "escalated", "snoozed", "resolved")


def alert_from(data: Any, now: datetime) -> Alert:
    """The alert the event body `data` would become, triggered now; InvalidEvent if it is not
    a valid event."""
    event = from_api(data)
    return Alert(
        id="preview",
        tenant=event.tenant,
        event_type=event.event_type,
        priority=event.priority,
        title=event.title,
        body=event.body,
        state=AlertState.TRIGGERED,
        dedup_key=dedup_key_for(event),
        source=event.source,
        link=event.link,
        stakeholders=event.stakeholders,
        facts=event.facts,
        correlation_id=event.correlation_id,
        occurrences=1,
        first_seen=now,
        last_seen=now,
        metadata=event.metadata,
        links=event.links,
    )


def in_state(alert: Alert, state: str, now: datetime, who: str = "you") -> Alert:
    """The alert as it looks in `state` (one of STATES), acted on by `who`."""
    if state == "acknowledged":
        return dataclasses.replace(
            alert, state=AlertState.ACKNOWLEDGED, acknowledged_by=who, acknowledged_at=now
        )
    if state == "escalated":
        return dataclasses.replace(alert, escalation_level=1)
    if state == "snoozed":
        return dataclasses.replace(
            alert,
            snoozed_until=now + timedelta(hours=1),
            snoozed_by=who,
            note_count=1,
            last_note_by=who,
        )
    if state == "resolved":
        return dataclasses.replace(
            alert, state=AlertState.RESOLVED, resolved_by=who, resolved_at=now
        )
    return alert
