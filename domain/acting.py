"""Acting on an alert, in words: who acts (Actor), what comes with the verb (Ask), what the action
did (Outcome), the line each action leaves under the card, and what makes an ask wrong before
anything is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain import NOTE_MAX, SNOOZE_MAX_MINUTES, Alert, AlertState, Verb

OPEN = (AlertState.TRIGGERED, AlertState.ACKNOWLEDGED)  # the states an alert is open in

NOTES = {  # the thread reply each action leaves under the card
    Verb.ACKNOWLEDGE: "👀 Acknowledged by {name}",
    Verb.ESCALATE: "⏫ Escalated to level {level} by {name}",
    Verb.RESOLVE: "✅ Resolved by {name}",
    Verb.DISCARD: "🗑️ Discarded by {name}",
    Verb.RETRY: "🔄 Retried by {name}",
    Verb.SNOOZE: "💤 Snoozed by {name} until {until}",
    Verb.UNSNOOZE: "🔔 Unsnoozed by {name}: the alert is open again",
    Verb.NOTE: "📝 {name}: {text}",
}


ESCALATED = "⏫ Escalated by {name}"


STOPS = (Verb.ACKNOWLEDGE, Verb.RESOLVE, Verb.DISCARD, Verb.UNSNOOZE)  # what policies hear of


WOKE = "⏰ The snooze is over: the alert is still open"


MAX_LEVEL = 5


CARD_VERBS = (Verb.ACKNOWLEDGE, Verb.SNOOZE, Verb.ESCALATE, Verb.RESOLVE)  # on cards of many


PAST = {
    Verb.ACKNOWLEDGE: "Acknowledged",
    Verb.SNOOZE: "Snoozed",
    Verb.ESCALATE: "Escalated",
    Verb.RESOLVE: "Resolved",
}


@dataclass(frozen=True)
class Actor:
    """Who clicked or typed: their id and name, the platform, and the tenant they belong to."""

    id: str
    name: str
    platform: str
    tenant: str | None = None  # None: the REST API's token may act in any tenant


@dataclass(frozen=True)
class Ask:
    """What comes with a verb: a snooze's minutes, a note's text, and where the card that was
    clicked is (its platform's channel or conversation id), whose routes decide its verbs."""

    minutes: int | None = None
    text: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an action did, in words for the person who asked."""

    applied: bool
    message: str
    alert: Alert | None = None
    code: str = "applied"
    data: dict[str, Any] = field(default_factory=dict)
    offered: frozenset[Verb] | None = None  # the verbs the clicked card's channel offers


def spoken_until(alert: Alert, now: datetime) -> str:
    """`14:30 (UTC)`, or with the date when that is not today."""
    if alert.snoozed_until is None:
        return ""
    until = alert.snoozed_until.astimezone(UTC)
    today = now.astimezone(UTC).date() == until.date()
    return f"{until:%H:%M} (UTC)" if today else f"{until:%Y-%m-%d %H:%M} (UTC)"


def problem(verb: Verb, ask: Ask) -> str | None:
    """What is wrong with what came with the verb, before anything is read."""
    if verb is Verb.SNOOZE and (ask.minutes is None or not 1 <= ask.minutes <= SNOOZE_MAX_MINUTES):
        return f"Snooze for 1 to {SNOOZE_MAX_MINUTES} minutes (a week at most)."
    if verb is Verb.NOTE:
        text = (ask.text or "").strip()
        if not text:
            return "A note needs some text."
        if len(text) > NOTE_MAX:
            return f"A note is at most {NOTE_MAX} characters; this one has {len(text)}."
    return None
