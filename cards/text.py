"""Alerts as text: e-mail (plain and HTML), SMS, and ticket fields for Jira and ServiceNow."""

from __future__ import annotations

import html
from dataclasses import dataclass

from cards.style import (
    LOOKS,
    STATE_LABELS,
    absolute,
    alert_url,
    clip,
    one_line,
    safe_url,
    shown_state,
)
from domain import Alert

SMS_MAX = 1600  # Twilio refuses longer bodies
SUBJECT_MAX = 200


def subject(alert: Alert) -> str:
    """`[CRITICAL] title (acknowledged)`: the state only once it is not new."""
    state = shown_state(alert)
    suffix = "" if state == "triggered" else f" ({state})"
    return (
        clip(one_line(f"[{alert.priority.value}] {alert.title}"), SUBJECT_MAX - len(suffix))
        + suffix
    )


def _lines(alert: Alert, public_url: str) -> list[tuple[str, str]]:
    rows = [
        ("State", STATE_LABELS[shown_state(alert)]),
        ("Priority", f"{LOOKS[alert.priority].emoji} {alert.priority.value}"),
        ("Type", alert.event_type),
        ("Source", alert.source),
        ("First seen", absolute(alert.first_seen)),
    ]
    if alert.occurrences > 1:
        rows.append(("Occurrences", str(alert.occurrences)))
    if alert.acknowledged_by:
        rows.append(("Acknowledged by", alert.acknowledged_by))
    if alert.resolved_by:
        rows.append(("Resolved by", alert.resolved_by))
    if alert.stakeholders:
        rows.append(("Stakeholders", ", ".join(alert.stakeholders)))
    rows += [(str(k), str(v)) for k, v in alert.facts.items()]
    if alert.correlation_id:
        rows.append(("Correlation id", alert.correlation_id))
    if public_url:
        rows.append(("In ChatOps", alert_url(public_url, alert)))
    return rows


def plain(alert: Alert, public_url: str = "") -> str:
    """The e-mail's text part."""
    parts = [alert.title, ""]
    if alert.body:
        parts += [alert.body, ""]
    parts += [f"{name}: {value}" for name, value in _lines(alert, public_url)]
    link = safe_url(alert.link)
    if link:
        parts += ["", f"Details: {link}"]
    return "\n".join(parts) + "\n"


def rich(alert: Alert, public_url: str = "") -> str:
    """The e-mail's HTML part; every piece of alert text is escaped."""
    look = LOOKS[alert.priority]
    esc = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{esc(name)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for name, value in _lines(alert, public_url)
    )
    body = f"<p>{esc(alert.body)}</p>" if alert.body else ""
    link = safe_url(alert.link)
    details = f'<p><a href="{esc(link, quote=True)}">Details</a></p>' if link else ""
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f'<div style="border-left:6px solid {look.colour};padding-left:12px">'
        f"<h2>{esc(look.emoji)} {esc(alert.title)}</h2>{body}<table>{rows}</table>{details}"
        "</div></body></html>"
    )


def sms(alert: Alert, public_url: str = "") -> str:
    """One text message: priority, title, state, and where to act."""
    state = shown_state(alert)
    text = f"{LOOKS[alert.priority].emoji} [{alert.priority.value}] {one_line(alert.title)}"
    if state != "triggered":
        text += f" — {state}"
        who = alert.resolved_by or alert.acknowledged_by
        if who:
            text += f" by {who}"
    if public_url:
        text += f" {alert_url(public_url, alert)}"
    return clip(text, SMS_MAX)


@dataclass(frozen=True)
class Ticket:
    """What a ticket (a Jira issue, a ServiceNow incident) is made of."""

    summary: str
    description: str
    urgency: int  # 1 high, 2 medium, 3 low, as ServiceNow counts
    labels: tuple[str, ...]


URGENCY = {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 3}


def ticket(alert: Alert, public_url: str = "", summary_max: int = 255) -> Ticket:
    """Summary, description and urgency of a ticket opened for the alert."""
    return Ticket(
        summary=clip(one_line(f"[{alert.priority.value}] {alert.title}"), summary_max),
        description=plain(alert, public_url),
        urgency=URGENCY[alert.priority.value],
        labels=("chatops", alert.priority.value.lower()),
    )
