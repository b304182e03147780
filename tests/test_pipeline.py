"""The default pipeline (fixed ids, from the migration), stage editing, money parsing."""

from __future__ import annotations

import sqlite3

import pytest

from crmtui.domain.money import BadMoney, format_money, parse_money
from crmtui.domain.validate import InvalidInput
from crmtui.services.sales.pipelines import (
    DEFAULT_PIPELINE_ID,
    DEFAULT_STAGES,
    StageCreate,
    StageUpdate,
    add_stage,
    delete_stage,
    find_stage,
    stages_of,
    update_stage,
)
from crmtui.store.database import Store


def test_new_database_has_the_fixed_default_pipeline_without_journal(store: Store) -> None:
    db = sqlite3.connect(store.path)
    rows = db.execute(
        "SELECT id, name, probability, forecast_category, stale_after_days FROM stage"
        " WHERE pipeline_id = ? ORDER BY position",
        (DEFAULT_PIPELINE_ID,),
    ).fetchall()
    assert [tuple(s) for s in DEFAULT_STAGES] == rows
    assert db.execute("SELECT name, is_default FROM pipeline").fetchall() == [("Sales", 1)]
    assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == 0


def test_add_edit_reorder_and_delete_stages_are_journaled(store: Store) -> None:
    with store.write() as tx:
        demo = add_stage(tx=tx, data=StageCreate(name="Demo", probability=30, stale_after_days=7))
    with store.read() as s:
        names = [x.name for x in stages_of(s, DEFAULT_PIPELINE_ID)]
    assert names.index("Demo") == 4  # before the closed stages
    with store.write() as tx:
        changed = update_stage(
            tx=tx, stage_id=demo.id, data=StageUpdate(probability=40, position=0)
        )
    assert "probability" in changed and "position" in changed
    with store.read() as s:
        first = stages_of(s, DEFAULT_PIPELINE_ID)[0]
        assert (first.name, first.probability) == ("Demo", 40)
        assert [x.position for x in stages_of(s, DEFAULT_PIPELINE_ID)] == list(range(7))
    with store.write() as tx:
        delete_stage(tx=tx, stage_id=find_stage(tx, DEFAULT_PIPELINE_ID, "demo").id)
    db = sqlite3.connect(store.path)
    ops = db.execute("SELECT op, field FROM journal WHERE row_id = ?", (demo.id,)).fetchall()
    assert ("create", None) in ops and ("set", "probability") in ops and ("delete", None) in ops


def test_stage_values_are_checked(store: Store) -> None:
    with store.write() as tx, pytest.raises(InvalidInput) as err:
        add_stage(tx=tx, data=StageCreate(name="X", probability=150))
    assert err.value.field == "probability"
    with store.write() as tx, pytest.raises(InvalidInput) as err:
        add_stage(tx=tx, data=StageCreate(name="Y", forecast_category="maybe"))
    assert err.value.field == "forecast_category"


@pytest.mark.parametrize(
    ("text", "minor", "currency"),
    [
        ("12,500.50 EUR", 1_250_050, "EUR"),
        ("12500.5", 1_250_050, "EUR"),
        ("EUR 99", 9_900, "EUR"),
        ("12.500,50 eur", 1_250_050, "EUR"),
        ("1,000 JPY", 1_000, "JPY"),
        ("1.5 KWD", 1_500, "KWD"),
        ("£20", 2_000, "GBP"),
    ],
)
def test_parse_money(text: str, minor: int, currency: str) -> None:
    money = parse_money(text, default_currency="EUR")
    assert (money.minor, money.currency) == (minor, currency)


@pytest.mark.parametrize("text", ["12.345 EUR", "abc", "10 EUT", "-5", "1.5 JPY", ""])
def test_parse_money_refuses(text: str) -> None:
    with pytest.raises(BadMoney):
        parse_money(text, default_currency="EUR")


def test_format_money() -> None:
    assert format_money(1_250_050, "EUR") == "12,500.50 EUR"
    assert format_money(1000, "JPY") == "1,000 JPY"
    assert format_money(1500, "KWD") == "1.500 KWD"
