"""Issue 17's done-when end to end, through the call list.

An admin publishes a plan (its first call step names a script) and a web form; a web
lead is posted to `/v1/intake/{form}` and routed round-robin with the rep on leave
skipped; the rep's laptop syncs and holds it already enrolled; offline, the rep works
the call step from F6 (a Pilot run, no server) with the script pane showing: "no
answer" brings the retry step, "connected" the next one; after a sync the manager's
`crm plan stats --format json` and `crm territory summary --format json` show the
per-step results. The shell checks all read `--format json`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crmtui.app import make_app
from crmtui.cli import app
from crmtui.screens.sections.calls import CallListScreen
from crmtui.server.intake_app import make_intake_app
from crmtui.services.follow_ups.call_scripts import publish_script
from crmtui.services.follow_ups.plans import publish_plan
from tests.app_support import settle
from tests.daily_pilot import SIZE
from tests.intake_support import FORM, rep_ids
from tests.sync_support import BACKENDS, Team, server_url
from tests.test_app_call_scripts import pane_text

runner = CliRunner()

PLAN = """\
name = "Web lead"

[[step]]
key = "call"
kind = "call"
text = "Call back the web lead"
script = "Web intro"
retries = 2
retry_wait = 1

[[step]]
key = "demo"
kind = "call"
text = "Book the demo"
wait = 2
"""

SCRIPT = """\
name = "Web intro"

[[question]]
key = "need"
text = "What made you fill in the form?"
"""


@pytest.fixture(params=BACKENDS)
def team_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Team, str]]:
    url = server_url(request, tmp_path)
    team = Team(url, tmp_path)
    yield team, url
    team.close()


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _one(db: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _publish_and_post(team: Team, url: str, tmp_path: Path) -> None:
    """The admin publishes the plan, its script and the form; ann goes on leave; a post."""
    root, root_token = team.laptop("root", "root")
    with root.write() as tx:
        publish_script(tx=tx, text=SCRIPT, source="web-intro.toml")
        publish_plan(tx=tx, text=PLAN, source="web-lead.toml")
    assert team.sync_client(root, root_token).sync().rejected == 0
    form_file = tmp_path / "contact-us.toml"
    form_file.write_text(FORM.format(rate=30), encoding="utf-8")
    added = runner.invoke(app, ["server", "form", "add", str(form_file), "--db", url])
    assert added.exit_code == 0, added.output
    key = added.stderr.split("(shown once): ")[1].strip()
    today = date.today()
    leave = ["server", "rep", "leave", "ann", "--from", str(today - timedelta(days=1))]
    left = runner.invoke(app, [*leave, "--to", str(today + timedelta(days=1)), "--db", url])
    assert left.exit_code == 0, left.output
    with TestClient(make_intake_app(team.engine)) as web:
        posted = web.post(
            "/v1/intake/contact-us",
            json={"name": "Lena Vogel", "phone": "+49 30 1234567", "message": "Call me"},
            headers={"X-Intake-Key": key},
        )
    assert posted.status_code == 202, posted.text


async def _work_from_the_call_list(path: Path, lead_id: str) -> None:
    """Offline, two weeks on (every step due): "no answer", the retry, then "connected"."""
    db = str(path)
    clock = [(datetime.now(UTC) + timedelta(days=14)).replace(hour=9, minute=0)]
    laptop = make_app(db_path=path, now=lambda: clock[0])
    async with laptop.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CallListScreen)
        first = screen.current
        assert first is not None and (first.lead_id, first.kind) == (lead_id, "lead")
        assert first.tickler_text == "Web lead · Call back the web lead"
        assert "▶ What made you fill in the form?" in pane_text(screen)
        await pilot.press("2")  # no answer: the plan retries the step
        await settle(pilot)
        clock[0] += timedelta(days=4)
        await pilot.press("r")
        await settle(pilot)
        retry = screen.current
        assert retry is not None and retry.lead_id == lead_id, "the retry is on the list"
        assert retry.tickler_id != first.tickler_id
        assert "▶ What made you fill in the form?" in pane_text(screen)
        (status,) = _json(["plan", "status", "--db", db])
        assert (status["step"], status["attempt"]) == ("1 call", 2)
        await pilot.press("1")  # connected: on to the next step
        await settle(pilot)


async def test_a_web_lead_is_worked_from_the_call_list_and_the_manager_sees_each_step(
    team_url: tuple[Team, str], tmp_path: Path
) -> None:
    team, url = team_url
    _publish_and_post(team, url, tmp_path)
    # ann would be first of North's round-robin; she is on leave, so bob gets the lead.
    (entry,) = _json(["server", "assignments", "--db", url])
    assert entry["rep"] == "bob" and entry["why"]["plan"] == "Web lead"
    assert {s["rep"] for s in entry["why"]["skipped"]} == {"ann"}

    # bob's laptop syncs: the lead is his, already on the plan.
    bob, bob_token = team.laptop("bob", "bob")
    assert team.sync_client(bob, bob_token).sync().rejected == 0
    db = str(tmp_path / "bob.db")
    (status,) = _json(["plan", "status", "--db", db])
    lead_id = status["lead_id"]
    assert (status["contact"], status["step"], status["attempt"]) == ("Lena Vogel", "1 call", 1)
    owner = _one(db, "SELECT owner_id FROM lead WHERE id = ?", lead_id)
    assert owner == [(rep_ids(team.engine)["bob"],)]

    await _work_from_the_call_list(tmp_path / "bob.db", lead_id)
    (status,) = _json(["plan", "status", "--db", db])
    assert (status["step"], status["attempt"], status["state"]) == ("2 call", 1, "waiting")
    outcomes = _one(
        db,
        "SELECT outcome FROM activity WHERE lead_id = ? AND kind = 'call' ORDER BY outcome",
        lead_id,
    )
    assert outcomes == [("connected",), ("no-answer",)]

    # Back online: bob syncs; the manager's laptop sees per-step results.
    assert team.sync_client(bob, bob_token).sync().rejected == 0
    max_, max_token = team.laptop("max", "max")
    assert team.sync_client(max_, max_token).sync().rejected == 0
    mdb = str(tmp_path / "max.db")
    steps = _json(["plan", "stats", "Web lead", "--db", mdb])
    assert [
        (s["step"], s["reached"], s["outcomes"], s["connects"], s["at"], s["exits"]) for s in steps
    ] == [(1, 1, 2, 1, 0, 0), (2, 1, 0, 0, 1, 0)]
    summary = _json(["territory", "summary", "North", "--db", mdb])
    assert summary["plans"] == steps
