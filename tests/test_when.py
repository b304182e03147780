"""Plain-words dates and durations, including DST changes, month ends and leap days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtui.domain.when import BadWhen, parse_duration, parse_when, zone

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=BERLIN)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("tomorrow 9am", datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)),
        ("tomorrow", datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)),
        ("yesterday 15:00", datetime(2026, 11, 22, 15, 0, tzinfo=BERLIN)),
        ("next fri", datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)),
        ("fri 2pm", datetime(2026, 11, 27, 14, 0, tzinfo=BERLIN)),
        ("mon", datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),  # today is Monday: next one
        ("in 2 days", datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)),
        ("2d", datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)),
        ("in 3 weeks", datetime(2026, 12, 14, 10, 30, tzinfo=BERLIN)),
        ("+3h", datetime(2026, 11, 23, 13, 30, tzinfo=BERLIN)),
        ("3pm", datetime(2026, 11, 23, 15, 0, tzinfo=BERLIN)),
        ("2026-12-01", datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)),
        ("2026-12-01 14:30", datetime(2026, 12, 1, 14, 30, tzinfo=BERLIN)),
        ("dec 3 14:30", datetime(2026, 12, 3, 14, 30, tzinfo=BERLIN)),
        ("next week", datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),
        ("next month", datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)),
    ],
)
def test_plain_words(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


def test_whole_days_keep_the_wall_clock_across_dst() -> None:
    before = datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)  # CET, the day before the change
    after = parse_when("in 1 day", now=before)
    assert (after.hour, after.utcoffset()) == (10, timedelta(hours=2))
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)


def test_hours_are_elapsed_time_across_dst() -> None:
    night = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    later = parse_when("in 1h", now=night)
    assert later.astimezone(UTC) - night.astimezone(UTC) == timedelta(hours=1)
    assert (later.hour, later.minute) == (3, 30)  # 02:30 does not exist that night


def test_months_clamp_to_the_month_end_and_leap_days() -> None:
    jan31 = datetime(2028, 1, 31, 9, 0, tzinfo=BERLIN)
    assert parse_when("in 1 month", now=jan31).date().isoformat() == "2028-02-29"
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=BERLIN)
    assert parse_when("in 1 year", now=leap).date().isoformat() == "2029-02-28"


def test_other_zones() -> None:
    tokyo = datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert parse_when("tomorrow 9am", now=tokyo) == datetime(
        2026, 11, 24, 9, tzinfo=ZoneInfo("Asia/Tokyo")
    )
    assert zone("America/New_York") == ZoneInfo("America/New_York")
    with pytest.raises(BadWhen):
        zone("Mars/Olympus")


@pytest.mark.parametrize("text", ["", "blah", "tomorrow xyz", "in two days", "32:00"])
def test_unreadable_dates_say_so(text: str) -> None:
    with pytest.raises(BadWhen):
        parse_when(text, now=NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow", now=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90 seconds", timedelta(seconds=90)),
        ("2d", timedelta(days=2)),
        ("3 weeks", timedelta(weeks=3)),
        ("1:30", timedelta(hours=1, minutes=30)),
        ("10", timedelta(minutes=10)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "5m and a bit"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadWhen):
        parse_duration(text)


@given(
    st.integers(1, 400), st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney"])
)
def test_in_n_days_lands_on_that_calendar_day_at_the_same_time(days: int, name: str) -> None:
    tz = ZoneInfo(name)
    start = datetime(2026, 1, 1, 10, 15, tzinfo=tz)
    got = parse_when(f"in {days} days", now=start)
    assert got.date() == start.date() + timedelta(days=days)
    assert (got.hour, got.minute) == (10, 15)
