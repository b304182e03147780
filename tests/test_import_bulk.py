"""A bulk import into a small table builds its indexes after the rows: same end state."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.store import bulk
from crmtui.store.bulk import deferred_indexes
from crmtui.store.database import Store, open_store
from crmtui.store.journal import UNJOURNALED, created_fields
from crmtui.store.migrate import upgrade
from crmtui.store.models import Contact
from tests.budget import examples

ROWS = 6_000  # over bulk.DEFER_INDEXES_MIN
CITIES = [("Berlin", "Germany", "030"), ("Paris", "France", "01"), ("Wien", "Austria", "01")]


def _write_csv(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = ["Name,Account Name,Mailing City,Mailing Country,Phone,Mobile,Email,Contact ID"]
    for i in range(rows):
        city, country, area = rng.choice(CITIES)
        mobile = f"+49 151 {30000000 + i}" if i % 2 else ""
        lines.append(
            f"Person {rng.randrange(10**6)},Firm {rng.randrange(300)},{city},{country},"
            f"{area} {2000000 + i},{mobile},p{rng.randrange(10**9)}.{i}@example.com,x{seed}-{i}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _import(store: Store, csv_path: Path) -> None:
    with store.write() as tx:
        plan = plan_import(tx, read_csv(csv_path), region="DE")
        apply_import(tx, plan, source_label="import:test")


def _schema(db: sqlite3.Connection) -> set[tuple[str, str, str, str | None]]:
    # A table rebuilt by a batch migration (0014_intake) lists its foreign keys in an
    # order that varies from run to run (SQLAlchemy keeps them in a set): the same
    # schema, so compare each statement's lines as a sorted tuple.
    def lines(sql: str | None) -> str | None:
        if sql is None:
            return None
        return "\n".join(sorted(line.strip().rstrip(",") for line in sql.splitlines()))

    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    return {(kind, name, table, lines(sql)) for kind, name, table, sql in rows}


def test_deferred_indexes_leave_the_state_of_inserting_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_path = tmp_path / "people.csv"
    _write_csv(csv_path, ROWS, seed=5)
    dbs = {}
    for name, minimum in (("slow", 10**9), ("deferred", bulk.DEFER_INDEXES_MIN)):
        monkeypatch.setattr(bulk, "DEFER_INDEXES_MIN", minimum)
        path = tmp_path / f"{name}.db"
        store = open_store(path)
        _import(store, csv_path)
        store.close()
        dbs[name] = sqlite3.connect(path)
    slow, deferred = dbs["slow"], dbs["deferred"]
    assert _schema(deferred) == _schema(slow)
    # ... though the deferred import did make its indexes anew (they come last now).
    order = "SELECT name FROM sqlite_master ORDER BY rowid"
    assert deferred.execute(order).fetchall() != slow.execute(order).fetchall()
    for db in (slow, deferred):
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # integrity_check has compared every index entry with its row; the indexes answer.
    email = slow.execute("SELECT email FROM contact WHERE external_id = 'x5-77'").fetchone()[0]
    for db in (slow, deferred):
        plan = db.execute("EXPLAIN QUERY PLAN SELECT * FROM contact WHERE email = ?", (email,))
        assert "ix_contact_email" in " ".join(str(r) for r in plan)
        found = db.execute("SELECT external_id FROM contact WHERE email = ?", (email,))
        assert found.fetchall() == [("x5-77",)]
    # The rows themselves, bar the ids and timestamps each import makes anew.
    columns = "name, email, phone, phone_e164, mobile, mobile_e164, city, country, external_id"
    query = f"SELECT {columns} FROM contact ORDER BY external_id"
    assert deferred.execute(query).fetchall() == slow.execute(query).fetchall()
    # The item tables' indexes are deferred too (each gets about a row per contact).
    for db in (slow, deferred):
        by_lower = "SELECT c.external_id FROM contact_email e JOIN contact c ON c.id = e.contact_id"
        by_lower += " WHERE lower(e.address) = ?"
        plan = " ".join(str(r) for r in db.execute(f"EXPLAIN QUERY PLAN {by_lower}", (email,)))
        assert "ix_contact_email_lower" in plan
        assert db.execute(by_lower, (email.upper().lower(),)).fetchall() == [("x5-77",)]
    items = (
        "SELECT c.external_id, t.kind, t.number, t.e164, t.extension, t.is_primary"
        " FROM contact_phone t JOIN contact c ON c.id = t.contact_id ORDER BY 1, 2",
        "SELECT c.external_id, t.address, t.is_primary"
        " FROM contact_email t JOIN contact c ON c.id = t.contact_id ORDER BY 1",
        "SELECT c.external_id, t.city, t.country, t.is_primary"
        " FROM contact_address t JOIN contact c ON c.id = t.contact_id ORDER BY 1",
    )
    for query in items:
        assert deferred.execute(query).fetchall() == slow.execute(query).fetchall()


def _migrated(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "crm.db"
    upgrade(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _insert_contacts(db: sqlite3.Connection, count: int, start: int = 0) -> None:
    db.executemany(
        "INSERT INTO contact (id, name, email, tags, do_not_call, do_not_email, created_at, "
        "updated_at) VALUES (?, ?, ?, '[]', 0, 0, 't', 't')",
        [
            (f"c{i:07d}", f"N {i}", f"{i * 7919 % 100_003}@x.de")
            for i in range(start, start + count)
        ],
    )


def test_statistics_of_the_dropped_indexes_come_back(tmp_path: Path) -> None:
    db = _migrated(tmp_path)
    _insert_contacts(db, 50)
    db.execute("ANALYZE")
    before = db.execute("SELECT * FROM sqlite_stat1 ORDER BY tbl, idx").fetchall()
    assert any(idx == "ix_contact_email" for _, idx, _ in before)
    db.execute("BEGIN IMMEDIATE")
    with deferred_indexes(db, "contact", 6_000) as deferred:
        assert deferred
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "ix_contact_email" not in names
        _insert_contacts(db, 6_000, start=50)
    db.execute("COMMIT")
    assert db.execute("SELECT * FROM sqlite_stat1 ORDER BY tbl, idx").fetchall() == before
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_failure_inside_brings_the_indexes_back_and_a_rollback_keeps_them(
    tmp_path: Path,
) -> None:
    db = _migrated(tmp_path)
    schema = _schema(db)
    db.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.IntegrityError), deferred_indexes(db, "contact", 6_000):
        _insert_contacts(db, 10)
        _insert_contacts(db, 1)  # the same id again
    assert _schema(db) == schema  # back within the transaction, before any rollback
    db.execute("ROLLBACK")
    assert _schema(db) == schema
    assert db.execute("SELECT count(*) FROM contact").fetchone()[0] == 0


def test_a_table_bigger_than_the_insert_keeps_its_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "DEFER_INDEXES_MIN", 10)
    db = _migrated(tmp_path)
    _insert_contacts(db, 120)
    schema = _schema(db)
    db.execute("BEGIN IMMEDIATE")
    with deferred_indexes(db, "contact", 119) as bigger_table:
        assert not bigger_table
        assert _schema(db) == schema
    with deferred_indexes(db, "contact", 120) as as_big:
        assert as_big
        assert _schema(db) != schema
    assert _schema(db) == schema
    db.execute("ROLLBACK")


def test_a_small_table_is_deferred_from_the_minimum(tmp_path: Path) -> None:
    db = _migrated(tmp_path)
    _insert_contacts(db, 120)
    db.execute("BEGIN IMMEDIATE")
    with deferred_indexes(db, "contact", bulk.DEFER_INDEXES_MIN - 1) as below:
        assert not below
    with deferred_indexes(db, "contact", bulk.DEFER_INDEXES_MIN) as at:
        assert at
    db.execute("ROLLBACK")


def test_a_table_with_a_unique_index_keeps_its_indexes(tmp_path: Path) -> None:
    # Dropped, a UNIQUE index would let a duplicate in until the rebuild failed.
    db = sqlite3.connect(tmp_path / "u.db", isolation_level=None)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, name TEXT)")
    db.execute("CREATE UNIQUE INDEX ix_t_code ON t (code)")
    db.execute("CREATE INDEX ix_t_name ON t (name)")
    schema = _schema(db)
    db.execute("BEGIN IMMEDIATE")
    with deferred_indexes(db, "t", bulk.DEFER_INDEXES_MIN) as deferred:
        assert not deferred
        assert _schema(db) == schema
    db.execute("ROLLBACK")


_VALUES = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(allow_nan=False),
    st.datetimes(),
    st.lists(st.text(max_size=2), max_size=2),
    st.tuples(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)


@settings(max_examples=examples(500), deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "name", "tags", "n", "updated_at", "at"]), _VALUES))
def test_created_fields_is_the_plain_filter(values: dict[str, object]) -> None:
    # The filter's shortcut (scalars never equal []) keeps what the plain rule keeps.
    assert created_fields(values) == {
        name: value
        for name, value in values.items()
        if name not in UNJOURNALED and value is not None and value != []
    }


def test_rows_of_blank_cells_are_skipped_and_lines_still_counted(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("Name,Email\nAnna,a@x.de\n,\n \t, \nBo,\n\nCy, c@x.de \n", encoding="utf-8")
    source = read_csv(path)
    assert source.records == [(2, ["Anna", "a@x.de"]), (5, ["Bo", ""]), (7, ["Cy", " c@x.de "])]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.sampled_from(["", " ", "Anna", " Zoë ", "Jean Luc"]), st.sampled_from(["", "Müller", " "])
)
def test_a_name_from_its_parts_joins_the_given_ones(given_name: str, family_name: str) -> None:
    from crmtui.domain.validate import InvalidInput
    from crmtui.formats.csv_import import _row_values

    parts = (given_name.strip(), family_name.strip())
    expected = " ".join(p for p in parts if p)
    try:
        values, _ = _row_values({"given_name": given_name, "family_name": family_name}, "DE")
    except InvalidInput as exc:
        assert not expected and "name: is empty" in exc.message
    else:
        assert values["name"] == expected
        assert (values["given_name"], values["family_name"]) == (parts[0] or None, parts[1] or None)


def test_contact_rows_are_full_rows_of_each_rows_values(store: Store) -> None:
    from crmtui.formats.csv_import import Row, contact_rows
    from crmtui.store.bulk import full_row

    rows = [
        Row(2, {"name": "Anna", "email": "a@x.de", "tags": ["vip"]}, "Firm"),
        Row(3, {"name": "Bo", "source": "fair", "do_not_call": True}, None),
        Row(4, {"name": "Cy", "phone": "030 1", "phone_e164": "+49301", "unknown": 1}, "firm"),
    ]
    accounts = {"firm": "acc-1"}
    with store.write() as tx:
        made = contact_rows(tx, rows, "import:test", accounts)
        for row, contact in zip(rows, made, strict=True):
            values = dict(row.values)
            values["id"] = contact["id"]
            values.setdefault("source", "import:test")
            if row.company:
                values["account_id"] = accounts[row.company.lower()]
            expected = full_row(tx, Contact, values)
            assert list(contact.items()) == list(expected.items())
    assert [c["tags"] for c in made] == [["vip"], [], []]
    assert made[0]["tags"] is not made[1]["tags"]
    assert len({c["id"] for c in made}) == 3


def test_keys_repeated_within_a_file_point_at_their_first_line(store: Store) -> None:
    from crmtui.formats.csv_import import plan_records

    records = [
        (2, {"name": "Anna", "email": "a@x.de", "external_id": "b@x.de"}),
        (3, {"name": "Bo", "email": "b@x.de"}),  # an email equal to another's outside id
        (4, {"name": "Cy", "email": "A@X.de"}),
        (5, {"name": "Di", "phone": "030 1234567"}),
        (6, {"name": "Ed", "mobile": "+49 30 1234567", "external_id": "b@x.de"}),
    ]
    with store.write() as tx:
        rows = plan_records(tx, iter(records), total=len(records), region="DE")
    assert [(r.line, r.action, r.reason) for r in rows] == [
        (2, "new", ""),
        (3, "new", ""),  # kinds of key never match each other
        (4, "duplicate", "same email as line 2"),
        (5, "new", ""),
        (6, "duplicate", "same external id as line 2"),  # the strongest key first
    ]


def test_chunks_and_deferred_indexes_keep_identity_pending_counts_and_undo(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written two rows a chunk with every index deferred: the same person twice in a file
    (by email, in another chunk; by phone and name) is one contact, a colleague on the
    switchboard is another, the pending count is one per record, and undo empties it."""
    from typer.testing import CliRunner

    from crmtui.cli import app
    from crmtui.formats import csv_import

    monkeypatch.setattr(csv_import, "CHUNK", 2)
    monkeypatch.setattr(bulk, "DEFER_INDEXES_MIN", 2)
    source = tmp_path / "people.csv"
    source.write_text(
        "Name,Email,Phone,Company,City,Country\n"
        "Anna Berg,anna@x.example,+49 30 1234567,Acme,Berlin,DE\n"  # line 2
        "Bo Lund,bo@x.example,+49 30 1234567,Acme,Berlin,DE\n"  # switchboard: someone else
        "Cy Ode,,+49 40 7654321,,,\n"  # line 4
        "anna berg,ANNA@X.example,,Acme,,\n"  # line 5: Anna by email, in the third chunk
        "Cy Ode,,+49 40 7654321,,Hamburg,DE\n"  # line 6: Cy by phone and name
        "Di Fenn,di@x.example,,,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["--db", str(db_path), "import", "csv", str(source)])
    assert result.exit_code == 0, result.stderr
    db = sqlite3.connect(db_path)
    names = sorted(r[0] for r in db.execute("SELECT name FROM contact"))
    assert names == ["Anna Berg", "Bo Lund", "Cy Ode", "Di Fenn"]
    assert "same email as line 2" in result.stderr + result.stdout
    emails = db.execute(
        "SELECT lower(address), count(*) FROM contact_email GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert emails == [("anna@x.example", 1), ("bo@x.example", 1), ("di@x.example", 1)]
    # The deferred indexes answer (integrity_check compares each with its table).
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # One pending record per contact and account, whatever items it has.
    pending = dict(db.execute("SELECT entity, records FROM sync_pending_total"))
    assert pending == {"contact": 4, "account": 1}
    # ... and one pending row each (0017): the items' creates count on their contact's.
    rows = db.execute("SELECT entity, count(*) FROM sync_pending GROUP BY 1").fetchall()
    assert dict(rows) == {"contact": 4, "account": 1}
    # New contacts' items have UUIDv7 ids (one batch a chunk), not ids derived by sha1.
    for table in ("contact_phone", "contact_email", "contact_address"):
        ids = [r[0] for r in db.execute(f"SELECT id FROM {table}")]
        assert ids and all(i[14] == "7" for i in ids), table
    (batch,) = db.execute("SELECT id FROM import_batch").fetchone()
    result = runner.invoke(app, ["--db", str(db_path), "import", "undo", batch])
    assert result.exit_code == 0, result.stderr
    live = "SELECT count(*) FROM {} WHERE deleted_at IS NULL"
    for table in ("contact", "contact_phone", "contact_email", "contact_address", "account"):
        assert db.execute(live.format(table)).fetchone() == (0,), table
