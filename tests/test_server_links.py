"""Links name records that exist and that the caller may read (issue #14), through the HTTP API.

A link (account_id, contact_id, deal_id, stage_id, pipeline_id, territory_id, owner
and rep ids, ...) that names no record on the server, or one the caller may not
read, is `rejected` with a reason that names the field and is the same in both
cases, so ids cannot be probed. Records created earlier in the same batch can be
linked to. Reference data (pipelines, stages) is the admin's to write and every
laptop's to read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.domain.ids import uuid7
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from crmtui.sync.fields import REFERENCE, SHARED_CLASSES, shared_class
from tests.sync_support import BACKENDS, Team, make_team, new_record, wire_op
from tests.test_server_scope import Laptop, _team

WHEN = "2026-12-07T10:00:00.000000Z"
CANARY = "Canary-7f3e South secret"


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _deal(territory: str | None, **extra: object) -> dict[str, object]:
    return {
        "name": "Deal",
        "pipeline_id": DEFAULT_PIPELINE_ID,
        "stage_id": DEFAULT_STAGES[0].id,
        "territory_id": territory,
        **extra,
    }


def test_a_link_to_nothing_and_a_link_out_of_scope_get_the_same_answer(team: Team) -> None:
    t = _team(team)
    south = t["sue"].make("account", {"name": CANARY, "territory_id": team.south})
    north = t["ann"].make("account", {"name": "Acme", "territory_id": team.north})
    contact = t["ann"].make("contact", {"name": "Jo", "account_id": north})
    answers = {}
    for label, target in (("missing", uuid7()), ("south", south)):
        response = t["ann"].http.post(
            "/v1/push",
            json={
                "device_id": t["ann"].device,
                "ops": [wire_op("contact", contact, "set", "account_id", target)],
            },
        )
        assert response.status_code == 200
        [answer] = response.json()["results"]
        assert CANARY not in response.text and "South" not in response.text
        answers[label] = (answer["status"], answer["reason"], answer["current"])
    assert answers["missing"] == answers["south"]
    status, reason, current = answers["missing"]
    # The server's value of her own contact's field goes back (she may read it).
    assert status == "rejected" and current["value"] == json.dumps(north)
    assert reason == "contact.account_id does not name a account you can link to"
    # Nothing changed: the contact is still at Acme, in North.
    assert contact in t["bob"].rows() and contact not in t["sue"].rows()


def test_every_link_field_is_checked(team: Team) -> None:
    t = _team(team)
    deal = t["ann"].make("deal", _deal(team.north))
    bogus = uuid7()
    for field in ("account_id", "contact_id", "stage_id", "pipeline_id", "owner_id"):
        [answer] = t["ann"].push([wire_op("deal", deal, "set", field, bogus)])
        assert answer["status"] == "rejected", field
        assert answer["reason"].startswith(f"deal.{field} does not name a"), answer
    call = t["ann"].make("activity", {"kind": "call", "occurred_at": WHEN, "deal_id": deal})
    for field in ("contact_id", "account_id", "deal_id", "rep_id"):
        [answer] = t["ann"].push([wire_op("activity", call, "set", field, bogus)])
        assert answer["status"] == "rejected", field
        assert f"activity.{field}" in answer["reason"]
    # An unknown territory, even for an admin.
    [answer] = t["root"].push([wire_op("deal", deal, "set", "territory_id", bogus)])
    assert answer["status"] == "rejected" and "deal.territory_id" in answer["reason"]


def test_a_create_with_a_bad_required_link_is_refused_whole(team: Team) -> None:
    t = _team(team)
    row, ops = new_record("deal", _deal(team.north, pipeline_id=uuid7()))
    answers = t["ann"].push(ops)
    assert {a["status"] for a in answers} == {"rejected"}
    assert answers[0]["reason"] == "a new deal.pipeline_id does not name a pipeline you can link to"
    assert row not in t["bob"].rows()


def test_a_new_record_with_a_bad_link_is_refused_whole(team: Team) -> None:
    """A South deal's id on a North call note: the note is refused, not made South's."""
    t = _team(team)
    south_deal = t["sue"].make("deal", _deal(team.south, name=CANARY))
    north_contact = t["ann"].make("contact", {"name": "N", "territory_id": team.north})
    row, ops = new_record(
        "activity",
        {"kind": "call", "occurred_at": WHEN, "contact_id": north_contact, "deal_id": south_deal},
    )
    answers = t["ann"].push(ops)
    assert {a["status"] for a in answers} == {"rejected"}
    assert answers[0]["reason"] == "a new activity.deal_id does not name a deal you can link to"
    assert row not in t["bob"].rows() and row not in t["sue"].rows()


def test_a_contact_and_its_account_in_one_batch(team: Team) -> None:
    t = _team(team)
    account, account_ops = new_record("account", {"name": "Acme", "territory_id": team.north})
    contact, contact_ops = new_record("contact", {"name": "Jo", "account_id": account})
    _deal_id, deal_ops = new_record(
        "deal", _deal(None, account_id=account, contact_id=contact, name="D")
    )
    answers = t["ann"].push([*account_ops, *contact_ops, *deal_ops])
    assert {a["status"] for a in answers} == {"applied"}, answers
    assert {account, contact} <= t["bob"].rows()
    # The other order: a link to a record created later in the batch does not exist yet.
    later, later_ops = new_record("account", {"name": "Later", "territory_id": team.north})
    _early, early_ops = new_record("contact", {"name": "Early", "account_id": later})
    answers = t["ann"].push([*early_ops, *later_ops])
    assert {a["status"] for a in answers[: len(early_ops)]} == {"rejected"}
    assert {a["status"] for a in answers[len(early_ops) :]} == {"applied"}
    _, again = new_record("contact", {"name": "Early", "account_id": later})
    assert {a["status"] for a in t["ann"].push(again)} == {"applied"}


def test_reference_data_is_the_admins_and_everyones(team: Team) -> None:
    assert shared_class("stage") is REFERENCE and REFERENCE in SHARED_CLASSES
    assert shared_class("deal") is None
    t = _team(team)
    for rep in ("ann", "max"):
        _, ops = new_record("pipeline", {"name": f"{rep}'s"})
        answers = t[rep].push(ops)
        assert {a["status"] for a in answers} == {"rejected"}, rep
        assert "reference data, changed by an admin only" in answers[0]["reason"]
        [answer] = t[rep].push([wire_op("stage", DEFAULT_STAGES[0].id, "set", "name", "X")])
        assert answer["status"] == "rejected"
    pipeline = t["root"].make("pipeline", {"name": "Renewals"})
    stage = t["root"].make(
        "stage",
        {
            "pipeline_id": pipeline,
            "name": "Open",
            "position": 0,
            "probability": 10,
            "forecast_category": "pipeline",
        },
    )
    for rep in ("ann", "bob", "sue", "max"):
        assert {pipeline, stage} <= t[rep].rows(), rep
    # Every rep links a deal to it.
    t["sue"].make("deal", _deal(team.south, pipeline_id=pipeline, stage_id=stage))
    # A stage must name a pipeline that exists, even the admin's.
    _, ops = new_record("stage", {"pipeline_id": uuid7(), "name": "Lost", "position": 1})
    assert {a["status"] for a in t["root"].push(ops)} == {"rejected"}


def test_a_new_laptop_is_told_nothing_by_a_refused_link(team: Team) -> None:
    """A rep's own unplaced contact can be linked by her; another rep's cannot."""
    t = _team(team)
    mine = t["ann"].make("contact", {"name": "Mine"})
    bobs = t["bob"].make("contact", {"name": CANARY})
    call = t["ann"].make("activity", {"kind": "call", "occurred_at": WHEN, "contact_id": mine})
    [answer] = t["ann"].push([wire_op("activity", call, "set", "contact_id", bobs)])
    assert answer["status"] == "rejected" and answer["current"]["value"] == json.dumps(mine)
    other = Laptop(team, "ann")  # her second laptop sees her unplaced contact too
    assert mine in other.rows()
