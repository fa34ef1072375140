"""Adaptive Cards 1.5 for an alert or a digest, under 28 KB, user text never read as Markdown."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cards.forms import SILENCE_ACTION, SILENCE_DEFAULT
from cards.style import (
    LOOKS,
    STATE_LABELS,
    alert_url,
    clip,
    one_line,
    relative,
    safe_url,
    shown_state,
    state_lines,
    teams_escape,
    when,
)
from cards.templates import BUTTON_LABELS, SNOOZE_LABELS, template_for, verbs_for
from domain import NOTE_MAX, Alert, AlertState, Verb
from domain.matchers import equal_to

VERSION = "1.5"
MAX_BYTES = 28 * 1024
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
LINK_ACTIONS = 6  # link buttons in the body's action set

Element = dict[str, Any]


def plain_text(text: str, **style: Any) -> Element:
    """A RichTextBlock of one TextRun: rendered as typed, with no Markdown and no mentions."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def small(text: str) -> Element:
    """A subtle line of the bot's own words."""
    return {"type": "TextBlock", "text": text, "wrap": True, "size": "Small", "isSubtle": True}


def _facts(alert: Alert, now: datetime, limit: int, value_max: int) -> tuple[Element, int]:
    rows = [
        ("Priority", f"{LOOKS[alert.priority].emoji} {alert.priority.value}"),
        ("Status", STATE_LABELS[shown_state(alert)]),
        ("First seen", when(alert.first_seen, now)),
    ]
    if alert.occurrences > 1:
        rows.append(("Occurrences", f"{alert.occurrences} (last {relative(alert.last_seen, now)})"))
    if alert.stakeholders:
        rows.append(("Stakeholders", ", ".join(alert.stakeholders)))
    if alert.escalation_level:
        rows.append(("Escalation level", str(alert.escalation_level)))
    facts = list(alert.facts.items())
    rows.extend(facts[:limit])
    fact_set = {
        "type": "FactSet",
        "facts": [
            {
                "title": teams_escape(clip(one_line(k), 100)),
                "value": teams_escape(clip(v, value_max)),
            }
            for k, v in rows
        ],
    }
    return fact_set, max(0, len(facts) - limit)


def _execute(verb: Verb, alert: Alert, title: str | None = None) -> Element:
    return {
        "type": "Action.Execute",
        "title": title or BUTTON_LABELS[verb],
        "verb": verb.value,
        "data": {"alert_id": alert.id},
    }


def snooze_action(alert: Alert) -> Element:
    """Snooze: a card that opens under the buttons with a choice of how long."""
    return snooze_for(_execute(Verb.SNOOZE, alert))


def snooze_for(execute: Element) -> Element:
    """The snooze card that opens with a choice of how long, then runs `execute`."""
    choices = [{"title": label, "value": str(m)} for m, label in SNOOZE_LABELS.items()]
    return {
        "type": "Action.ShowCard",
        "title": "💤 " + BUTTON_LABELS[Verb.SNOOZE],
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.ChoiceSet",
                    "id": "minutes",
                    "label": "Snooze for",
                    "style": "compact",
                    "value": "60",
                    "isRequired": True,
                    "choices": choices,
                }
            ],
            "actions": [execute],
        },
    }


def note_action(alert: Alert) -> Element:
    """Add note: a card that opens with a text box; the note is kept and shown as a reply."""
    return {
        "type": "Action.ShowCard",
        "title": "📝 " + BUTTON_LABELS[Verb.NOTE],
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.Text",
                    "id": "text",
                    "label": "Note",
                    "isMultiline": True,
                    "isRequired": True,
                    "maxLength": NOTE_MAX,
                    "errorMessage": "Write the note first.",
                }
            ],
            "actions": [_execute(Verb.NOTE, alert, "Save note")],
        },
    }


def _actions(alert: Alert, offered: frozenset[Verb] | None) -> list[Element]:
    """The card's buttons: the verbs that apply here, snooze and note as cards that open."""
    actions: list[Element] = []
    for verb in verbs_for(alert, offered):
        if verb is Verb.SNOOZE:
            actions.append(snooze_action(alert))
            continue
        if verb is Verb.NOTE:
            actions.append(note_action(alert))
            continue
        action = _execute(verb, alert)
        if verb in (Verb.ACKNOWLEDGE, Verb.RETRY):
            action["style"] = "positive"
        elif verb in (Verb.ESCALATE, Verb.DISCARD):
            action["style"] = "destructive"
        actions.append(action)
    if alert.labels and actions:  # an interactive card of a labelled alert still open
        actions.append(silence_action({"alert_id": alert.id}, equal_to(alert.labels)))
    return actions


def silence_action(data: Element, matchers: list[str]) -> Element:
    """Silence similar…: a card that opens with the matchers pre-filled (the alert's or the
    group's labels), a duration and a comment; submitting makes the silence."""
    return {
        "type": "Action.ShowCard",
        "title": "🔕 Silence similar…",
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.Text",
                    "id": "matchers",
                    "label": "Matchers",
                    "isMultiline": True,
                    "isRequired": True,
                    "value": ", ".join(matchers),
                    "errorMessage": 'Say which alerts, e.g. service="db".',
                },
                {
                    "type": "Input.Text",
                    "id": "duration",
                    "label": "For (30m, 2h, 1d)",
                    "isRequired": True,
                    "value": SILENCE_DEFAULT,
                },
                {"type": "Input.Text", "id": "comment", "label": "Comment", "maxLength": 1000},
            ],
            "actions": [
                {"type": "Action.Execute", "title": "Silence", "verb": SILENCE_ACTION, "data": data}
            ],
        },
    }


