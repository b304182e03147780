"""Call scripts: the file and its branches, which script a call follows, answers kept on the
call (shell and services), and scripts as reference data between laptops."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtui.domain.call_scripts import (
    AnswerError,
    ScriptFileError,
    check_answers,
    parse_script,
    walk,
)
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.call_scripts import (
    answers_for,
    find_script,
    publish_script,
    script_for_contact,
    stored_answers,
)
from crmtui.services.follow_ups.plans import enrol_contact, find_plan, publish_plan
from crmtui.services.plan_progress import PlanClock
from crmtui.store.database import Store
from tests.cli_commands import run
from tests.sync_support import Team

CLOCK = PlanClock(tz=ZoneInfo("Europe/Berlin"))
SCRIPT = """\
name = "Intro call"
description = "After the fair"

[[question]]
key = "budget"
text = "Is there a budget for this year?"
answers = ["yes", "no", "not sure"]
next = { no = "later" }

[[question]]
key = "seats"
text = "How many seats?"
next = "end"

[[question]]
key = "later"
text = "May we call again next quarter?"
answers = ["yes", "no"]
"""
PLAN = """\
name = "Fair"

[[step]]
key = "intro"
kind = "call"
script = "Intro call"

[[step]]
kind = "email"
wait = 2
"""


def test_answers_walk_the_branches() -> None:
    script = parse_script(SCRIPT, source="s.toml")
    yes = check_answers(script, {"budget": "YES", "seats": "20"})
    assert [(q.key, a) for q, a in yes.answered] == [("budget", "yes"), ("seats", "20")]
    assert yes.done  # seats -> end: "later" is never asked
    no = check_answers(script, {"budget": "2"})  # a choice by its number
    assert no.current is not None and no.current.key == "later"
    assert [a for _, a in no.answered] == ["no"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"budget": "maybe"}, "'maybe' is not one of yes, no, not sure"),
        ({"budget": "yes", "later": "yes"}, "later: not asked after these answers"),
        ({"size": "1"}, "'size' is no question of script Intro call"),
        ({"budget": "4"}, "is not one of"),
        ({"seats": "  "}, "seats: the answer is empty"),
    ],
)
def test_answers_that_do_not_fit_are_refused(given: dict[str, str], message: str) -> None:
    script = parse_script(SCRIPT, source="s.toml")
    with pytest.raises(AnswerError, match=message):
        check_answers(script, given)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('next = { no = "later" }', 'next = { nope = "later" }'),
            r"s.toml:8: question 1: next 'nope' is not one of",
        ),
        (('next = "end"', 'next = "budget"'), r"s.toml:13: question 2: next 'budget' goes back"),
        (
            ('next = "end"', 'next = "nowhere"'),
            r"s.toml:13: question 2: next 'nowhere' is no question",
        ),
        (('key = "seats"', 'key = "budget"'), r"s.toml:11: question 2: key 'budget' is used twice"),
        (
            ('text = "How many seats?"', 'txt = "How many seats?"'),
            r"s.toml:12: question 2: txt is not a question field",
        ),
        (('name = "Intro call"', "name = 3"), r"s.toml:1: name must be a text"),
    ],
)
def test_a_bad_script_file_names_the_line_and_the_field(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ScriptFileError, match=message):
        parse_script(SCRIPT.replace(*change), source="s.toml")


def test_a_plan_step_names_a_script_else_the_campaign(store: Store) -> None:
    with store.write() as tx:
        publish_script(tx=tx, text=SCRIPT, source="s.toml")
        _, created = publish_script(tx=tx, text=SCRIPT, source="s.toml")
        assert not created
        second, created = publish_script(tx=tx, text=SCRIPT.replace("2026", "x") + "\n", source="s")
        assert created and second.version == 2
        publish_script(tx=tx, text=SCRIPT.replace("Intro call", "Campaign"), source="c.toml")
        publish_plan(tx=tx, text=PLAN, source="p.toml")
        anna = create_contact(tx=tx, data=ContactCreate(name="Anna Weber"), region="DE").id
        ben = create_contact(tx=tx, data=ContactCreate(name="Ben Ott"), region="DE").id
        enrol_contact(tx=tx, plan_id=find_plan(tx, "fair").id, contact_id=anna, clock=CLOCK)
    with store.write() as tx:
        on_plan = script_for_contact(tx.db, anna, campaign="Campaign")
        assert on_plan is not None and (on_plan.name, on_plan.version) == ("Intro call", 2)
        assert on_plan.why == "plan Fair, step 1"
        other = script_for_contact(tx.db, ben, campaign="campaign")
        assert other is not None and other.name == "Campaign"
        assert script_for_contact(tx.db, ben) is None
        # The answers go on the call: its text (searchable, exported) and as JSON.
        answered, _ = answers_for(on_plan, {"budget": "no", "later": "1"})
        activity, _ = log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=anna, outcome="connected", text="Nice"),
            cap=CLOCK.cap,
            plan_clock=CLOCK,
            script=answered,
        )
        assert activity.text == (
            "Nice\n\nScript Intro call v2:\n- Is there a budget for this year? no\n"
            "- May we call again next quarter? yes"
        )
        assert stored_answers(tx.db, activity.id) == {
            "script": "Intro call",
            "version": 2,
            "answers": {"budget": "no", "later": "yes"},
        }
        # The plan moved on to its email step: no script for Anna's next call but the campaign.
        after = script_for_contact(tx.db, anna, campaign="Campaign")
        assert after is not None and after.name == "Campaign"


def _crm(db: Path, *args: str, code: int = 0) -> tuple[str, str]:
    ran = run([*args, "--db", str(db)])
    assert ran.error is None, ran.error
    assert ran.code == code, (ran.code, ran.out, ran.err)
    return ran.out, ran.err


def test_the_shell_publishes_shows_and_logs_answers(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    _crm(db, "db", "upgrade")
    (tmp_path / "s.toml").write_text(SCRIPT)
    (tmp_path / "p.toml").write_text(PLAN)
    _crm(db, "contact", "add", "Anna Weber")
    _, err = _crm(db, "script", "add", str(tmp_path / "s.toml"))
    assert "script Intro call version 1 added" in err
    out, _ = _crm(db, "script", "list", "--format", "json")
    assert [(r["name"], r["version"], r["questions"]) for r in json.loads(out)] == [
        ("Intro call", 1, 3)
    ]
    out, _ = _crm(db, "script", "show", "intro call", "--format", "json")
    shown = json.loads(out)
    assert shown["questions"][0]["next"] == {"no": "later"}
    assert shown["questions"][1]["answers"] == []
    _, err = _crm(db, "script", "for", "anna", code=1)
    assert "no call script for this contact" in err
    _crm(db, "plan", "add", str(tmp_path / "p.toml"))
    out, _ = _crm(db, "plan", "show", "fair", "--format", "json")
    assert [s["script"] for s in json.loads(out)["steps"]] == ["Intro call", ""]
    _crm(db, "plan", "enrol", "fair", "anna")
    out, _ = _crm(db, "script", "for", "anna", "--format", "json")
    assert json.loads(out)["why"] == "plan Fair, step 1"

    _, err = _crm(db, "log", "call", "anna", "--answer", "budget=maybe", code=2)
    assert "'maybe' is not one of yes, no, not sure" in err and "nothing was saved" in err
    _, err = _crm(db, "log", "call", "anna", "--answer", "budget", code=2)
    assert "write KEY=ANSWER" in err
    _, err = _crm(db, "log", "call", "anna", "--script", "nope", "--answer", "a=b", code=1)
    assert "no call script 'nope'" in err
    out, _ = _crm(
        db,
        "log",
        "call",
        "anna",
        "--outcome",
        "connected",
        "--answer",
        "budget=yes",
        "--answer",
        "seats=12",
    )
    activity = out.strip()
    out, _ = _crm(db, "script", "answers", "--format", "json")
    rows = json.loads(out)
    assert [(r["activity"], r["answers"]) for r in rows] == [
        (activity, {"budget": "yes", "seats": "12"})
    ]
    out, _ = _crm(db, "script", "answers", "intro call", "--format", "csv")
    assert "budget=yes; seats=12" in out
    # The answers are in the call's text, so the search finds the call's contact.
    out, _ = _crm(db, "show", "anna", "--format", "json")
    assert "How many seats? 12" in out
    _, err = _crm(db, "script", "add", str(tmp_path / "p.toml"), code=2)
    assert "p.toml:1: unknown field 'step'" in err and "nothing was saved" in err


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_an_admins_script_reaches_every_laptop_and_a_reps_is_refused(team: Team) -> None:
    admin, admin_token = team.laptop("root", "admin")
    ann, ann_token = team.laptop("ann", "ann")
    with admin.write() as tx:
        publish_script(tx=tx, text=SCRIPT, source="s.toml")
    team.sync_client(admin, admin_token).sync()
    with ann.write() as tx:
        publish_script(tx=tx, text=SCRIPT.replace("Intro call", "Mine"), source="m.toml")
    report = team.sync_client(ann, ann_token).sync()
    with ann.write() as tx:
        found = find_script(tx.db, "intro call")
        assert found is not None and found.version == 1
        assert len(found.script.questions) == 3
    assert report.rejected >= 1
    assert any("reference data, changed by an admin only" in r for r in report.reasons)


@given(st.dictionaries(st.sampled_from(["budget", "seats", "later"]), st.text(max_size=5)))
def test_any_answers_walk_forward_and_end(given_answers: dict[str, str]) -> None:
    """Whatever is typed, the walk only moves forward and stops (or asks one question)."""
    script = parse_script(SCRIPT, source="s.toml")
    result = walk(script, given_answers)
    order = [script.index(q.key) for q, _ in result.answered]
    assert order == sorted(order) and len(set(order)) == len(order)
    assert result.current is None or result.current.key not in given_answers
