"""`chatops preview`: the card an event would become, printed as JSON."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from bot.core.alerts.normalize import InvalidEvent
from bot.core.alerts.preview import alert_from as event_alert
from bot.core.alerts.preview import in_state
from bot.infra import jsonbody
from cards.adaptive import alert_card
from cards.blockkit import alert_blocks, builder_link
from domain import Alert


class PreviewError(ValueError):
    """The input cannot be previewed; the message says why."""


def alert_from(data: Any, state: str, now: datetime) -> Alert:
    """An alert as the bot would store it from this event body, in `state`."""
    try:
        return in_state(event_alert(data, now), state, now)
    except InvalidEvent as exc:
        raise PreviewError(str(exc)) from None


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
