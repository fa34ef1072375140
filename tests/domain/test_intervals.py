"""Alertmanager's time intervals: the fields its documentation gives, read in the interval's
own zone, right across a daylight-saving change."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.intervals import IntervalError, inside, interval_from

SUNDAY_NIGHT = [
    {
        "weekdays": ["sunday"],
        "times": [{"start_time": "01:00", "end_time": "05:00"}],
        "location": "Europe/Berlin",
    }
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "moment,holds",
    [
        ("2027-03-21T03:30:00+00:00", True),  # 04:30 CET, inside
        ("2027-03-21T04:00:00+00:00", False),  # 05:00 CET, the end is excluded
        ("2027-03-28T02:30:00+00:00", True),  # 04:30 CEST, the day summer time began
        ("2027-03-28T03:30:00+00:00", False),  # 05:30 CEST: the window moved an hour in UTC
        ("2027-03-27T03:30:00+00:00", False),  # a Saturday
        ("2027-03-28T23:30:00+00:00", False),  # already Monday in Berlin
    ],
)
def test_a_weekly_window_stays_at_local_time_across_dst(moment: str, holds: bool) -> None:
    assert inside(interval_from(SUNDAY_NIGHT), at(moment)) is holds


def test_ranges_negative_days_months_years_and_any_spec() -> None:
    month_end = interval_from([{"days_of_month": ["-3:-1"], "months": ["february"]}])
    assert inside(month_end, at("2027-02-26T12:00:00+00:00"))  # 28 days: the 26th is third last
    assert not inside(month_end, at("2027-02-25T12:00:00+00:00"))
    assert inside(month_end, at("2028-02-27T12:00:00+00:00"))  # a leap year
    assert not inside(month_end, at("2027-03-30T12:00:00+00:00"))
    business = interval_from(
        [
            {
                "weekdays": ["monday:friday"],
                "times": [{"start_time": "09:00", "end_time": "17:00"}],
            },
            {"years": ["2027:2028"], "months": ["12"], "days_of_month": ["24:26"]},
        ]
    )
    assert inside(business, at("2027-03-29T09:00:00+00:00"))
    assert not inside(business, at("2027-03-29T17:00:00+00:00"))
    assert inside(business, at("2027-12-25T20:00:00+00:00"))  # a Saturday, but Christmas
    assert not inside(business, at("2029-12-25T20:00:00+00:00"))


@pytest.mark.parametrize(
    "raw,said",
    [
        ([{"weekdays": ["funday"]}], "not a weekday"),
        ([{"times": [{"start_time": "17:00", "end_time": "09:00"}]}], "the end comes after"),
        ([{"times": [{"start_time": "9am", "end_time": "17:00"}]}], "a time of day"),
        ([{"location": "Mars/Olympus"}], "not a time zone"),
        ([{"days_of_month": ["0"]}], "1 to 31"),
        ([{"months": ["march:january"]}], "ends before it starts"),
        ([{"colour": ["red"]}], "not a field"),
        ([], "a list of 1 to 50"),
    ],
)
def test_bad_intervals_say_which_field(raw: object, said: str) -> None:
    with pytest.raises(IntervalError, match=said):
        interval_from(raw)
