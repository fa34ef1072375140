"""What makes an ask wrong before anything is read, and how a snooze's end is said: the unit
beside `domain/acting.py`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from domain import SNOOZE_MAX_MINUTES, Verb
from domain.acting import Ask, problem, spoken_until
from tests.core.alerts.test_routing import alert


def test_a_snooze_needs_its_minutes_and_a_note_its_text() -> None:
    assert problem(Verb.SNOOZE, Ask()) is not None
    assert problem(Verb.SNOOZE, Ask(minutes=0)) is not None
    assert problem(Verb.SNOOZE, Ask(minutes=SNOOZE_MAX_MINUTES + 1)) is not None
    assert problem(Verb.SNOOZE, Ask(minutes=30)) is None
    assert problem(Verb.NOTE, Ask(text="   ")) == "A note needs some text."
    assert "at most" in (problem(Verb.NOTE, Ask(text="x" * 5000)) or "")
    assert problem(Verb.NOTE, Ask(text="restarted the pod")) is None
    assert problem(Verb.ACKNOWLEDGE, Ask()) is None  # nothing comes with it


def test_a_snooze_end_is_said_with_its_date_only_when_not_today() -> None:
    until = datetime(2027, 3, 26, 14, 30, tzinfo=UTC)
    snoozed = dataclasses.replace(alert(), snoozed_until=until)
    assert spoken_until(snoozed, datetime(2027, 3, 26, 9, 0, tzinfo=UTC)) == "14:30 (UTC)"
    assert spoken_until(snoozed, datetime(2027, 3, 25, 23, 0, tzinfo=UTC)) == (
        "2027-03-26 14:30 (UTC)"
    )
    assert spoken_until(alert(), until) == ""
