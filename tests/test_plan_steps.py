"""Follow-up plans, the pure part: business days, the plan file, the branches, derivation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmtui.domain.business_days import WorkCalendar, parse_holidays, parse_weekdays
from crmtui.domain.plan_steps import Event, PlanFileError, Reminder, derive, parse_plan
from crmtui.store.models import ACTIVITY_OUTCOMES

BERLIN = ZoneInfo("Europe/Berlin")
CAL = WorkCalendar(holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday

PLAN = """\
name = "New lead"

[[step]]
key = "intro"
kind = "call"
retries = 2
retry_wait = 2

[[step]]
key = "mail"
kind = "email"
wait = 3
on = { "no-answer" = "next" }

[[step]]
key = "check"
kind = "task"
wait = 1
"""


def _plan(text: str = PLAN):  # type: ignore[no-untyped-def]
    return parse_plan(text, source="plan.toml", outcomes=ACTIVITY_OUTCOMES)


# ---------------------------------------------------------------- business days


def test_a_wait_skips_the_weekend() -> None:
    friday = datetime(2026, 12, 11, 15, 0, tzinfo=BERLIN)
    assert CAL.due_after(friday, 1, BERLIN) == datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)
    assert CAL.due_after(friday, 2, BERLIN).date() == date(2026, 12, 15)


def test_a_wait_from_saturday_counts_from_monday() -> None:
    saturday = datetime(2026, 12, 12, 11, 0, tzinfo=BERLIN)
    assert CAL.due_after(saturday, 0, BERLIN) == datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)
    assert CAL.due_after(saturday, 1, BERLIN).date() == date(2026, 12, 14)


def test_holidays_from_the_config_are_skipped_with_the_weekend() -> None:
    # Wed 23 Dec + 1: Thu 24 and Fri 25 are holidays, then the weekend: Monday 28.
    wednesday = datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN)
    assert CAL.due_after(wednesday, 1, BERLIN).date() == date(2026, 12, 28)
    assert WorkCalendar().due_after(wednesday, 1, BERLIN).date() == date(2026, 12, 24)


def test_no_wait_within_working_hours_is_due_at_once_else_at_the_start() -> None:
    early = datetime(2026, 12, 7, 7, 30, tzinfo=BERLIN)
    late = datetime(2026, 12, 7, 11, 30, tzinfo=BERLIN)
    assert CAL.due_after(early, 0, BERLIN) == datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
    assert CAL.due_after(late, 0, BERLIN) == late


def test_the_working_hour_is_the_wall_clock_across_dst() -> None:
    cal = WorkCalendar(start=time(8, 30))
    before = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)  # Friday; DST starts Sunday 29th
    due = cal.due_after(before, 1, BERLIN)
    assert (due.date(), due.time()) == (date(2026, 3, 30), time(8, 30))
    assert due.utcoffset() == timedelta(hours=2)


def test_weekday_and_holiday_settings_are_read_or_refused() -> None:
    assert parse_weekdays("mon-fri") == frozenset(range(5))
    assert parse_weekdays("sun-tue") == frozenset({6, 0, 1})
    with pytest.raises(ValueError, match="'funday'"):
        parse_weekdays("mon,funday")
    with pytest.raises(ValueError, match="'2026-13-01'"):
        parse_holidays(["2026-12-24", "2026-13-01"])


# ---------------------------------------------------------------- the plan file


def test_a_plan_file_is_read_with_defaults() -> None:
    plan = _plan()
    assert [s.key for s in plan.steps] == ["intro", "mail", "check"]
    assert plan.steps[0].action("no-answer") == "retry"
    assert plan.steps[1].action("no-answer") == "next"  # the step's own branch
    assert plan.steps[0].action("meeting-booked") == "leave"
    assert plan.steps[2].text == "Task (check)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "X"\n[[step]]\nkind = "fax"\n', "plan.toml:3: step 1: kind must be one of"),
        (
            'name = "X"\n[[step]]\nkind = "call"\n\n[[step]]\nkind = "call"\nwait = -1\n',
            "plan.toml:7: step 2: wait must be a whole number from 0 to 365",
        ),
        ('name = "X"\n[[step]]\nkind = "call"\ncolour = 1\n', "plan.toml:4: step 1: unknown field"),
        (
            'name = "X"\n[[step]]\nkind = "call"\non = { "hung-up" = "leave" }\n',
            "plan.toml:4: step 1: on 'hung-up' is not an outcome",
        ),
        (
            'name = "X"\n[[step]]\nkind = "call"\non = { "busy" = "later" }\n',
            "plan.toml:4: step 1: on busy must be next, retry or leave",
        ),
        ('name = "X"\n[[step]]\nkind = "call"\nkind = "x"\n', "plan.toml: not valid TOML"),
        ('name = "X"\n', "plan.toml: a plan needs at least one [[step]]"),
        ('title = "X"\n[[step]]\nkind = "call"\n', "plan.toml:1: unknown field 'title'"),
        (
            'name = "X"\n[[step]]\nkey = "a"\nkind = "call"\n[[step]]\nkey = "a"\nkind = "task"\n',
            "plan.toml:6: step 2: key 'a' is used twice",
        ),
    ],
)
def test_a_bad_plan_file_names_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(PlanFileError) as caught:
        _plan(text)
    assert str(caught.value).startswith(message), str(caught.value)


# ---------------------------------------------------------------- derivation


def _sched(step: str, attempt: int, tickler: str, minutes: int = 0) -> Event:
    return Event(
        f"s-{tickler}", "scheduled", T0 + timedelta(minutes=minutes), step, attempt, tickler
    )


def _out(step: str, attempt: int, outcome: str | None, minutes: int, eid: str = "") -> Event:
    at = T0 + timedelta(minutes=minutes)
    return Event(
        eid or f"o-{step}-{attempt}-{minutes}", "outcome", at, step, attempt, None, outcome
    )


def _derive(events: list[Event], reminders: dict[str, Reminder] | None = None, **kw):  # type: ignore[no-untyped-def]
    return derive(_plan(), enrolled_at=T0, events=events, reminders=reminders or {}, **kw)


OPEN = Reminder("open", None)
DONE = Reminder("done", T0)


def test_a_new_enrolment_schedules_its_first_step() -> None:
    position = _derive([])
    assert (position.state, position.step_number, position.attempt, position.wait) == (
        "to-schedule",
        1,
        1,
        0,
    )


def test_no_answer_retries_up_to_n_times_then_goes_on() -> None:
    events = [_sched("intro", 1, "t1"), _out("intro", 1, "no-answer", 5)]
    position = _derive(events, {"t1": DONE})
    assert (position.state, position.attempt, position.wait) == ("to-schedule", 2, 2)
    events += [
        _sched("intro", 2, "t2", 6),
        _out("intro", 2, "busy", 7),
        _sched("intro", 3, "t3", 8),
        _out("intro", 3, "voicemail", 9),
    ]
    position = _derive(events, {"t1": DONE, "t2": DONE, "t3": DONE})
    # Two retries were the limit: on to the email, three business days on.
    assert (position.state, position.step_number, position.attempt, position.wait) == (
        "to-schedule",
        2,
        1,
        3,
    )
    assert position.since == T0 + timedelta(minutes=9)


def test_connected_goes_to_the_next_step_and_a_meeting_leaves() -> None:
    events = [_sched("intro", 1, "t1"), _out("intro", 1, "connected", 5)]
    assert _derive(events, {"t1": DONE}).step_number == 2
    events = [_sched("intro", 1, "t1"), _out("intro", 1, "meeting-booked", 5)]
    position = _derive(events, {"t1": DONE})
    assert position.state == "left"
    assert "meeting-booked" in position.why


def test_an_open_reminder_waits_and_a_ticked_task_completes_the_plan() -> None:
    events = [_sched("intro", 1, "t1")]
    position = _derive(events, {"t1": OPEN})
    assert (position.state, position.tickler_id) == ("waiting", "t1")
    events = [
        _sched("intro", 1, "t1"),
        _out("intro", 1, "connected", 1),
        _sched("mail", 1, "t2", 2),
        _out("mail", 1, "sent", 3),
        _sched("check", 1, "t3", 4),
    ]
    reminders = {"t1": DONE, "t2": DONE, "t3": Reminder("done", T0 + timedelta(days=5))}
    assert _derive(events, reminders).state == "completed"


def test_a_skipped_step_moves_on_with_its_reason() -> None:
    skip = Event("k1", "skipped", T0, "intro", 1, reason="Ann is marked do-not-call")
    position = _derive([skip])
    assert (position.state, position.step_number) == ("to-schedule", 2)


def test_outcomes_from_two_laptops_give_one_answer_in_any_order() -> None:
    # Laptop A logged no answer, laptop B connected, for the same step, offline;
    # each also scheduled what it thought came next.
    a = [_out("intro", 1, "no-answer", 5, "oa"), _sched("intro", 2, "ta", 6)]
    b = [_out("intro", 1, "connected", 7, "ob"), _sched("mail", 1, "tb", 8)]
    base = [_sched("intro", 1, "t1")]
    reminders = {"t1": DONE, "ta": OPEN, "tb": OPEN}
    one = _derive(base + a + b, reminders)
    two = _derive(list(reversed(base + b + a)), reminders)
    assert one == two
    assert (one.state, one.step_number, one.tickler_id) == ("waiting", 2, "tb")
    assert "ta" not in one.on_path  # the retry laptop A made is stale


def test_duplicate_reminders_for_one_step_keep_the_lowest_id() -> None:
    events = [_sched("intro", 1, "t9"), _sched("intro", 1, "t2")]
    position = _derive(events, {"t9": OPEN, "t2": OPEN})
    assert position.tickler_id == "t2"


def test_stopped_and_ended_win_over_everything() -> None:
    events = [_sched("intro", 1, "t1")]
    assert _derive(events, {"t1": OPEN}, stopped="stopped: asked").state == "stopped"
    assert _derive(events, {"t1": OPEN}, ended="deal X was won").state == "ended"


def test_a_migrated_enrolment_passes_steps_added_before_where_it_was() -> None:
    newer = _plan(
        PLAN.replace(
            '[[step]]\nkey = "mail"',
            '[[step]]\nkey = "linkedin"\nkind = "task"\n\n[[step]]\nkey = "mail"',
            1,
        )
    )
    events = [
        _sched("intro", 1, "t1"),
        _out("intro", 1, "connected", 1),
        _sched("mail", 1, "t2", 2),
        Event("m1", "migrated", T0 + timedelta(minutes=3), reason="v1 -> v2"),
    ]
    position = derive(newer, enrolled_at=T0, events=events, reminders={"t1": DONE, "t2": OPEN})
    assert (position.state, position.step.key if position.step else None) == ("waiting", "mail")
