"""`chatops preview`: the card an event would become, printed as JSON."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.alerts.normalize import InvalidEvent, dedup_key_for, from_api
from bot.infra import jsonbody
from bot.model import Alert, AlertState
from cards.adaptive import alert_card
from cards.blockkit import alert_blocks, builder_link


class PreviewError(ValueError):
    """The input cannot be previewed; the message says why."""


def alert_from(data: Any, state: str, now: datetime) -> Alert:
    """An alert as the bot would store it from this event body, in `state`."""
    try:
        event = from_api(data)
    except InvalidEvent as exc:
        raise PreviewError(str(exc)) from None
    alert = Alert(
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
    if state == "acknowledged":
        return dataclasses.replace(
            alert, state=AlertState.ACKNOWLEDGED, acknowledged_by="you", acknowledged_at=now
        )
    if state == "escalated":
        return dataclasses.replace(alert, escalation_level=1)
    if state == "snoozed":
        return dataclasses.replace(
            alert,
            snoozed_until=now + timedelta(hours=1),
            snoozed_by="you",
            note_count=1,
            last_note_by="you",
        )
    if state == "resolved":
        return dataclasses.replace(
            alert, state=AlertState.RESOLVED, resolved_by="you", resolved_at=now
        )
    return alert


def preview(source: str, fmt: str, state: str, public_url: str) -> int:
    """Print the card for the event JSON in `source` (a path, or - for standard input)."""
    try:
        raw = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()
    except OSError as exc:
        raise PreviewError(f"cannot read {source}: {exc.strerror}") from None
    try:
        data, _cleaned = jsonbody.parse(raw)
    except jsonbody.MalformedJson as exc:
        raise PreviewError(f"{source}: {exc}") from None
    now = datetime.now(UTC)
    alert = alert_from(data, state, now)
    if fmt == "blockkit":
        message = alert_blocks(alert, now, public_url=public_url)
        print(json.dumps(message, indent=2, ensure_ascii=False))
        print(f"Block Kit Builder: {builder_link(message)}", file=sys.stderr)
    else:
        print(
            json.dumps(alert_card(alert, now, public_url=public_url), indent=2, ensure_ascii=False)
        )
    return 0
