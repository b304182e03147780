"""No dead ends from size: every change fits the server's limits, or is refused where it is made.

Against a real server over HTTP (uvicorn), as the other end-to-end tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmtui.domain.validate import InvalidInput
from crmtui.server import admin
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.store import journal
from crmtui.store.database import open_store
from crmtui.store.models import Contact
from crmtui.sync.client import pending_count
from crmtui.sync.wire import MAX_BODY_BYTES, MAX_VALUE_CHARS
from tests.test_sync_cli import _crm
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)

CAP = CallCap(3, 30)


def _enrol(url: str, engine: object, db: Path) -> None:
    admin.add_territory(engine, "North")  # type: ignore[arg-type]
    admin.add_rep(engine, "ann", "rep", ["North"])  # type: ignore[arg-type]
    token = admin.issue_token(engine, "ann", "ann-laptop").token  # type: ignore[arg-type]
    login = _crm(db, "sync", "login", "--server", url, "--token", token)
    assert login.code == 0, login.err


def _server_notes(engine: object) -> list[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.exec_driver_sql(
            "SELECT value FROM srv_field WHERE entity = 'contact' AND field = 'notes'"
        ).scalars()
        return [json.loads(v) for v in rows]


def test_long_notes_are_pushed_in_batches_that_fit_the_body_limit(
    live_server,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, engine = live_server
    db = tmp_path / "ann.db"
    _enrol(url, engine, db)
    note = "é" * 10_000  # the most a contact's notes hold; 60 KB as the push body writes it
    count = MAX_BODY_BYTES // 60_000 + 20  # one batch of them (500) would be over 8 MiB
    store = open_store(db)
    with store.write() as tx:
        people = [
            create_contact(tx=tx, data=ContactCreate(name=f"Long {i}"), region="DE")
            for i in range(count)
        ]
    assert _crm(db, "sync").code == 0
    # One edit each: `count` set ops, far fewer than a batch's 500, over 8 MiB together.
    with store.write() as tx:
        for person in people:
            update_contact(tx=tx, contact_id=person.id, data=ContactUpdate(notes=note), region="DE")
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Later"), region="DE")
    done = _crm(db, "sync")
    assert done.code == 0, done.err
    assert pending_count(store) == 0
    assert _server_notes(engine) == [note] * count
    store.close()


def test_a_value_the_server_would_never_take_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    # Within the local limit (20,000 characters), but each control character is
    # written as `\u0007` in JSON: 70,002 characters, more than the server takes.
    text = "a\x07" * 10_000
    store = open_store(tmp_path / "ann.db")
    try:
        with store.write() as tx:
            jane = create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
        before = pending_count(store)
        with (
            # The activity service now refuses control characters in a text (it takes
            # several lines since the mail work), before the size: either way the write
            # is refused where it is made, naming the field, and nothing is stored.
            pytest.raises(InvalidInput, match=r"text: holds control characters"),
            store.write() as tx,
        ):
            log_activity(
                tx=tx, data=ActivityCreate(kind="call", contact_id=jane.id, text=text), cap=CAP
            )
        with store.write() as tx:
            note, _ = log_activity(
                tx=tx, data=ActivityCreate(kind="call", contact_id=jane.id, text="short"), cap=CAP
            )
        with pytest.raises(InvalidInput, match="at most 65,536"), store.write() as tx:
            tx.update(note, {"text": text})
        with store.write() as tx:  # a long text that fits is fine
            tx.update(note, {"text": "é" * 20_000})
        with store.engine.connect() as conn:
            longest = conn.exec_driver_sql("SELECT max(length(value)) FROM journal").scalar()
            activities = conn.exec_driver_sql("SELECT count(*) FROM activity").scalar()
        assert longest is not None and longest <= MAX_VALUE_CHARS and activities == 1
        assert pending_count(store) > before
    finally:
        store.close()


def test_a_too_long_op_already_journaled_never_blocks_the_queue(
    live_server,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = live_server
    db = tmp_path / "ann.db"
    _enrol(url, engine, db)
    store = open_store(db)
    long = "z" * (MAX_VALUE_CHARS + 5)
    # As an older crmtui wrote it: no check at write time.
    with monkeypatch.context() as m:
        m.setattr(journal, "check_synced_size", lambda *_a: None)
        m.setattr(journal, "check_created_sizes", lambda *_a: None)
        with store.write() as tx:
            big = Contact(name="Big", notes=long)
            tx.add(big)
        with store.write() as tx:
            jane = create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
            tx.update(jane, {"notes": long})
    with store.write() as tx:
        update_contact(tx=tx, contact_id=jane.id, data=ContactUpdate(city="York"), region="DE")
    done = _crm(db, "sync")
    assert done.code == 0, done.err
    assert pending_count(store) == 0
    assert f"contact {big.id} notes:" in done.err and "shorten it" in done.err
    assert f"contact {jane.id} notes:" in done.err
    with engine.connect() as conn:
        names = sorted(
            conn.exec_driver_sql(
                "SELECT value FROM srv_field WHERE entity = 'contact' AND field = 'name'"
            ).scalars()
        )
        city = conn.exec_driver_sql(
            "SELECT value FROM srv_field WHERE field = 'city' AND row_id = ?", (jane.id,)
        ).scalar()
    assert names == ['"Big"', '"Jane"'] and city == '"York"'
    assert _server_notes(engine) == []
    # The way out: shorten it; the shorter note syncs.
    with store.write() as tx:
        update_contact(tx=tx, contact_id=big.id, data=ContactUpdate(notes="short"), region="DE")
    assert _crm(db, "sync").code == 0
    assert _server_notes(engine) == ["short"]
    store.close()
