"""Rule-based territory assignment and realign: dry run versus apply, pins, journal."""

from __future__ import annotations

import sqlite3

from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.services.territories import (
    TerritoryCreate,
    TerritoryRuleCreate,
    add_rule,
    apply_realign,
    assign_account,
    create_territory,
    plan_realign,
)
from crmtui.store.database import Store
from crmtui.store.models import Account, Deal


def _setup(store: Store) -> dict[str, str]:
    ids: dict[str, str] = {}
    with store.write() as tx:
        for name, parent in (
            ("Europe", None),
            ("DACH", "Europe"),
            ("Munich", "DACH"),
            ("Banks", None),
        ):
            ids[name] = create_territory(tx=tx, data=TerritoryCreate(name=name, parent=parent)).id
        rules = [
            ("DACH", "country", "de", 0),
            ("Munich", "postcode_prefix", "80", 0),
            ("Banks", "industry", "Banking", 10),
        ]
        for territory, kind, value, priority in rules:
            add_rule(
                tx=tx,
                data=TerritoryRuleCreate(
                    territory_id=ids[territory], kind=kind, value=value, priority=priority
                ),
            )
        for name, country, postcode, industry in (
            ("Berlin Co", "DE", "10115", None),
            ("Munich Co", "DE", "80331", None),
            ("Bank AG", "DE", "80331", "banking"),
            ("Paris SA", "FR", "75001", None),
            ("Pinned Co", "DE", "10115", None),
        ):
            data = AccountCreate(name=name, country=country, postcode=postcode, industry=industry)
            ids[name] = create_account(tx=tx, data=data, region="DE").id
        assign_account(tx=tx, account_id=ids["Pinned Co"], territory_id=ids["Banks"])
        ids["deal"] = create_deal(
            tx=tx, data=DealCreate(name="Munich deal", account_id=ids["Munich Co"])
        ).id
    return ids


def test_realign_dry_run_lists_moves_and_apply_moves_them(store: Store) -> None:
    ids = _setup(store)
    with store.read() as session:
        plan = {m.account_name: m.to_territory_id for m in plan_realign(session)}
    assert plan == {
        "Bank AG": ids["Banks"],  # priority 10 beats the postcode and the country
        "Berlin Co": ids["DACH"],
        "Munich Co": ids["Munich"],  # the longer, more specific rule at equal priority
    }
    with store.read() as session:  # the dry run wrote nothing
        assert session.get(Account, ids["Berlin Co"]).territory_id is None  # type: ignore[union-attr]
    journal_before = sqlite3.connect(store.path).execute("SELECT count(*) FROM journal").fetchone()
    with store.write() as tx:
        moves = apply_realign(tx=tx)
    assert len(moves) == 3
    with store.read() as session:
        assert session.get(Account, ids["Munich Co"]).territory_id == ids["Munich"]  # type: ignore[union-attr]
        assert session.get(Account, ids["Pinned Co"]).territory_id == ids["Banks"]  # type: ignore[union-attr]
        # The open deal follows its account.
        assert session.get(Deal, ids["deal"]).territory_id == ids["Munich"]  # type: ignore[union-attr]
        assert plan_realign(session) == []
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT count(*) FROM journal").fetchone()[0] > journal_before[0]
    assert (
        db.execute(
            "SELECT count(*) FROM journal WHERE entity = 'account' AND field = 'territory_id'"
            " AND row_id = ?",
            (ids["Berlin Co"],),
        ).fetchone()[0]
        == 1
    )
