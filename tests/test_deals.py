"""Deals: stage history with who and when, time in stage, won/lost/reopen, staleness."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from crmtui.domain.validate import InvalidInput
from crmtui.reports.deal_history import deal_card
from crmtui.reports.forecast import stale_deals
from crmtui.reports.scope import Scope
from crmtui.services.sales.deals import (
    DealCreate,
    DealUpdate,
    create_deal,
    lose_deal,
    move_deal,
    reopen_deal,
    update_deal,
    win_deal,
)
from crmtui.services.territories import RepCreate, create_rep
from crmtui.store.database import Store


def _ro(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)


def test_history_records_every_move_with_who_and_when(store: Store) -> None:
    with store.write() as tx:
        rep = create_rep(tx=tx, data=RepCreate(name="Max")).id
        deal = create_deal(tx=tx, data=DealCreate(name="Big", amount_minor=100), by=rep)
    with store.write() as tx:
        move_deal(tx=tx, deal_id=deal.id, stage="proposal", by=rep)
    with store.write() as tx:
        lose_deal(tx=tx, deal_id=deal.id, reason="price", by=rep)
    with store.write() as tx:
        reopened = reopen_deal(tx=tx, deal_id=deal.id, by=rep)
    assert reopened.status == "open" and reopened.lost_reason is None
    card = deal_card(_ro(store), deal.id[:8], now=datetime.now(UTC))
    assert [(h.from_stage, h.to_stage) for h in card.history] == [
        (None, "Lead In"),
        ("Lead In", "Proposal"),
        ("Proposal", "Closed Lost"),
        ("Closed Lost", "Proposal"),  # back to the open stage it left
    ]
    assert {h.changed_by for h in card.history} == {"Max"}
    assert all(h.days_in_stage >= 0 for h in card.history)
    assert card.deal.owner_name == "Max"
    ops = (
        sqlite3.connect(store.path)
        .execute(
            "SELECT count(*) FROM journal WHERE entity = 'deal_stage_change' AND op = 'create'"
        )
        .fetchone()[0]
    )
    assert ops == 4


def test_time_in_stage_is_measured_between_changes(store: Store) -> None:
    with store.write() as tx:
        deal = create_deal(tx=tx, data=DealCreate(name="Aged"))
    db = sqlite3.connect(store.path)
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    db.execute("UPDATE deal_stage_change SET changed_at = ?", (three_days_ago,))
    db.commit()
    card = deal_card(_ro(store), deal.id, now=datetime.now(UTC))
    assert card.history[0].days_in_stage == pytest.approx(3, abs=0.01)


def test_won_lost_rules(store: Store) -> None:
    with store.write() as tx:
        deal = create_deal(tx=tx, data=DealCreate(name="W"))
    with store.write() as tx, pytest.raises(InvalidInput) as err:
        lose_deal(tx=tx, deal_id=deal.id, reason="  ")
    assert err.value.field == "reason"
    with store.write() as tx, pytest.raises(InvalidInput):
        move_deal(tx=tx, deal_id=deal.id, stage="Closed Lost")  # no reason
    with store.write() as tx:
        won = win_deal(tx=tx, deal_id=deal.id)
    assert won.status == "won" and won.closed_at is not None
    with store.write() as tx, pytest.raises(InvalidInput, match="reopen"):
        move_deal(tx=tx, deal_id=deal.id, stage="Qualified")


def test_probability_override_can_be_set_and_dropped(store: Store) -> None:
    with store.write() as tx:
        deal = create_deal(tx=tx, data=DealCreate(name="P", probability=60))
    with store.write() as tx:
        assert update_deal(
            tx=tx, deal_id=deal.id, data=DealUpdate.model_validate({"probability": None})
        ) == ["probability"]
    with store.write() as tx, pytest.raises(InvalidInput):
        update_deal(tx=tx, deal_id=deal.id, data=DealUpdate(probability=101))


def _age(store: Store, deal_id: str, days: int) -> None:
    stamp = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    db = sqlite3.connect(store.path)
    db.execute("UPDATE deal SET stage_changed_at = ? WHERE id = ?", (stamp, deal_id))
    db.commit()


def test_stale_means_no_open_tickler_and_no_recent_activity(store: Store) -> None:
    from crmtui.services.consent import CallCap
    from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
    from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler

    with store.write() as tx:
        # Lead In is stale after 14 days.
        fresh = create_deal(tx=tx, data=DealCreate(name="fresh")).id
        old = create_deal(tx=tx, data=DealCreate(name="old")).id
        talked = create_deal(tx=tx, data=DealCreate(name="talked")).id
        reminded = create_deal(tx=tx, data=DealCreate(name="reminded")).id
    for deal_id in (old, talked, reminded):
        _age(store, deal_id, 15)
    _age(store, fresh, 13)
    with store.write() as tx:
        cap = CallCap(calls=100, days=30)
        log_activity(tx=tx, data=ActivityCreate(kind="note", deal_id=talked, text="x"), cap=cap)
        create_tickler(
            tx=tx,
            data=TicklerCreate(
                text="call", due_at=datetime.now(UTC) + timedelta(days=1), deal_id=reminded
            ),
        )
    stale = stale_deals(_ro(store), scope=Scope(), tz=UTC, now=datetime.now(UTC))
    assert [d.name for d in stale] == ["old"]
