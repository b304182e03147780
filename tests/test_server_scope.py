"""Scope is decided on the server and never leaks (issue #14), through the HTTP API.

A team of two territories (North: ann and bob, South: sue) under Region (max, a
manager), and an admin (root), each with a laptop's token, driven as the client
drives the server: push batches of ops, pull pages of the feed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crmtui.domain.ids import uuid7
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from tests.sync_support import BACKENDS, Team, make_team, new_record, push_ops, wire_op

# The default pipeline: a link must name a record the server knows (every replica has it).
PIPELINE, STAGE = DEFAULT_PIPELINE_ID, DEFAULT_STAGES[0].id
WHEN = "2026-12-07T10:00:00.000000Z"


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


class Laptop:
    """One device of the team: its HTTP client and journal device id."""

    def __init__(self, team: Team, rep: str) -> None:
        _, token = team.laptop(rep)
        self.http: httpx.Client = team.http(token)
        self.device = uuid7()
        self.cursor = 0
        self.held: set[str] = set()

    def push(self, ops: list[dict[str, object]]) -> list[dict]:
        """Push a batch; the answers."""
        return push_ops(self.http, self.device, ops)

    def make(self, entity: str, values: dict[str, object]) -> str:
        """Create a record; every op must be applied."""
        row, ops = new_record(entity, values)
        answers = self.push(ops)
        assert {a["status"] for a in answers} == {"applied"}, answers
        return row

    def rows(self) -> set[str]:
        """The records this device holds after pulling what is new (removals drop them)."""
        page = self.http.get("/v1/pull", params={"cursor": self.cursor, "limit": 5000}).json()
        for c in sorted([*page["changes"], *page["removals"]], key=lambda c: c["seq"]):
            if c["kind"] == "removal":
                self.held.discard(c["row_id"])
            else:
                self.held.add(c["row_id"])
        self.cursor = page["cursor"]
        return set(self.held)


def _team(team: Team) -> dict[str, Laptop]:
    return {rep: Laptop(team, rep) for rep in ("ann", "bob", "sue", "max", "root")}


def _deal(territory: str | None, name: str = "Deal", amount: int = 1000) -> dict[str, object]:
    return {
        "name": name,
        "pipeline_id": PIPELINE,
        "stage_id": STAGE,
        "amount_minor": amount,
        "territory_id": territory,
    }


def test_a_refusal_never_carries_a_value_the_caller_may_not_read(team: Team) -> None:
    t = _team(team)
    south = t["sue"].make("deal", _deal(team.south, "Secret South deal", 987654321))
    for field, value in (("name", "mine now"), ("amount_minor", 1), ("territory_id", team.north)):
        answer = t["ann"].http.post(
            "/v1/push",
            json={
                "device_id": t["ann"].device,
                "ops": [wire_op("deal", south, "set", field, value)],
            },
        )
        [result] = answer.json()["results"]
        assert result["status"] == "rejected" and result["current"] is None
        assert "Secret" not in answer.text and "987654321" not in answer.text
    # The manager who may read it is told the server's value when his op loses.
    stale = wire_op("deal", south, "set", "name", "older")
    stale["hlc"] = "0000000000001-00000"
    [result] = t["max"].push([stale])
    assert result["status"] == "superseded"
    assert result["current"]["value"] == json.dumps("Secret South deal")


def test_a_rep_cannot_unplace_or_move_a_record(team: Team) -> None:
    t = _team(team)
    deal = t["ann"].make("deal", _deal(team.north))
    for target in (None, team.south, team.region):
        [result] = t["ann"].push([wire_op("deal", deal, "set", "territory_id", target)])
        assert result["status"] == "rejected", target
        assert "managers and admins" in result["reason"]
    assert deal in t["bob"].rows()  # still North
    # Another rep's unplaced record cannot be pulled into her territory either.
    loose = t["bob"].make("contact", {"name": "Bob's lead"})
    [result] = t["ann"].push([wire_op("contact", loose, "set", "territory_id", team.north)])
    assert result["status"] == "rejected" and result["current"] is None
    assert loose in t["bob"].rows()
    # A manager moves and unplaces; an admin too.
    [moved] = t["max"].push([wire_op("deal", deal, "set", "territory_id", team.south)])
    assert moved["status"] == "applied"
    assert deal in t["sue"].rows() and deal not in t["bob"].rows()
    [unplaced] = t["root"].push([wire_op("deal", deal, "set", "territory_id", None)])
    assert unplaced["status"] == "applied"
    assert deal not in t["sue"].rows() and deal in t["ann"].rows()  # back to its creator


def test_a_relink_by_a_rep_cannot_move_an_activity(team: Team) -> None:
    t = _team(team)
    north_contact = t["ann"].make("contact", {"name": "N", "territory_id": team.north})
    mine = t["ann"].make("contact", {"name": "Mine"})
    call = t["ann"].make(
        "activity", {"kind": "call", "occurred_at": WHEN, "contact_id": north_contact}
    )
    [result] = t["ann"].push([wire_op("activity", call, "set", "contact_id", mine)])
    assert result["status"] == "rejected" and "manager" in result["reason"]
    assert call in t["bob"].rows()


def test_unplaced_customer_records_are_seen_by_their_creator_and_managers(team: Team) -> None:
    t = _team(team)
    loose = t["bob"].make("contact", {"name": "Unplaced"})
    other_laptop = Laptop(team, "bob")
    assert loose in t["bob"].rows() and loose in other_laptop.rows()
    assert loose in t["max"].rows() and loose in t["root"].rows()
    assert loose not in t["ann"].rows() and loose not in t["sue"].rows()
    [edit] = t["ann"].push([wire_op("contact", loose, "set", "city", "York")])
    assert edit["status"] == "rejected" and edit["current"] is None
    # Reference data stays everyone's (and is the admin's to write).
    pipeline = t["root"].make("pipeline", {"name": "Sales"})
    assert all(pipeline in t[rep].rows() for rep in ("ann", "sue", "bob", "max"))


def test_a_new_contact_takes_its_accounts_territory(team: Team) -> None:
    t = _team(team)
    account = t["ann"].make("account", {"name": "Acme", "territory_id": team.north})
    contact = t["ann"].make("contact", {"name": "Jane", "account_id": account})
    assert contact in t["bob"].rows()  # North, not only ann's
    assert contact not in t["sue"].rows()
    # A rep may not make a contact at an account of another territory (it would be there).
    south_account = t["sue"].make("account", {"name": "Sud", "territory_id": team.south})
    _, ops = new_record("contact", {"name": "Joe", "account_id": south_account})
    assert {a["status"] for a in t["ann"].push(ops)} == {"rejected"}


def test_an_activity_takes_the_most_restrictive_territory_of_its_links(team: Team) -> None:
    t = _team(team)
    south_deal = t["sue"].make("deal", _deal(team.south))
    loose = t["sue"].make("contact", {"name": "Unplaced"})
    note = t["sue"].make(
        "activity",
        {
            "kind": "call",
            "occurred_at": WHEN,
            "text": "South only",
            "contact_id": loose,
            "deal_id": south_deal,
        },
    )
    assert note in t["sue"].rows() and note in t["max"].rows()
    assert note not in t["ann"].rows() and note not in t["bob"].rows()
    # A manager's note on a Region account and a South deal is South's too.
    region_account = t["max"].make("account", {"name": "HQ", "territory_id": team.region})
    memo = t["max"].make(
        "tickler",
        {"text": "call back", "due_at": WHEN, "account_id": region_account, "deal_id": south_deal},
    )
    assert memo in t["sue"].rows() and memo not in t["ann"].rows()
