"""Engine pragmas and the write transaction's locking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from crmtui.store.database import Store, open_store


def test_pragmas_are_set_on_every_connection(durable_pragmas: None, db_path: Path) -> None:
    # The product's pragmas: the suite turns off the fsync elsewhere (conftest).
    store = open_store(db_path)
    try:
        with store.read() as session:
            conn = session.connection()
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        store.close()


def test_the_sqlite_server_commits_durably(durable_pragmas: None, tmp_path: Path) -> None:
    from crmtui.server.db import make_server_engine

    engine = make_server_engine(str(tmp_path / "server.db"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        engine.dispose()


def test_the_suite_runs_sqlite_without_fsync(store: Store) -> None:
    # conftest's _sqlite_without_fsync: the only pragma the tests change.
    with store.read() as session:
        assert session.connection().execute(text("PRAGMA synchronous")).scalar() == 0


def test_write_takes_the_write_lock_before_any_statement(store: Store, db_path: Path) -> None:
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        with store.write() as tx:
            tx.session.connection()  # begin, without writing anything yet
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_reads_do_not_take_the_write_lock(store: Store, db_path: Path) -> None:
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        with store.read() as session:
            session.connection().execute(text("SELECT count(*) FROM contact")).scalar()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_foreign_keys_are_enforced(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    from crmtui.store.models import Contact

    with pytest.raises(IntegrityError), store.write() as tx:
        tx.add(Contact(name="Orphan", account_id="00000000-0000-7000-8000-000000000000"))
    with store.read() as session:
        assert session.connection().execute(text("SELECT count(*) FROM journal")).scalar() == 0


def test_rows_added_in_one_transaction_insert_in_the_order_added(store: Store) -> None:
    # Parents before children, whatever the mapper order: no ORM relationships here.
    from crmtui.store.models import Contact, Deal, Lead, Pipeline, Stage

    with store.write() as tx:
        pipeline = Pipeline(name="Sales")
        tx.add(pipeline)
        stage = Stage(pipeline_id=pipeline.id, name="Lead In", position=0)
        tx.add(stage)
        deal = Deal(name="Big one", pipeline_id=pipeline.id, stage_id=stage.id)
        tx.add(deal)
        contact = Contact(name="Jon Smith")
        tx.add(contact)
        tx.add(Lead(name="Jon", converted_deal_id=deal.id, converted_contact_id=contact.id))
    with store.read() as session:
        assert session.connection().execute(text("SELECT count(*) FROM lead")).scalar() == 1
