"""Who is on call when: rotations in the schedule's own zone, across daylight-saving changes,
layers that cover part of the week, and overrides that win."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from domain.schedules import (
    Override,
    Schedule,
    ScheduleError,
    layer_document,
    layer_from,
    timeline,
    who_at,
    zone_of,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


WEEKLY = {"rotation": "weekly", "handoff": "09:00", "start": "2027-03-01", "people": ["ana", "ben"]}


def test_a_weekly_hand_off_keeps_the_local_time_across_spring_forward() -> None:
    """Berlin moves to summer time on Sunday 28 March 2027: Monday's 09:00 hand-off is 08:00
    UTC the week before and 07:00 UTC the week after."""
    berlin = Schedule("db", "Europe/Berlin", (layer_from(WEEKLY, "l"),))
    assert who_at(berlin, at("2027-03-22T07:59:00Z")) == ("ana", False)
    assert who_at(berlin, at("2027-03-22T08:00:00Z")) == ("ben", False)
    assert who_at(berlin, at("2027-03-29T06:59:00Z")) == ("ben", False)
    assert who_at(berlin, at("2027-03-29T07:00:00Z")) == ("ana", False)  # 09:00 CEST
    shifts = timeline(berlin, at("2027-03-22T00:00:00Z"), at("2027-04-06T00:00:00Z"))
    assert [(s.person, s.start.isoformat()) for s in shifts] == [
        ("ana", "2027-03-22T00:00:00+00:00"),
        ("ben", "2027-03-22T08:00:00+00:00"),
        ("ana", "2027-03-29T07:00:00+00:00"),
        ("ben", "2027-04-05T07:00:00+00:00"),
    ]


def test_a_daily_hand_off_in_the_autumn_overlap_happens_once() -> None:
    """New York falls back on 7 November 2027 at 02:00: a 01:30 hand-off happens at the first
    01:30, once, and the day's shift is 25 hours long."""
    layer = layer_from(
        {"rotation": "daily", "handoff": "01:30", "start": "2027-11-01", "people": ["a", "b"]},
        "l",
    )
    ny = Schedule("night", "America/New_York", (layer,))
    shifts = timeline(ny, at("2027-11-06T12:00:00Z"), at("2027-11-08T12:00:00Z"))
    starts = [s.start for s in shifts[1:]]
    assert [s.isoformat() for s in starts] == [
        "2027-11-07T05:30:00+00:00",  # 01:30 EDT
        "2027-11-08T06:30:00+00:00",  # 01:30 EST, 25 hours later
    ]


def test_every_n_hours_counts_real_hours_across_the_change() -> None:
    layer = layer_from(
        {"rotation": "12h", "handoff": "08:00", "start": "2027-03-27", "people": ["x", "y"]}, "l"
    )
    berlin = Schedule("ops", "Europe/Berlin", (layer,))
    shifts = timeline(berlin, at("2027-03-27T07:00:00Z"), at("2027-03-29T07:00:00Z"))
    gaps = {(b.start - a.start).total_seconds() for a, b in pairwise(shifts)}
    assert gaps == {12 * 3600.0}


def test_a_higher_layer_wins_where_it_covers_and_an_override_wins_over_all() -> None:
    business = layer_from(
        {
            "rotation": "daily",
            "handoff": "09:00",
            "start": "2027-03-01",
            "people": ["cat"],
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": "09:00-17:00",
        },
        "l2",
    )
    cover = Override("dan", at("2027-03-23T12:00:00Z"), at("2027-03-23T13:00:00Z"))
    s = Schedule("db", "Europe/Berlin", (layer_from(WEEKLY, "l1"), business), (cover,))
    assert who_at(s, at("2027-03-23T07:59:00Z")) == ("ben", False)  # 08:59 local: 24/7 layer
    assert who_at(s, at("2027-03-23T08:00:00Z")) == ("cat", False)  # 09:00: business hours
    assert who_at(s, at("2027-03-23T12:30:00Z")) == ("dan", True)  # the override
    assert who_at(s, at("2027-03-27T10:00:00Z")) == ("ben", False)  # Saturday: 24/7 layer
    assert who_at(s, at("2027-02-01T10:00:00Z")) == (None, False)  # before any layer starts


@pytest.mark.parametrize(
    "raw,message",
    [
        ({**WEEKLY, "rotation": "fortnightly"}, "rotation: daily, weekly or <N>h"),
        ({**WEEKLY, "handoff": "9am"}, "handoff: a local time"),
        ({**WEEKLY, "start": "next monday"}, "start: a date"),
        ({**WEEKLY, "people": []}, "people: a list of 1 to"),
        ({**WEEKLY, "days": ["funday"]}, "days: a list of mon"),
        ({**WEEKLY, "hours": "17:00-09:00"}, "hours: the span must end after it starts"),
        ({**WEEKLY, "colour": "red"}, "colour: not a field of a layer"),
    ],
)
def test_a_bad_layer_says_which_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        layer_from(raw, "schedules[0].layers[0]")


def test_zones_and_documents_round_trip() -> None:
    with pytest.raises(ScheduleError, match="not an IANA time zone"):
        zone_of("Mars/Olympus")
    raw = {**WEEKLY, "days": ["mon", "fri"], "hours": "09:00-24:00"}
    assert layer_document(layer_from(raw, "l")) == raw
