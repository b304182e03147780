"""The call list's script pane (F6): shown beside the card, answered with the keyboard, its
answers kept on the logged call; snapshots at 120x40 and 80x24."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.screens.dialogs.script_answer import ScriptAnswerPrompt
from crmtui.screens.sections.calls import CallListScreen
from crmtui.services.follow_ups.call_scripts import publish_script
from crmtui.store.database import open_store
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock
from tests.test_call_scripts import SCRIPT


@pytest.fixture(scope="module")
def script_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily database with the "Intro call" script published."""
    path = tmp_path_factory.mktemp("scripts") / "daily.db"
    build_daily_db(path)
    store = open_store(path)
    with store.write() as tx:
        publish_script(tx=tx, text=SCRIPT, source="intro.toml")
    store.close()
    return path


@pytest.fixture
def campaign() -> None:
    """The calling campaign's script in the config the app reads."""
    Path(os.environ["CRMTUI_CONFIG"]).write_text('call_script = "Intro call"\n')


def pane_text(screen: CallListScreen) -> str:
    """The script pane's text ("" when it is hidden)."""
    pane = screen.query_one("#call-script")
    return str(screen.query_one("#call-script-body", Static).render()) if pane.display else ""


async def test_answers_follow_the_branches_and_are_kept_on_the_call(
    script_template, campaign, tmp_path
):
    path = copy_db(script_template, tmp_path / "daily.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CallListScreen)
        first = screen.current
        assert first is not None and first.name == "Carla Rossi"
        assert "▶ Is there a budget for this year?" in pane_text(screen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ScriptAnswerPrompt)
        await pilot.press("2")  # no: the script jumps to "later"
        await settle(pilot)
        assert "▶ May we call again next quarter?" in pane_text(screen)
        await pilot.press("b")  # take it back
        await settle(pilot)
        assert "▶ Is there a budget for this year?" in pane_text(screen)
        await pilot.press("a", "1")  # yes: on to the seats, free text
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"12", "enter")
        await settle(pilot)
        text = pane_text(screen)
        assert "Script done" in text and "How many seats?  12" in text
        await pilot.press("1")  # connected: logs the call with the answers
        await settle(pilot)
        assert screen.current is not None and screen.current.name != "Carla Rossi"
    db = sqlite3.connect(path)
    row = db.execute(
        "SELECT a.script_answers, a.text, s.name FROM activity a"
        " JOIN call_script s ON s.id = a.script_id WHERE a.contact_id = ?",
        (first.contact_id,),
    ).fetchone()
    db.close()
    assert json.loads(row[0]) == {"budget": "yes", "seats": "12"}
    assert row[2] == "Intro call" and "- How many seats? 12" in row[1]


async def test_no_script_no_pane_and_no_answer_key(script_template, tmp_path):
    path = copy_db(script_template, tmp_path / "daily.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CallListScreen)
        assert pane_text(screen) == ""
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen is screen


@pytest.mark.usefixtures("stable_rendering", "campaign")
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_script_pane_snapshot(snap_compare, script_template, size, tmp_path):
    """The script beside the card (120x40) and under it, compact (80x24), one answer given."""
    path = copy_db(script_template, tmp_path / "daily.db")
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("a", "2")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_c_claims_the_next_contacts_and_a_lost_claim_is_told(script_template, tmp_path):
    from datetime import timedelta

    from crmtui.store.models import CallClaim, Rep
    from tests.app_support import DAILY_NOW

    path = copy_db(script_template, tmp_path / "daily.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CallListScreen)
        assert [i.name for i in screen.queue] == ["Carla Rossi", "Emma Johnson"]
        await pilot.press("C")
        await settle(pilot)
        assert [(i.name, i.claimed) for i in screen.queue] == [
            ("Carla Rossi", True),
            ("Emma Johnson", True),
        ]
        emma = screen.queue[1].contact_id
        # Bob's earlier claim on Emma arrives (as a sync would bring it): she is his.
        store = open_store(path)
        with store.write() as tx:
            bob = Rep(name="Bob Lang", role="rep")
            tx.add(bob)
            tx.add(
                CallClaim(
                    contact_id=emma,
                    rep_id=bob.id,
                    claimed_at=DAILY_NOW - timedelta(minutes=5),
                    expires_at=DAILY_NOW + timedelta(hours=1),
                )
            )
        store.close()
        await pilot.press("r")
        await settle(pilot)
        assert [i.name for i in screen.queue] == ["Carla Rossi"]
        assert any("Emma Johnson is Bob Lang's" in str(n.message) for n in pilot.app._notifications)
        await pilot.press("ctrl+z")  # takes the claims back
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert [(i.name, i.claimed) for i in screen.queue] == [("Carla Rossi", False)]
