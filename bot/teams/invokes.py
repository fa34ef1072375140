"""The answers to Teams invokes (Universal Actions): a card, a message or an error, always HTTP
200 once processed, and reading what an invoke sends."""

from __future__ import annotations

from typing import Any

from botbuilder.core import InvokeResponse
from botbuilder.schema import Activity
from msrest.serialization import Model


class InvokeBody(Model):
    """The Universal Actions response body; its value may be a card, a string or an error."""

    _attribute_map = {
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, status_code: int, kind: str, value: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.status_code, self.type, self.value = status_code, kind, value


def invoke(status: int, kind: str, value: Any) -> InvokeResponse:
    """An `adaptiveCard/action` answer; HTTP 200 whenever the invoke was processed."""
    return InvokeResponse(status=200, body=InvokeBody(status, kind, value))


def error(status: int, code: str, message: str) -> InvokeResponse:
    """An invoke error the client shows instead of crashing the card."""
    return invoke(status, "application/vnd.microsoft.error", {"code": code, "message": message})


def conversation_of(activity: Activity) -> str | None:
    """The conversation a card lives in: in a channel's thread Teams adds `;messageid=...` to
    the id, but the channel is kept (and its routes found) by the bare conversation id."""
    if activity.conversation is None or not activity.conversation.id:
        return None
    return str(activity.conversation.id).split(";messageid=", 1)[0]


def minutes_of(value: object) -> int | None:
    """A snooze's minutes as the card's choice set sends them: a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 7:
        return int(value)
    return None
