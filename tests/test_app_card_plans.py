"""Plans on the cards: the contact and lead cards show each plan's step and next date;
P pauses a plan (its step reminder moves), L takes the record off it, ctrl+z undoes.
Snapshots at 120x40 and 80x24."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.domain.validate import InvalidInput
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.cards.lead_card import LeadCardScreen
from crmtui.screens.dialogs.prompts import WhenPrompt
from crmtui.services.follow_ups.plans import (
    enrol_contact,
    enrol_lead,
    find_plan,
    pause_enrolment,
    publish_plan,
)
from crmtui.services.plan_progress import PlanClock
from crmtui.services.sales.leads import LeadCreate, create_lead
from crmtui.store.database import open_store
from tests.app_support import DAILY_NOW, build_daily_db, copy_db, settle
from tests.card_support import SMALL, one
from tests.daily_pilot import SIZE, fixed_clock

CLOCK = PlanClock(tz=ZoneInfo("UTC"))
PLAN = """\
name = "Fair"

[[step]]
key = "intro"
kind = "call"
text = "Intro call"
retries = 1

[[step]]
key = "brochure"
kind = "email"
wait = 2
"""


@pytest.fixture(scope="module")
def plans_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database with Anna Müller and a lead on plan Fair since DAILY_NOW."""
    path = tmp_path_factory.mktemp("card-plans") / "daily.db"
    ids = build_daily_db(path)
    store = open_store(path)
    with store.write() as tx:
        tx.now = DAILY_NOW
        publish_plan(tx=tx, text=PLAN, source="fair.toml")
        plan_id = find_plan(tx, "fair").id
        ids["enrolment"] = enrol_contact(
            tx=tx, plan_id=plan_id, contact_id=ids["Anna Müller"], clock=CLOCK
        ).id
        lead = create_lead(
            tx=tx, data=LeadCreate(name="Lena Vogt", company="Vogt Antriebe GmbH"), region="DE"
        )
        ids["lead"] = lead.id
        ids["lead_enrolment"] = enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead.id, clock=CLOCK).id
    store.close()
    return path, ids


@pytest.fixture
def plans_db(plans_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy."""
    path, ids = plans_template
    return copy_db(path, tmp_path / "daily.db"), ids


def plans_text(screen: Any, selector: str) -> str:
    """The plans section's body as text."""
    return str(screen.query_one(selector).query_one(".card-section--body", Static).render())


async def test_pause_then_leave_on_the_contact_card_and_undo(plans_db):
    path, ids = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_contact(ids["Anna Müller"])  # type: ignore[attr-defined]
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert "Fair v1 · step 1 call · next today 09:00" in plans_text(card, "#plans")
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, WhenPrompt)
        await pilot.press("enter")  # the default: in 1 week
        await settle(pilot)
        text = plans_text(card, "#plans")
        assert "next Mon 16 Mar 09:00" in text and "paused (by hand until 2026-03-16 09:00)" in text
        due = one(
            path,
            "SELECT t.due_at FROM tickler t JOIN plan_event e ON e.tickler_id = t.id"
            " WHERE e.enrolment_id = ? AND t.status = 'open' AND t.deleted_at IS NULL",
            ids["enrolment"],
        )
        assert due["due_at"].startswith("2026-03-16T09:00")
        await pilot.press("L")
        await settle(pilot)
        assert "stopped: taken off in the app" in plans_text(card, "#plans")
        stopped = "SELECT stopped_at FROM plan_enrolment WHERE id = ?"
        assert one(path, stopped, ids["enrolment"])["stopped_at"] is not None
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert one(path, stopped, ids["enrolment"])["stopped_at"] is None


async def test_a_contact_never_on_a_plan_has_no_plans_section_nor_keys(plans_db):
    path, ids = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_contact(ids["Carla Rossi"])  # type: ignore[attr-defined]
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.query_one("#plans").display is False
        await pilot.press("P")
        await settle(pilot)
        assert app.screen is card


async def test_the_lead_card_shows_its_plan_and_leaves_it(plans_db):
    path, ids = plans_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lead(ids["lead"])  # type: ignore[attr-defined]
        await settle(pilot)
        card = app.screen
        assert isinstance(card, LeadCardScreen)
        assert "Fair v1 · step 1 call · next today 09:00" in plans_text(card, "#lead-plans")
        await pilot.press("L")
        await settle(pilot)
        assert "stopped" in plans_text(card, "#lead-plans")
    row = one(path, "SELECT stop_reason FROM plan_enrolment WHERE id = ?", ids["lead_enrolment"])
    assert row["stop_reason"] == "taken off in the app"


def test_pause_is_refused_in_the_past_and_off_a_running_plan(plans_db):
    path, ids = plans_db
    store = open_store(path)
    try:
        with (
            pytest.raises(InvalidInput, match="a pause must end in the future"),
            store.write() as tx,
        ):
            tx.now = DAILY_NOW
            pause_enrolment(
                tx=tx,
                enrolment_id=ids["enrolment"],
                until=datetime(2026, 3, 1, tzinfo=UTC),
                tz=CLOCK.tz,
            )
    finally:
        store.close()


@pytest.mark.usefixtures("stable_rendering")
@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_contact_card_with_a_plan_snapshot(snap_compare, plans_db, size):
    """The plan's line under the details: step, next date."""
    path, ids = plans_db
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_contact(ids["Anna Müller"])
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.usefixtures("stable_rendering")
def test_lead_card_snapshot(snap_compare, plans_db):
    """A lead's fields and its plan, at 80x24."""
    path, ids = plans_db
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_lead(ids["lead"])
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
