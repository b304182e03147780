"""Pilot tests: putting a contact on a follow-up plan with `p` from its card and the call list.

The app's clock is fixed at Monday 9 March 2026, 08:30 UTC (tests/daily_pilot.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.screens.sections.calls import CallListScreen
from crmtui.services.follow_ups.plans import publish_plan
from crmtui.store.database import open_store
from tests.app_support import build_daily_db, copy_db, settle
from tests.card_support import one, rows
from tests.daily_pilot import SIZE, fixed_clock

PLAN = """\
name = "Intro"

[[step]]
kind = "call"
text = "First call"
retries = 1

[[step]]
kind = "email"
wait = 2
"""


@pytest.fixture(scope="module")
def plans_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database with two plans, built once per module."""
    path = tmp_path_factory.mktemp("plans") / "plans.db"
    ids = build_daily_db(path)
    store = open_store(path)
    try:
        with store.write() as tx:
            publish_plan(tx=tx, text=PLAN, source="intro.toml")
            publish_plan(tx=tx, text=PLAN.replace("Intro", "Win back"), source="back.toml")
    finally:
        store.close()
    return path, ids


@pytest.fixture
def plans_db(
    plans_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """A private copy for a test that writes."""
    path, ids = plans_template
    return copy_db(path, tmp_path / "plans.db"), ids


def _enrolments(path: Path) -> list[Any]:
    return rows(
        path,
        "SELECT e.contact_id, p.name FROM plan_enrolment e JOIN plan p ON p.id = e.plan_id"
        " WHERE e.deleted_at IS NULL",
    )


async def test_p_on_a_card_enrols_the_contact_and_ctrl_z_takes_it_back(plans_db) -> None:  # type: ignore[no-untyped-def]
    path, ids = plans_db
    anna = ids["Anna Müller"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_contact(anna)  # type: ignore[attr-defined]
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        await pilot.press("p")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PickScreen)
        await pilot.press("enter")  # the first plan by name: Intro
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert [(r["contact_id"], r["name"]) for r in _enrolments(path)] == [(anna, "Intro")]
        reminder = one(
            path,
            "SELECT t.text, t.status FROM tickler t JOIN plan_event e ON e.tickler_id = t.id"
            " WHERE t.contact_id = ? AND t.deleted_at IS NULL",
            anna,
        )
        assert (reminder["text"], reminder["status"]) == ("Intro · First call", "open")
        # The same contact cannot be put on the same plan twice: it says why.
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert len(_enrolments(path)) == 1
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert _enrolments(path) == []
        assert (
            rows(path, "SELECT 1 FROM tickler WHERE text LIKE 'Intro%' AND deleted_at IS NULL")
            == []
        )


async def test_the_palette_offers_the_plan_on_a_card(plans_db) -> None:  # type: ignore[no-untyped-def]
    path, ids = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_contact(ids["Anna Müller"])  # type: ignore[attr-defined]
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        titles = [title for title, _, _ in card.palette_commands()]
        assert "Put Anna Müller on a follow-up plan" in titles


async def test_p_on_the_call_list_enrols_the_highlighted_contact(plans_db) -> None:  # type: ignore[no-untyped-def]
    path, _ = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        calls = app.screen
        assert isinstance(calls, CallListScreen)
        who = calls.plan_contact()
        assert who is not None
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("down", "enter")  # the second plan: Win back
        await settle(pilot)
        assert [(r["contact_id"], r["name"]) for r in _enrolments(path)] == [(who[0], "Win back")]


async def test_an_outcome_on_the_call_list_moves_the_plan_not_an_ad_hoc_reminder(plans_db) -> None:  # type: ignore[no-untyped-def]
    path, _ = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        calls = app.screen
        assert isinstance(calls, CallListScreen)
        who = calls.plan_contact()
        assert who is not None
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("enter")  # Intro
        await settle(pilot)
        assert calls.plan_contact() == who
        await pilot.press("2")  # no answer
        await settle(pilot)
        outcome = one(
            path,
            "SELECT outcome, attempt FROM plan_event WHERE kind = 'outcome' AND contact_id = ?",
            who[0],
        )
        assert (outcome["outcome"], outcome["attempt"]) == ("no-answer", 1)
        open_texts = [
            r["text"]
            for r in rows(
                path,
                "SELECT text FROM tickler WHERE contact_id = ? AND status = 'open'"
                " AND deleted_at IS NULL",
                who[0],
            )
        ]
        assert "Intro · First call (attempt 2)" in open_texts
        assert "Call again (no answer)" not in open_texts
