"""How cards look on both platforms: priority presentation, times, escaping and truncation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from domain import Alert, AlertState, GroupView, Priority, Verb, grouping

ELLIPSIS = "…"


@dataclass(frozen=True)
class Look:
    """How one priority is shown: the same emoji and colour on Slack and Teams."""

    emoji: str
    colour: str  # hex, for Slack attachments and webhook receivers
    container: str  # Adaptive Card container style
    text_colour: str  # Adaptive Card text colour


LOOKS: dict[Priority, Look] = {
    Priority.CRITICAL: Look("🔴", "#D32F2F", "attention", "Attention"),
    Priority.HIGH: Look("🟠", "#F57C00", "warning", "Warning"),
    Priority.MEDIUM: Look("🟡", "#FBC02D", "warning", "Warning"),
    Priority.LOW: Look("🔵", "#1976D2", "accent", "Accent"),
    Priority.INFO: Look("⚪", "#9E9E9E", "default", "Default"),
}

STATE_LABELS = {
    "triggered": "🚨 Triggered",
    "acknowledged": "👀 Acknowledged",
    "escalated": "⏫ Escalated",
    "resolved": "✅ Resolved",
}


def shown_state(alert: Alert) -> str:
    """The state a card shows: an open alert with an escalation level shows as escalated."""
    if alert.state is AlertState.TRIGGERED and alert.escalation_level > 0:
        return "escalated"
    return alert.state.value


def snooze_line(alert: Alert, now: datetime) -> str | None:
    """`💤 Snoozed by X until 14:30 (UTC)`, with the day when it is not today's."""
    if not alert.snoozed or alert.snoozed_until is None:
        return None
    until = alert.snoozed_until.astimezone(UTC)
    day = "" if until.date() == now.astimezone(UTC).date() else until.strftime("%Y-%m-%d ")
    return f"💤 Snoozed by {alert.snoozed_by or 'someone'} until {day}{until:%H:%M} (UTC)"


def notes_line(alert: Alert) -> str | None:
    """`📝 2 notes · last by X`."""
    if not alert.note_count:
        return None
    count = "1 note" if alert.note_count == 1 else f"{alert.note_count} notes"
    return f"📝 {count} · last by {alert.last_note_by or 'someone'}"


LABELS_SHOWN = 6  # labels a card lists; the rest are counted


def labels_line(alert: Alert) -> str | None:
    """`🏷 severity=critical · team=db · +3 more`: the labels not already shown as facts."""
    shown = [(k, v) for k, v in sorted(alert.labels.items()) if alert.facts.get(k) != v]
    if not shown:
        return None
    listed = " · ".join(f"{k}={v}" for k, v in shown[:LABELS_SHOWN])
    more = len(shown) - LABELS_SHOWN
    return f"🏷 {listed}" + (f" · +{more} more" if more > 0 else "")


def state_lines(alert: Alert, now: datetime) -> list[str]:
    """Who did what: resolved; else snoozed, acknowledged or escalated; then its notes."""
    lines: list[str | None] = []
    if alert.state is AlertState.RESOLVED and alert.resolved_at:
        who = alert.resolved_by or "unknown"
        lines.append(f"✅ Resolved by {who} at {when(alert.resolved_at, now)}")
    else:
        lines.append(snooze_line(alert, now))
        if alert.acknowledged_by and alert.acknowledged_at:
            who = alert.acknowledged_by
            lines.append(f"👀 Acknowledged by {who} at {when(alert.acknowledged_at, now)}")
        elif alert.escalation_level:
            target = alert.metadata.get("escalated_to")
            lines.append(
                f"⏫ Escalated to level {alert.escalation_level}"
                + (f" ({target})" if target else "")
            )
        if alert.state is AlertState.TRIGGERED and alert.paging:
            lines.append(alert.paging)  # who its escalation policy pages, at which step
    lines.append(notes_line(alert))
    lines.append(labels_line(alert))
    return [line for line in lines if line]


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def one_line(text: str) -> str:
    """Newlines and runs of spaces folded into single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def absolute(when: datetime) -> str:
    """`2026-11-21 14:03 UTC`."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def spoken_utc(stamp: str | None) -> str:
    """An ISO time as people read it, `Sun 06 Dec 10:42 UTC`; `never` for none."""
    if not stamp:
        return "never"
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%a %d %b %H:%M UTC")


def relative(when: datetime, now: datetime) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago` (or `in 5 min` for the future)."""
    seconds = int((now - when).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        amount = f"{max(1, round(seconds / 60))} min"
    elif seconds < 86400:
        amount = f"{round(seconds / 3600)} h"
    else:
        amount = f"{round(seconds / 86400)} d"
    return f"in {amount}" if future else f"{amount} ago"


def when(moment: datetime, now: datetime) -> str:
    """Absolute and relative together: `2026-11-21 14:03 UTC (5 min ago)`."""
    return f"{absolute(moment)} ({relative(moment, now)})"


def slack_escape(text: str) -> str:
    """Escape text for Slack mrkdwn: no `<!channel>`, `<@U123>` or links can form."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def teams_escape(text: str) -> str:
    """Backslash-escape Markdown punctuation for Adaptive Card fields that render Markdown."""
    return _MARKDOWN.sub(r"\\\1", text)


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) URLs become buttons."""
    if url and url.startswith(("https://", "http://")) and not any(c in url for c in ' \n<>"'):
        return url
    return None


def alert_url(public_url: str, alert: Alert) -> str:
    """The alert's read-only page: its id and the unguessable key that opens it."""
    base = f"{public_url.rstrip('/')}/alerts/{alert.id}"
    return f"{base}/{alert.view_token}" if alert.view_token else base


def group_title(view: GroupView) -> str:
    """A group's card heading: its labels, ✅ once nothing in it is open."""
    mark = "📦" if view.open else "✅"
    return f"{mark} {grouping.title(view.labels)}"


def group_counts(view: GroupView) -> str:
    """How many of a group's alerts are in each state, `🔥 12 firing · ✅ 3 resolved`."""
    parts = [
        ("🔥", view.firing, "firing"),
        ("👀", view.acknowledged, "acknowledged"),
        ("💤", view.snoozed, "snoozed"),
        ("✅", view.resolved, "resolved"),
    ]
    return " · ".join(f"{mark} {n} {word}" for mark, n, word in parts if n) or "no alerts"


GROUP_VERBS = (Verb.ACKNOWLEDGE, Verb.SNOOZE, Verb.ESCALATE, Verb.RESOLVE)  # act on every member


def group_verbs(view: GroupView, offered: frozenset[Verb] | None) -> list[Verb]:
    """The verbs a group's card offers: none once nothing is open; the channel's otherwise."""
    if not view.open:
        return []
    return [v for v in GROUP_VERBS if offered is None or v in offered]


def digest_url(public_url: str, digest_id: str) -> str:
    """The read-only page listing a digest's alerts."""
    return f"{public_url.rstrip('/')}/digests/{digest_id}"
