"""A manager hands a rep's open leads to another rep in bulk; the server takes what the
manager's scope covers (a new owner who works in the lead's territory) and refuses the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from crmtui.server.intake_app import make_intake_app
from crmtui.services.sales.lead_assign import reassign_leads
from crmtui.services.territories import find_rep
from crmtui.store.models import Lead
from tests.intake_support import leads, publish_form, rep_ids
from tests.sync_support import Team


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_a_manager_reassigns_a_reps_leads_and_the_server_checks_the_new_owner(
    team: Team,
) -> None:
    key = publish_form(team.engine)
    with TestClient(make_intake_app(team.engine)) as web:
        for i in range(4):  # ann, bob, ann, bob
            r = web.post(
                "/v1/intake/contact-us", json={"name": f"P {i}"}, headers={"X-Intake-Key": key}
            )
            assert r.status_code == 202
    reps = rep_ids(team.engine)
    max_laptop, token = team.laptop("max", "max")
    client = team.sync_client(max_laptop, token)
    client.sync()
    with max_laptop.write() as tx:
        moved = reassign_leads(
            tx=tx, from_rep_id=find_rep(tx, "ann").id, to_rep_id=find_rep(tx, "bob").id
        )
    assert len(moved.lead_ids) == 2
    assert client.sync().rejected == 0
    assert {str(lead["_owner"]) for lead in leads(team.engine).values()} == {reps["bob"]}
    # bob's laptop sees them as his.
    bob, bob_token = team.laptop("bob", "bob")
    team.sync_client(bob, bob_token).sync()
    with bob.read() as s:
        assert {lead.owner_id for lead in s.exec(select(Lead)).all()} == {reps["bob"]}
    # sue works in South: the server refuses her as the owner of North leads.
    with max_laptop.write() as tx:
        reassign_leads(tx=tx, from_rep_id=reps["bob"], to_rep_id=find_rep(tx, "sue").id)
    report = client.sync()
    assert report.rejected == 4
    assert all("does not work in the record's territory" in r for r in report.reasons)
    assert {str(lead["_owner"]) for lead in leads(team.engine).values()} == {reps["bob"]}
