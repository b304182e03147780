"""F6 with a lead row: a web lead on a plan is a row of its own, marked "lead", with its
plan step's script beside it; Enter opens the lead card, `c` dials the lead's phone, an
outcome key logs on the lead; snapshots at 120x40 and 80x24."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.screens.cards.lead_card import LeadCardScreen
from crmtui.screens.sections.calls import CallListScreen
from crmtui.services.follow_ups.call_scripts import publish_script
from crmtui.services.follow_ups.plans import enrol_lead, publish_plan
from crmtui.services.plan_progress import PlanClock
from crmtui.services.sales.leads import LeadCreate, create_lead
from crmtui.store.database import open_store
from crmtui.store.types import format_timestamp
from tests.app_support import DAILY_NOW, build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock
from tests.test_app_call_scripts import pane_text
from tests.test_leadcalls_e2e import PLAN, SCRIPT


@pytest.fixture(scope="module")
def lead_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily database with a web lead on the "Web lead" plan, its call step due first."""
    path = tmp_path_factory.mktemp("leads") / "daily.db"
    build_daily_db(path)
    store = open_store(path)
    with store.write() as tx:
        publish_script(tx=tx, text=SCRIPT, source="web-intro.toml")
        plan, _ = publish_plan(tx=tx, text=PLAN, source="web-lead.toml")
        lead = create_lead(
            tx=tx,
            data=LeadCreate(name="Lena Vogel", company="Vogel Werkzeuge", phone="030 1234567"),
            region="DE",
        )
        enrol_lead(tx=tx, plan_id=plan.id, lead_id=lead.id, clock=PlanClock())
    store.close()
    # The step was scheduled at the real clock: pin its due moment for the snapshots.
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "UPDATE tickler SET due_at = ? WHERE lead_id IS NOT NULL",
            (format_timestamp(DAILY_NOW - timedelta(days=20)),),
        )
    con.close()
    return path


async def _call_list(pilot: Pilot[None]) -> CallListScreen:
    await settle(pilot)
    await pilot.press("f6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CallListScreen)
    return screen


async def test_the_lead_row_shows_its_script_and_enter_opens_the_lead_card(
    lead_template: Path, tmp_path: Path
) -> None:
    path = copy_db(lead_template, tmp_path / "daily.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _call_list(pilot)
        row = screen.current
        assert row is not None and (row.name, row.kind) == ("Lena Vogel", "lead")
        assert "▶ What made you fill in the form?" in pane_text(screen)
        assert screen.selected_contact() is None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, LeadCardScreen)


async def test_c_dials_the_leads_phone_and_the_outcome_logs_the_call_on_the_lead(
    lead_template: Path, tmp_path: Path
) -> None:
    path = copy_db(lead_template, tmp_path / "daily.db")
    Path(os.environ["CRMTUI_CONFIG"]).write_text('dial_command = "true {uri}"\n')
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _call_list(pilot)
        row = screen.current
        assert row is not None and row.lead_id is not None
        await pilot.press("c")
        await settle(pilot)
        running = pilot.app.call_timer.running  # type: ignore[attr-defined]
        assert running is not None and running.contact_id == f"lead:{row.lead_id}"
        await pilot.press("2")  # no answer: ends the call, logs it on the lead
        await settle(pilot)
        assert pilot.app.call_timer.running is None  # type: ignore[attr-defined]
    con = sqlite3.connect(path)
    try:
        logged = con.execute(
            "SELECT outcome, contact_id, duration_s IS NOT NULL FROM activity WHERE lead_id = ?",
            (row.lead_id,),
        ).fetchall()
    finally:
        con.close()
    assert logged == [("no-answer", None, 1)]


@pytest.mark.usefixtures("stable_rendering")
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_call_list_lead_row_snapshot(snap_compare, lead_template, size, tmp_path):
    """The lead first in the queue, marked "lead", with its plan step's script."""
    path = copy_db(lead_template, tmp_path / "daily.db")
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_ending_a_leads_call_with_c_keeps_its_length_for_the_outcome(
    lead_template: Path, tmp_path: Path
) -> None:
    path = copy_db(lead_template, tmp_path / "daily.db")
    Path(os.environ["CRMTUI_CONFIG"]).write_text('dial_command = "true {uri}"\n')
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _call_list(pilot)
        row = screen.current
        assert row is not None and row.lead_id is not None
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("c")  # the call ended: no quick log for a lead, the list keeps it
        await settle(pilot)
        assert pilot.app.screen is screen
        assert pilot.app.call_timer.running is None  # type: ignore[attr-defined]
        await pilot.press("1")
        await settle(pilot)
    con = sqlite3.connect(path)
    try:
        logged = con.execute(
            "SELECT outcome, duration_s IS NOT NULL FROM activity WHERE lead_id = ?",
            (row.lead_id,),
        ).fetchall()
    finally:
        con.close()
    assert logged == [("connected", 1)]
