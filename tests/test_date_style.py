"""The app's date styles: one per context (crmtui/domain/date_style.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from crmtui.domain.date_style import (
    a_day,
    in_full,
    in_header,
    in_list,
    in_shell,
    short_day,
    to_edit,
)

NOW = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)  # a Monday


def test_a_moment_in_a_list_names_nearby_days_and_drops_this_year() -> None:
    assert in_list(NOW, NOW) == "today 08:30"
    assert in_list(NOW - timedelta(days=1), NOW) == "yesterday 08:30"
    assert in_list(NOW + timedelta(days=1), NOW) == "tomorrow 08:30"
    assert in_list(NOW + timedelta(days=3), NOW) == "Thu 12 Mar 08:30"
    assert in_list(NOW - timedelta(days=30), NOW) == "Sat 07 Feb 08:30"
    assert in_list(NOW + timedelta(days=300), NOW) == "03 Jan 2027 08:30"


def test_a_moment_in_a_list_without_today_is_said_in_full() -> None:
    assert in_list(NOW, None) == in_full(NOW) == "Mon 09 Mar 2026 08:30"


def test_a_day_has_no_weekday_or_time() -> None:
    assert a_day(date(2026, 4, 30)) == "30 Apr 2026"
    assert short_day(date(2026, 4, 30)) == "30 Apr 26"


def test_the_header_badge_is_as_short_as_it_can_be() -> None:
    assert in_header(NOW - timedelta(hours=2), NOW) == "06:30"
    assert in_header(NOW - timedelta(days=5), NOW) == "04 Mar 08:30"
    assert in_header(NOW - timedelta(days=100), NOW) == "29 Nov 2025"
    assert in_header(NOW, None) == "08:30"


def test_a_form_field_starts_from_text_that_reads_back() -> None:
    from crmtui.domain.when import parse_when

    assert to_edit(NOW) == "2026-03-09 08:30"
    assert to_edit(date(2026, 4, 30)) == "2026-04-30"
    assert parse_when(to_edit(NOW), now=NOW - timedelta(days=2)) == NOW


def test_a_stored_day_reads_a_date_or_a_timestamp_and_keeps_what_it_cannot_read() -> None:
    from crmtui.domain.date_style import stored_day

    assert stored_day("2026-04-30") == "30 Apr 2026"
    assert stored_day("2026-04-30T09:15:00.000000Z") == "30 Apr 2026"
    assert stored_day("2026-04-30", to_edit) == "2026-04-30"
    assert stored_day(None) == "" and stored_day("") == ""
    assert stored_day("sometime") == "sometime"


def test_the_shell_writes_iso_to_the_minute_and_sorts_as_text() -> None:
    assert in_shell(NOW) == "2026-03-09 08:30"
    later = [NOW + timedelta(days=d, minutes=m) for d, m in ((400, 0), (2, 5), (0, 1))]
    assert sorted(map(in_shell, later)) == list(map(in_shell, sorted(later)))
