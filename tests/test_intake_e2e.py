"""Issue 17's intake loop end to end: an admin publishes a plan (from a laptop) and a web
form (`crm server form add`); a post arrives and is routed; the rep's laptop syncs and
holds the lead already on the plan, its first step's reminder in `crm due` and the
enrolment in `crm plan status`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.server.intake_app import make_intake_app
from crmtui.services.follow_ups.plans import publish_plan
from crmtui.store.models import Lead, PlanEnrolment, Tickler
from tests.intake_support import FORM, PLAN, rep_ids
from tests.sync_support import BACKENDS, Team, server_url

runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def team_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Team, str]]:
    url = server_url(request, tmp_path)
    team = Team(url, tmp_path)
    yield team, url
    team.close()


def test_a_web_lead_reaches_its_reps_laptop_already_on_the_forms_plan(
    team_url: tuple[Team, str], tmp_path: Path
) -> None:
    team, url = team_url
    root, root_token = team.laptop("root", "root")
    with root.write() as tx:
        publish_plan(tx=tx, text=PLAN, source="web-lead.toml")
    assert team.sync_client(root, root_token).sync().rejected == 0

    form_file = tmp_path / "contact-us.toml"
    form_file.write_text(FORM.format(rate=30), encoding="utf-8")
    added = runner.invoke(app, ["server", "form", "add", str(form_file), "--db", url])
    assert added.exit_code == 0, added.output
    key = added.stderr.split("(shown once): ")[1].strip()
    listed = runner.invoke(app, ["server", "form", "list", "--format", "json", "--db", url])
    assert json.loads(listed.stdout)[0]["plan"] == "Web lead"

    with TestClient(make_intake_app(team.engine)) as web:
        r = web.post(
            "/v1/intake/contact-us",
            json={"name": "Lena Vogel", "email": "lena@vogel.example", "message": "Call me"},
            headers={"X-Intake-Key": key},
        )
    assert r.status_code == 202, r.text

    # The round-robin starts with ann (the first rep of North by id); the log says so.
    log = runner.invoke(app, ["server", "assignments", "--format", "json", "--db", url])
    (entry,) = json.loads(log.stdout)
    assert entry["rep"] == "ann" and entry["why"]["plan"] == "Web lead"

    ann, ann_token = team.laptop("ann", "ann")
    report = team.sync_client(ann, ann_token).sync()
    assert report.rejected == 0 and report.quarantined == 0
    with ann.read() as s:
        lead = s.exec(select(Lead)).one()
        assert (lead.name, lead.owner_id, lead.territory_id) == (
            "Lena Vogel",
            rep_ids(team.engine)["ann"],
            team.north,
        )
        enrolment = s.exec(select(PlanEnrolment)).one()
        assert enrolment.lead_id == lead.id and enrolment.contact_id is None
        (reminder,) = s.exec(select(Tickler).where(Tickler.status == "open")).all()
        assert reminder.lead_id == lead.id
        assert reminder.text == "Web lead · Call back the web lead"
    db = str(tmp_path / "ann.db")
    due = runner.invoke(app, ["due", "--all", "--format", "json", "--db", db])
    assert due.exit_code == 0, due.output
    items = [
        i for bucket in ("overdue", "today", "upcoming") for i in json.loads(due.stdout)[bucket]
    ]
    assert [(i["text"], i["contact_name"]) for i in items] == [
        ("Web lead · Call back the web lead", "Lena Vogel")
    ]
    status = runner.invoke(
        app, ["plan", "status", "--who", f"lead:{lead.id[:12]}", "--format", "json", "--db", db]
    )
    assert status.exit_code == 0, status.output
    (row,) = json.loads(status.stdout)
    assert (row["contact"], row["state"], row["lead_id"]) == ("Lena Vogel", "waiting", lead.id)

    # The reminder the laptop made syncs back: the team sees the same step, once.
    assert team.sync_client(ann, ann_token).sync().rejected == 0
    bob, bob_token = team.laptop("bob", "bob")
    team.sync_client(bob, bob_token).sync()
    with bob.read() as s:
        assert len(s.exec(select(Tickler).where(Tickler.status == "open")).all()) == 1
