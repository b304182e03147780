"""Discount approval: bound to the exact lines decided on, synced to the rep, and a quote
of lines that wait for (or were refused) approval cannot be marked sent."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.approval import (
    APPROVED,
    NEEDS_APPROVAL,
    NOT_NEEDED,
    REFUSED,
    Decision,
    LineFacts,
    approval_state,
    lines_digest,
)
from crmtui.domain.validate import InvalidInput
from crmtui.server import admin as server_admin
from crmtui.server import approvals as server_approvals
from crmtui.server.admin import AdminError
from crmtui.services.sales.approvals import deal_state, decide, set_threshold
from crmtui.services.sales.catalogue import (
    ProductData,
    add_price_list,
    save_product,
    set_price,
    set_tax_class,
)
from crmtui.services.sales.deal_lines import LineInput, add_line, remove_line
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.services.sales.quotes import QuoteInput, new_quote, set_status
from crmtui.store.database import Store, open_store
from crmtui.store.journal import WriteTx
from tests.sync_support import Team

runner = CliRunner()
TODAY = date(2025, 5, 1)


def crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def _catalogue(tx: WriteTx, threshold_bp: int | None = 1_500) -> None:
    set_tax_class(tx=tx, code="standard", rate_bp=1_900)
    widget, _ = save_product(tx=tx, data=ProductData("WID-1", "Widget"))
    lst = add_price_list(
        tx=tx, name="Std", currency="EUR", valid_from=date(2025, 1, 1), valid_to=None
    )
    set_price(tx=tx, price_list=lst, product=widget, min_quantity_milli=0, unit_price_minor=10_000)
    set_threshold(tx=tx, threshold_bp=threshold_bp)


def _state(store: Store, deal_id: str) -> str:
    with store.read() as s:
        db = s.connection().connection.driver_connection
        return deal_state(db, deal_id).state  # type: ignore[arg-type]


LINE = LineFacts("Widget", 2_000, 10_000, 2_000, "standard", 1_900)


def test_digest_ignores_order_and_changes_with_any_value() -> None:
    other = LineFacts("Setup", 1_000, 5_000, 0, None, 0)
    assert lines_digest([LINE, other]) == lines_digest([other, LINE])
    for changed in (
        LineFacts("Widget", 3_000, 10_000, 2_000, "standard", 1_900),
        LineFacts("Widget", 2_000, 9_999, 2_000, "standard", 1_900),
        LineFacts("Widget", 2_000, 10_000, 2_100, "standard", 1_900),
        LineFacts("Widgets", 2_000, 10_000, 2_000, "standard", 1_900),
    ):
        assert lines_digest([changed, other]) != lines_digest([LINE, other])
    assert lines_digest([LINE]) != lines_digest([LINE, other])


def test_state_rules() -> None:
    digest = lines_digest([LINE])
    assert approval_state([LINE], None, []).state == NOT_NEEDED
    assert approval_state([LINE], 2_000, []).state == NOT_NEEDED  # 20% is not above 20%
    assert approval_state([LINE], 1_500, []).state == NEEDS_APPROVAL
    ok = Decision(APPROVED, digest, "2025-05-01T10:00:00.000000Z", row_id="a")
    no = Decision(REFUSED, digest, "2025-05-01T11:00:00.000000Z", row_id="b")
    stale = Decision(APPROVED, "0" * 32, "2025-05-02T10:00:00.000000Z", row_id="c")
    assert approval_state([LINE], 1_500, [ok]).state == APPROVED
    assert approval_state([LINE], 1_500, [stale]).state == NEEDS_APPROVAL
    # The later decision on the same lines stands, whatever order they arrive in.
    assert approval_state([LINE], 1_500, [no, ok]).state == REFUSED
    assert approval_state([LINE], 1_500, [ok, no, stale]).state == REFUSED


def test_a_change_of_the_approved_lines_asks_again(db_path: Path) -> None:
    store = open_store(db_path)
    with store.write() as tx:
        _catalogue(tx)
        deal_id = create_deal(tx=tx, data=DealCreate(name="Big", expected_close=TODAY)).id
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 1_000, discount_bp=1_000), today=TODAY)
    assert _state(store, deal_id) == NOT_NEEDED
    with store.write() as tx, pytest.raises(InvalidInput, match="nothing to decide"):
        decide(tx=tx, deal_ref=deal_id, decision=APPROVED, reason=None)
    with store.write() as tx:
        line = add_line(
            tx=tx, data=LineInput(deal_id, "WID-1", 2_000, discount_bp=2_500), today=TODAY
        )[0]
    assert _state(store, deal_id) == NEEDS_APPROVAL
    with store.write() as tx:
        decide(tx=tx, deal_ref=deal_id, decision=APPROVED, reason="strategic", rep_name="Max")
    assert _state(store, deal_id) == APPROVED
    # Removing the discounted line and adding it again with another quantity: new lines.
    with store.write() as tx:
        remove_line(tx=tx, line_ref=line.id)
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 3_000, discount_bp=2_500), today=TODAY)
    assert _state(store, deal_id) == NEEDS_APPROVAL
    store.close()


def test_quote_cannot_be_sent_until_approved_cli(db_path: Path) -> None:
    store = open_store(db_path)
    with store.write() as tx:
        _catalogue(tx)
        deal_id = create_deal(tx=tx, data=DealCreate(name="Big", expected_close=TODAY)).id
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 2_000, discount_bp=2_500), today=TODAY)
    store.close()
    code, out, err = crm(db_path, "quote", "new", deal_id)
    assert code == 0, err
    number = out.strip()
    code, out, err = crm(db_path, "quote", "send-status", number, "sent")
    assert code == 4
    assert "cannot be marked sent" in err and "25%" in err and "15%" in err
    assert "Traceback" not in err
    code, out, err = crm(db_path, "deal", "approval", deal_id, "--format", "json")
    assert code == 0 and json.loads(out)["state"] == NEEDS_APPROVAL
    assert "needs approval" in crm(db_path, "deal", "show", deal_id)[1]
    code, _, err = crm(db_path, "deal", "refuse", deal_id)
    assert code == 2  # --reason is required for a refusal
    code, _, err = crm(db_path, "deal", "refuse", deal_id, "--reason", "too deep")
    assert code == 0, err
    code, _, err = crm(db_path, "quote", "send-status", number, "sent")
    assert code == 4 and "refused" in err and "too deep" in err
    code, _, err = crm(db_path, "deal", "approve", deal_id, "--reason", "ok after call")
    assert code == 0, err
    code, _, err = crm(db_path, "quote", "send-status", number, "sent")
    assert code == 0, err
    code, out, _ = crm(db_path, "deal", "approval", deal_id, "--format", "csv")
    assert out.splitlines()[0] == "decided_at,decision,by,reason,current_lines,id"
    assert len(out.splitlines()) == 3


def test_threshold_command(db_path: Path) -> None:
    open_store(db_path).close()
    assert "no discount approval" in crm(db_path, "deal", "approval-threshold")[1]
    code, out, err = crm(db_path, "deal", "approval-threshold", "12.5")
    assert code == 0, err
    assert "12.5%" in out
    code, out, _ = crm(db_path, "deal", "approval-threshold", "--format", "json")
    assert json.loads(out) == {"discount_threshold_bp": 1_250}
    assert crm(db_path, "deal", "approval-threshold", "abc")[0] == 2
    assert crm(db_path, "deal", "approval-threshold", "100")[0] == 2
    assert crm(db_path, "deal", "approval-threshold", "--off")[0] == 0
    code, out, _ = crm(db_path, "deal", "approval-threshold", "--format", "json")
    assert json.loads(out) == {"discount_threshold_bp": None}


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_manager_decision_reaches_the_rep_and_binds_to_lines(team: Team) -> None:
    root, root_token = team.laptop("root", "admin")
    with root.write() as tx:
        _catalogue(tx)
    team.sync_client(root, root_token).sync()
    rep, rep_token = team.laptop("ann", "ann")
    boss, boss_token = team.laptop("max", "max")
    for store in (rep, boss):
        # What `crm sync login` records: who this laptop's user is.
        with store.write() as tx:
            tx.db.execute(
                "INSERT INTO local_meta(key, value) VALUES ('sync_rep_id', ?)",
                (_rep_id(team, manager=store is boss),),
            )
    c_rep, c_boss = team.sync_client(rep, rep_token), team.sync_client(boss, boss_token)
    c_rep.sync()
    with rep.write() as tx:
        deal_id = create_deal(
            tx=tx, data=DealCreate(name="Big", expected_close=TODAY, territory_id=team.north)
        ).id
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 2_000, discount_bp=2_500), today=TODAY)
        quote = new_quote(tx=tx, data=QuoteInput(deal_id), today=TODAY)
    # The rep may not approve their own discount, here or through the server.
    with rep.write() as tx, pytest.raises(InvalidInput, match="manager"):
        decide(tx=tx, deal_ref=deal_id, decision=APPROVED, reason=None)
    c_rep.sync()
    c_boss.sync()
    assert _state(boss, deal_id) == NEEDS_APPROVAL
    with boss.write() as tx:
        decide(tx=tx, deal_ref=deal_id, decision=APPROVED, reason="key account")
    assert _state(rep, deal_id) == NEEDS_APPROVAL
    c_boss.sync()
    c_rep.sync()
    assert _state(rep, deal_id) == APPROVED
    with rep.write() as tx:
        set_status(tx=tx, quote_ref=quote.id, status="sent", today=TODAY, win=False)
    # A later change of the lines asks again; the manager refuses on the server.
    with rep.write() as tx:
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 1_000, discount_bp=3_000), today=TODAY)
        second = new_quote(tx=tx, data=QuoteInput(deal_id), today=TODAY)
    assert _state(rep, deal_id) == NEEDS_APPROVAL
    c_rep.sync()
    with pytest.raises(AdminError, match="manager"):
        server_approvals.decide(team.engine, deal_id[:8], "approved", manager="bob", reason=None)
    state = server_approvals.decide(
        team.engine, deal_id[:8], "refused", manager="max", reason="30% is too much"
    )
    assert state.state == REFUSED
    c_rep.sync()
    assert _state(rep, deal_id) == REFUSED
    with rep.write() as tx, pytest.raises(Exception, match="too much"):
        set_status(tx=tx, quote_ref=second.id, status="sent", today=TODAY, win=False)


def _rep_id(team: Team, manager: bool) -> str:
    name = "max" if manager else "ann"
    return next(str(r["id"]) for r in server_admin.reps(team.engine) if r["name"] == name)


def test_server_refuses_a_reps_pushed_decision(team: Team) -> None:
    root, root_token = team.laptop("root", "admin")
    with root.write() as tx:
        _catalogue(tx)
    team.sync_client(root, root_token).sync()
    rep, rep_token = team.laptop("ann", "ann")
    client = team.sync_client(rep, rep_token)
    client.sync()
    with rep.write() as tx:
        deal_id = create_deal(
            tx=tx, data=DealCreate(name="Big", expected_close=TODAY, territory_id=team.north)
        ).id
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 2_000, discount_bp=2_500), today=TODAY)
        # Not enrolled as anyone here: the laptop lets the decision through, the server not.
        decide(tx=tx, deal_ref=deal_id, decision=APPROVED, reason=None)
    report = client.sync()
    assert report.rejected >= 1
    assert any("decisions made by managers" in r for r in report.reasons)
    boss, boss_token = team.laptop("max", "max")
    team.sync_client(boss, boss_token).sync()
    assert _state(boss, deal_id) == NEEDS_APPROVAL


def test_server_cli_approve(team: Team, tmp_path: Path) -> None:
    root, root_token = team.laptop("root", "admin")
    with root.write() as tx:
        _catalogue(tx)
    team.sync_client(root, root_token).sync()
    rep, rep_token = team.laptop("ann", "ann")
    client = team.sync_client(rep, rep_token)
    client.sync()
    with rep.write() as tx:
        deal_id = create_deal(
            tx=tx, data=DealCreate(name="Big", expected_close=TODAY, territory_id=team.north)
        ).id
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 2_000, discount_bp=2_500), today=TODAY)
    client.sync()
    server_db = str(tmp_path / "server.db")

    def server(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["server", *args, "--db", server_db])
        return result.exit_code, result.stderr

    code, err = server("approve", deal_id[:8], "--as", "ann")
    assert code == 2 and "ann is a rep" in err
    assert server("approve", "ffffffff", "--as", "max")[0] == 1
    assert server("approve", deal_id[:8], "--as", "nobody")[0] == 1
    code, err = server("approve", deal_id[:8], "--as", "max", "--reason", "ok")
    assert code == 0, err
    assert "approved by max" in err
    client.sync()
    assert _state(rep, deal_id) == APPROVED
