"""After-hours pages are judged in the paged person's own time zone, across a daylight-saving
change: 07:30 UTC is 08:30 in Berlin the Monday before summer time (after hours) and 09:30
the Monday after (working hours)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.reports import after_hours


def test_working_hours_follow_the_persons_zone_across_the_spring_change() -> None:
    before = datetime(2026, 3, 23, 7, 30, tzinfo=UTC)  # Monday, CET (UTC+1): 08:30
    after = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Monday, CEST (UTC+2): 09:30
    assert after_hours(before, "Europe/Berlin") is True
    assert after_hours(after, "Europe/Berlin") is False
    assert after_hours(after, "America/New_York") is True  # 03:30 there
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert after_hours(saturday, "Europe/Berlin") is True
    assert after_hours(after, "Not/AZone") is True  # an unknown zone reads as UTC: 07:30
