"""Migrations: models and migrations agree; upgrades keep data and back up first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from crmtui.search.search_schema import is_search_table
from crmtui.store import models  # noqa: F401
from crmtui.store.database import open_store
from crmtui.store.engine import make_engine
from crmtui.store.migrate import current_revision, head_revision, upgrade
from crmtui.store.schema_version import SCHEMA_HEAD

FIRST_REVISION = "0001_initial"


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    return not (type_ == "table" and name is not None and is_search_table(name))


def test_schema_head_constant_matches_alembic() -> None:
    assert head_revision() == SCHEMA_HEAD


@pytest.mark.filterwarnings(
    # SQLAlchemy does not reflect SQLite expression indexes; the next test checks it.
    "ignore:Skipped unsupported reflection of expression-based index ix_contact_email_lower"
)
def test_upgraded_empty_database_matches_the_models(db_path: Path) -> None:
    upgrade(db_path)
    engine = make_engine(db_path)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _include_name}
        )
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_emails_are_found_by_lowercase_through_an_index(db_path: Path) -> None:
    upgrade(db_path)
    db = sqlite3.connect(db_path)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT contact_id FROM contact_email WHERE lower(address) = ?",
        ("ann@x.de",),
    ).fetchall()
    db.close()
    assert "ix_contact_email_lower" in " ".join(str(r) for r in plan)


def _seed_first_revision(path: Path) -> None:
    """Rows written with the column set of the first revision, in raw SQL."""
    db = sqlite3.connect(path)
    ts = "2026-01-02T03:04:05.000000Z"
    db.execute(
        "INSERT INTO account (id, name, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        ("01a00000-0000-7000-8000-000000000001", "Acme", "[]", ts, ts),
    )
    db.execute(
        "INSERT INTO contact (id, name, account_id, phone, phone_e164, tags, do_not_call, "
        "do_not_email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, ?)",
        (
            "01a00000-0000-7000-8000-000000000002",
            "Anna Müller",
            "01a00000-0000-7000-8000-000000000001",
            "0151 1234 5678",
            "+4915112345678",
            '["vip"]',
            ts,
            ts,
        ),
    )
    db.execute(
        "INSERT INTO journal (id, tx_id, hlc, device_id, entity, row_id, op, field, value, "
        "created_at) VALUES ('j1', 't1', '1767322845000-00000', 'd1', 'contact', "
        "'01a00000-0000-7000-8000-000000000002', 'create', NULL, NULL, ?)",
        (ts,),
    )
    db.commit()
    db.close()


def _dump(path: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(path)
    out = {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("account", "contact", "journal")
    }
    db.close()
    return out


def test_first_revision_with_rows_upgrades_to_head_intact(db_path: Path) -> None:
    upgrade(db_path, FIRST_REVISION)
    _seed_first_revision(db_path)
    before = _dump(db_path)
    store = open_store(db_path)
    store.close()
    assert current_revision(db_path) == SCHEMA_HEAD
    after = _dump(db_path)
    # 0007 journals the creates of the items it makes from the old columns (a phone here).
    made = [r for r in after["journal"] if r[4] == "contact_phone"]
    assert len(made) == 1
    after["journal"] = [r for r in after["journal"] if r not in made]
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        # Columns added later come after the old ones; the old values are untouched.
        for old, new in zip(rows, after[table], strict=True):
            assert new[: len(old)] == old
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_upgrading_an_existing_file_writes_a_backup_first(db_path: Path) -> None:
    upgrade(db_path, FIRST_REVISION)
    _seed_first_revision(db_path)
    # Go below the first revision so that an upgrade has work to do on a non-empty file.
    from alembic import command

    from crmtui.store.migrate import _alembic_config

    command.downgrade(_alembic_config(db_path), "base")
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE keepsake (note TEXT)")
    db.execute("INSERT INTO keepsake VALUES ('written before the upgrade')")
    db.commit()
    db.close()
    made = upgrade(db_path)
    assert made is not None and made.exists()
    assert made.name.startswith(f"{db_path.name}.bak-none-")
    copy = sqlite3.connect(made)
    assert copy.execute("SELECT note FROM keepsake").fetchone()[0] == "written before the upgrade"
    assert current_revision(db_path) == SCHEMA_HEAD


def test_opening_an_up_to_date_database_makes_no_backup(db_path: Path) -> None:
    open_store(db_path).close()
    open_store(db_path).close()
    assert sorted(p.name for p in db_path.parent.iterdir() if ".bak-" in p.name) == []


def test_fresh_database_gets_the_search_tables(db_path: Path) -> None:
    open_store(db_path).close()
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT name FROM sqlite_master")}
    assert {"search_doc", "search_fts", "search_term", "search_term_del"} <= names
