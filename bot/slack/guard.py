"""What is checked before Bolt sees a Slack request: signature over the raw bytes, and the body."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from bot.infra import jsonbody


def signed_by(secret: bytes, raw: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Slack's `v0` request signature over the raw bytes, from the last five minutes."""
    if not secret or not timestamp.isdigit() or len(timestamp) > 12 or not signature.isascii():
        return False
    if abs(now - int(timestamp)) > 5 * 60:
        return False
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}".encode(), signature.encode())


def slack_body_problem(raw: bytes, content_type: str) -> str | None:
    """Why a signed body is not one Slack sends: UTF-8, and a JSON object where JSON is due."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if text.startswith("\ufeff"):
        return "the body starts with a byte-order mark; Slack sends plain UTF-8"
    if content_type == "application/json":
        payload: object = text
    elif content_type == "application/x-www-form-urlencoded":
        form = parse_qs(text, keep_blank_values=True)
        if "payload" not in form:
            return None  # a slash command or ssl_check: plain fields Bolt reads
        payload = form["payload"][0]
    else:
        return f"content type {content_type or 'none'}: Slack sends JSON or a form"
    try:
        value, _ = jsonbody.parse(str(payload))
    except jsonbody.MalformedJson as exc:
        return f"the payload is {exc}"
    if not isinstance(value, dict):
        return "the payload is not a JSON object"
    return _shape_problem(value)


def _shape_problem(payload: dict[str, object]) -> str | None:
    """What Slack always sends with an interaction and Bolt reads without checking."""
    kind = payload.get("type")
    if kind in ("block_actions", "interactive_message"):
        actions = payload.get("actions")
        if (
            not isinstance(actions, list)
            or not actions
            or not all(isinstance(a, dict) for a in actions)
        ):
            return f"a {kind} payload without its actions"
    if kind in ("block_actions", "view_submission", "shortcut", "message_action"):
        if not isinstance(payload.get("user"), dict):
            return f"a {kind} payload without its user"
    return None
