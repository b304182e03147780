"""`crm undo`: a change made in the app is listed and undone from the shell, once, journaled."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from crmtui.screens.daily_context import DailyContext
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import open_store
from tests.cli_commands import run


def _contact(path: Path) -> str:
    store = open_store(path)
    try:
        with store.write() as tx:
            data = ContactCreate(name="Jon Smith", city="Berlin", tags=["vip"])
            return create_contact(tx=tx, data=data, region="DE").id
    finally:
        store.close()


def _edit_in_the_app(path: Path, cid: str, city: str) -> None:
    """The write path of the app (DailyContext.write_undoable), as the edit form uses it."""
    daily = DailyContext(path)
    try:
        data = ContactUpdate(city=city, tags=["vip", "partner"])
        daily.write_undoable(
            f"Edit Jon Smith: {city}",
            lambda tx: update_contact(tx=tx, contact_id=cid, data=data, region="DE"),
        )
    finally:
        daily.close()


def _row(path: Path, cid: str) -> tuple[str, str]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT city, tags FROM contact WHERE id = ?", (cid,)).fetchone()


def test_crm_undo_lists_and_undoes_an_app_change_latest_first(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    cid = _contact(path)
    _edit_in_the_app(path, cid, "Hamburg")
    _edit_in_the_app(path, cid, "Köln")
    listed = run(["undo", "--list", "--format", "json", "--db", str(path)])
    assert listed.code == 0 and listed.error is None
    assert [r["change"] for r in json.loads(listed.out)] == [
        "Edit Jon Smith: Köln",
        "Edit Jon Smith: Hamburg",
    ]
    with sqlite3.connect(path) as db:
        ops = db.execute("SELECT count(*) FROM journal").fetchone()[0]
    done = run(["undo", "--db", str(path)])
    assert done.code == 0 and "undone: Edit Jon Smith: Köln" in done.err
    assert _row(path, cid) == ("Hamburg", '["vip", "partner"]')
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM journal").fetchone()[0] > ops  # syncs
    done = run(["undo", "--db", str(path)])
    assert done.code == 0
    assert _row(path, cid) == ("Berlin", '["vip"]')
    nothing = run(["undo", "--db", str(path)])
    assert nothing.code == 2 and "nothing to undo" in nothing.err


def test_crm_undo_refuses_after_a_later_change_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    cid = _contact(path)
    _edit_in_the_app(path, cid, "Hamburg")
    store = open_store(path)
    with store.write() as tx:  # a later change of the same contact (the shell, a sync)
        update_contact(tx=tx, contact_id=cid, data=ContactUpdate(city="Bonn"), region="DE")
    store.close()
    refused = run(["undo", "--db", str(path)])
    assert refused.code == 2 and refused.error is None
    assert "changed since" in refused.err
    assert _row(path, cid)[0] == "Bonn"
    missing = run(["undo", "0000", "--db", str(path)])
    assert missing.code == 1 and "crm undo --list" in missing.err