def _links(alert: Alert, full_url: str) -> list[Element]:
    """Its links as buttons in the body, then its source link and its full page: at most
    LINK_ACTIONS, so that with the verbs below the card stays within what Teams shows."""
    shown = [
        {"type": "Action.OpenUrl", "title": clip(one_line(link.title), 75), "url": link.url}
        for link in alert.links[:5]
        if safe_url(link.url)
    ]
    link = safe_url(alert.link)
    if link and link not in {x.url for x in alert.links}:
        shown.append({"type": "Action.OpenUrl", "title": "Open link", "url": link})
    full = safe_url(full_url)
    if full:
        return [
            *shown[: LINK_ACTIONS - 1],
            {"type": "Action.OpenUrl", "title": "View full alert", "url": full},
        ]
    return shown[:LINK_ACTIONS]


def _build(
    alert: Alert,
    now: datetime,
    public_url: str,
    offered: frozenset[Verb] | None,
    sizes: tuple[int, int, int],
) -> Element:
    body_max, facts_max, value_max = sizes
    look = LOOKS[alert.priority]
    template = template_for(alert)
    head: list[Element] = [
        small(f"{template.label} · {alert.priority.value} · {STATE_LABELS[shown_state(alert)]}"),
        plain_text(
            f"{look.emoji} {clip(one_line(alert.title), 300)}",
            size="Large",
            weight="Bolder",
            color=look.text_colour,
        ),
    ]
    body: list[Element] = [
        {"type": "Container", "style": look.container, "bleed": True, "items": head}
    ]
    if alert.body:
        body.append(plain_text(clip(alert.body, body_max)))
    fact_set, hidden = _facts(alert, now, facts_max, value_max)
    body.append(fact_set)
    for line in state_lines(alert, now):
        body.append(small(teams_escape(line)))
    if hidden:
        body.append(small(f"… and {hidden} more facts: open View full alert"))
    links = _links(alert, alert_url(public_url or "https://chatops.invalid", alert))
    if links:  # an action set of their own: the card's actions stay within Teams' six
        body.append({"type": "ActionSet", "actions": links})
    ids = [f"Alert {alert.id}", f"Source {alert.source}"]
    if alert.correlation_id:
        ids.insert(0, f"Correlation {alert.correlation_id}")
    body.append(small(teams_escape(clip(" · ".join(ids), 500))))
    state = STATE_LABELS[shown_state(alert)].split(" ", 1)[1]
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": VERSION,
        "fallbackText": clip(f"[{alert.priority.value}] {one_line(alert.title)} ({state})", 500),
        "body": body,
        "actions": _actions(alert, offered),
    }


def size_of(card: Element) -> int:
    """The card's size in bytes as it travels: UTF-8 JSON inside the message envelope."""
    return len(json.dumps(teams_message(card), ensure_ascii=False).encode())


def alert_card(
    alert: Alert, now: datetime, *, public_url: str = "", offered: frozenset[Verb] | None = None
) -> Element:
    """The Adaptive Card for an alert, shrunk step by step until it fits in 28 KB.

    `offered` is the verbs the channel's routes let its cards offer (None: every verb)."""
    for sizes in (
        (8000, 40, 500),
        (3000, 20, 200),
        (1000, 10, 100),
        (300, 5, 60),
        (100, 0, 40),
    ):
        card = _build(alert, now, public_url, offered, sizes)
        if size_of(card) <= MAX_BYTES:
            return card
    return card


def teams_message(card: Element) -> Element:
    """The `message` envelope that Workflows and incoming-webhook URLs take."""
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def reply_card_of(notes: tuple[str, ...]) -> Element:
    """What changed, as a reply under a card: each line as typed, never read as Markdown."""
    return {
        "type": "AdaptiveCard",
        "version": VERSION,
        "body": [plain_text(clip(note, 4000)) for note in notes[-10:]],
    }


def change_line_card(alert: Alert) -> Element:
    """A state change as one short line naming the alert and who acted: what a send-only
    (Workflows) channel gets instead of its card again, since it cannot be edited there."""
    who = {
        AlertState.ACKNOWLEDGED: alert.acknowledged_by,
        AlertState.RESOLVED: alert.resolved_by,
    }.get(alert.state)
    label = STATE_LABELS[shown_state(alert)]
    if alert.snoozed:
        label = f"💤 Snoozed{f' by {alert.snoozed_by}' if alert.snoozed_by else ''}"
    elif who:
        label = f"{label} by {who}"
    line = f"{LOOKS[alert.priority].emoji} {clip(alert.title, 200)}: {label}"
    return {"type": "AdaptiveCard", "version": VERSION, "body": [plain_text(line)]}


def reply_card(text: str, images: tuple[tuple[str, str], ...] = ()) -> Element:
    """A command's answer as a card of one wrapped text block, and any images (URL, what
    it shows) under it."""
    body: list[Element] = [{"type": "TextBlock", "text": text, "wrap": True}]
    body += [
        {"type": "Image", "url": url, "altText": alt, "size": "Stretch"} for url, alt in images
    ]
    return {"type": "AdaptiveCard", "version": "1.5", "body": body}
