"""CSV import: profiles, encodings, delimiters, matching, dry run and all-or-nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.validate import InvalidInput, normalize_email
from crmtui.formats.csv_import import CsvImportError, apply_import, plan_import, read_csv
from crmtui.formats.csv_profiles import detect_profile, map_headers
from crmtui.formats.import_checks import check_email
from crmtui.search.lookup import search_contacts
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.reindex import contact_document
from crmtui.store.database import Store
from crmtui.store.models import Account, Contact
from tests.journal_support import logical_journal

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _count(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def _invoke(db_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db_path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_salesforce_report_imports_with_accounts_phones_and_search(
    store: Store, db_path: Path
) -> None:
    code, _out, err = _invoke(db_path, "import", "csv", str(DATA / "salesforce_contacts.csv"))
    assert code == 0, err
    assert "profile salesforce" in err
    db = sqlite3.connect(db_path)
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT name, given_name, family_name, email, phone_e164, mobile_e164, country, "
            "external_id, (SELECT name FROM account WHERE id = account_id) FROM contact"
        )
    }
    assert rows["Anna Müller"] == (
        "Anna", "Müller", "anna.mueller@nordwind-logistik.de", "+49403012345", "+4915123456789",
        "DE", "0035g00000Xa1AAA", "Nordwind Logistik GmbH",
    )  # fmt: skip
    # A national number is read in the row's own country, not the default region.
    assert rows["Li Wei"][3] == "+14155550132"
    assert rows["Sophie Martin"][3:5] == ("+33472000000", "+33612345678")
    assert rows["Sophie Martin"][7] is None
    assert db.execute("SELECT count(*) FROM account").fetchone()[0] == 3
    with store.read() as session:
        raw = session.connection().connection.driver_connection
        hits = search_contacts(raw, "garcia")  # type: ignore[arg-type]
    assert [h.name for h in hits] == ["José García López"]


def test_bulk_journal_has_the_shape_of_a_service_create(store: Store, db_path: Path) -> None:
    with store.write() as tx:
        made = create_contact(
            tx=tx,
            data=ContactCreate(name="Ola Nordmann", email="ola@fjord.no", phone="+47 22 12 34 56"),
            region="DE",
        )
    csv_file = db_path.parent / "one.csv"
    csv_file.write_text("Name,Email,Phone\nOla Nordmann,ola2@fjord.no,+47 22 12 34 57\n")
    with store.write() as tx:
        plan = plan_import(tx, read_csv(csv_file), region="DE")
        apply_import(tx, plan, source_label="import:generic")
    db = sqlite3.connect(db_path)
    imported = db.execute("SELECT id FROM contact WHERE email = 'ola2@fjord.no'").fetchone()[0]

    def fields(row_id: str) -> list[tuple[str, str | None]]:
        return [(op, f) for _, op, f, _, _ in logical_journal(db, "row_id = ?", (row_id,))]

    # Both store a create as one packed row (journal.py) ...
    for row_id in (imported, made.id):
        rows = db.execute("SELECT op, field FROM journal WHERE row_id = ?", (row_id,)).fetchall()
        assert rows == [("create", None)]
    # ... standing for the same ops in the same order; the import adds only `source`.
    assert [f for f in fields(imported) if f != ("set", "source")] == fields(made.id)
    values = {f: v for _, op, f, v, _ in logical_journal(db, "row_id = ?", (imported,))}
    assert values["phone_e164"] == '"+4722123457"'
    assert values["do_not_call"] == "false"
    hlcs = [r[0] for r in db.execute("SELECT hlc FROM journal")]
    assert len(hlcs) == len(set(hlcs)), "every journal row gets its own clock reading"


def test_imported_search_entries_are_what_reindexing_each_contact_writes(
    store: Store, db_path: Path
) -> None:
    code, _out, err = _invoke(db_path, "import", "csv", str(DATA / "salesforce_contacts.csv"))
    assert code == 0, err
    db = sqlite3.connect(db_path)
    stored = db.execute(
        "SELECT d.ref_id, d.archived, f.name, f.company, f.email, f.phones, f.city, f.tags "
        "FROM search_doc d JOIN search_fts f ON f.rowid = d.doc ORDER BY d.ref_id"
    ).fetchall()
    expected = []
    with store.read() as session:
        for contact in session.exec(select(Contact).order_by(Contact.id)):
            account = session.get(Account, contact.account_id) if contact.account_id else None
            document = contact_document(contact, account.name if account else None)
            expected.append((contact.id, int(document.archived), *document.columns()))
    assert len(stored) == 4 and any(row[3] for row in stored)
    assert stored == expected


def test_cp1252_semicolon_hubspot_export(store: Store, db_path: Path) -> None:
    source = read_csv(DATA / "hubspot_contacts_cp1252.csv")
    assert (source.encoding, source.delimiter) == ("cp1252", ";")
    assert detect_profile(source.headers) == "hubspot"
    with store.write() as tx:
        plan = plan_import(tx, source, region="DE")
        apply_import(tx, plan, source_label="import:hubspot")
    db = sqlite3.connect(db_path)
    names = {r[0]: r[1] for r in db.execute("SELECT name, city FROM contact")}
    assert names == {"Jürgen Schäfer": "Köln", "Françoise Dupont": "Paris"}


def test_utf8_bom_tab_pipedrive_with_non_latin_names_and_labels(
    store: Store, db_path: Path
) -> None:
    source = read_csv(DATA / "pipedrive_persons.tsv")
    assert (source.encoding, source.delimiter) == ("utf-8-sig", "\t")
    assert source.headers[0] == "Person - Name"
    with store.write() as tx:
        plan = plan_import(tx, source, region="DE")
        assert plan.mapping is not None and plan.mapping.profile == "pipedrive"
        apply_import(tx, plan, source_label="import:pipedrive")
    db = sqlite3.connect(db_path)
    row = db.execute(
        "SELECT tags, phone_e164, external_id FROM contact WHERE name = '王芳'"
    ).fetchone()
    assert row == ('["hot-lead", "vip"]', "+861065529988", "901")


def test_undecodable_bytes_name_the_line(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Name,Email\nAnna,a@b.de\nBob\x81\x8d,b@c.de\n")
    with pytest.raises(CsvImportError, match=r"line 3: byte 0x81"):
        read_csv(bad)
    code, _, err = _invoke(db_path, "import", "csv", str(bad))
    assert code == 2 and "line 3" in err and "nothing was imported" in err


def test_a_rejected_row_imports_nothing_unless_skip_bad(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "mixed.csv"
    f.write_text(
        "Name,Email,Phone,Company\n"
        "Anna Müller,anna@x.de,030 1234567,Acme\n"
        ",bob@x.de,,Acme\n"
        "Carla Rossi,carla@x.it,+39 06 1234 5678,Roma SpA\n",
        encoding="utf-8",
    )
    code, out, err = _invoke(db_path, "import", "csv", str(f))
    assert code == 2
    assert "line 3: rejected: name: is empty" in out
    assert "nothing was imported" in err
    for table in ("contact", "account", "journal"):
        assert _count(db_path, table) == 0, table
    code, out, err = _invoke(db_path, "import", "csv", str(f), "--skip-bad")
    assert code == 0, err
    assert _count(db_path, "contact") == 2
    assert _count(db_path, "account") == 2


def test_dry_run_shows_updates_with_changed_fields_and_writes_nothing(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx,
            data=ContactCreate(name="Anna Müller", email="anna@x.de", title="CEO"),
            region="DE",
        )
    f = tmp_path / "u.csv"
    f.write_text(
        "Name,Email,Title,Phone\n"
        "Anna Müller,ANNA@x.de,CFO,\n"  # matched by email (case-insensitive)
        "Anna Mueller-Schmidt,anna@x.de,CTO,\n"  # repeats line 2's email
        "Anna Müller,,,+49 30 999999\n",  # same name, no key: probable duplicate
        encoding="utf-8",
    )
    before = _count(db_path, "journal")
    code, out, _ = _invoke(db_path, "import", "csv", str(f), "--dry-run", "--update-existing")
    assert code == 0
    assert "line 2: update: Anna Müller" in out and "title: 'CEO' -> 'CFO'" in out
    assert "line 3: duplicate, skipped" in out and "same email as line 2" in out
    assert "line 4: probable duplicate: Anna Müller (same name as contact" in out
    assert _count(db_path, "journal") == before
    code, _, err = _invoke(db_path, "import", "csv", str(f), "--update-existing")
    assert code == 0, err
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM contact").fetchone()[0] == 2
    title_ops = [v for _, _, f, v, _ in logical_journal(db) if f == "title"]
    assert title_ops == ['"CEO"', '"CFO"']


def test_without_update_existing_a_match_is_left_alone(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx, data=ContactCreate(name="Li Wei", phone="+1 415 555 0132"), region="US"
        )
    f = tmp_path / "m.csv"
    f.write_text("Name,Phone,City,Country\nLi Wei,(415) 555-0132,Oakland,USA\n")
    code, out, _ = _invoke(db_path, "import", "csv", str(f))
    assert code == 0
    assert "matches (use --update-existing)" in out
    assert sqlite3.connect(db_path).execute("SELECT city FROM contact").fetchone() == (None,)


def test_map_option_and_fuzzy_headers(tmp_path: Path) -> None:
    mapping = map_headers(["Nme", "E-Mail-Adresse", "Firma", "Notiz intern"], profile="generic")
    fields = {
        h: mapping.columns.get(i)
        for i, h in enumerate(["Nme", "E-Mail-Adresse", "Firma", "Notiz intern"])
    }
    assert fields["Firma"] == "company"
    assert fields["Nme"] == "name"  # one typo away
    assert "Notiz intern" in mapping.ignored
    mapping = map_headers(
        ["Who", "Mail"], profile="generic", overrides={"Who": "name", "Mail": "email"}
    )
    assert mapping.columns == {0: "name", 1: "email"}


def test_missing_name_column_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "n.csv"
    f.write_text("Email,Phone\na@b.de,\n")
    with store.write() as tx, pytest.raises(CsvImportError, match="no column gives the name"):
        plan_import(tx, read_csv(f), region="DE")


@pytest.mark.parametrize(
    "address",
    [
        "anna.mueller@Nordwind-Logistik.DE",
        "o'brien+crm@example.ie",
        "x@localhost",
        "a..b@example.com",
        ".a@example.com",
        "a@-bad.com",
        "a@b.c",
        "user@sub.domain.museum",
        "user@example.test",
        "用户@例子.广告",
        "a@123.45",
        ("x" * 65) + "@example.com",
    ],
)
def test_fast_email_check_agrees_with_the_service_rule(address: str) -> None:
    try:
        expected: str | None = normalize_email(address)
    except InvalidInput:
        expected = None
    try:
        got: str | None = check_email(address)
    except InvalidInput:
        got = None
    assert got == expected


def test_batched_clock_readings_increase_and_carry(store: Store) -> None:
    from crmtui.domain.hlc import HLC

    with store.write() as tx:
        far = time_ms() + 60_000  # a clock reading ahead of the wall clock
        tx._clock = HLC(far, 99_998)
        hlcs = tx.next_hlcs(5)
        after = tx.next_hlc()
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == 5
    assert hlcs[0] == HLC(far, 99_999).encode()
    assert hlcs[1] == HLC(far + 1, 0).encode()  # carried into the next millisecond
    assert after > hlcs[-1]


def time_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def test_uuid7_batch_is_ordered_and_well_formed() -> None:
    from crmtui.domain.ids import is_uuid
    from crmtui.store.bulk import uuid7_batch

    ids = uuid7_batch(1000)
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert all(is_uuid(i) and i[14] == "7" and i[19] in "89ab" for i in ids)


def test_unclosed_quote_names_its_line_and_multiline_notes_are_kept(
    store: Store, tmp_path: Path
) -> None:
    broken = tmp_path / "q.csv"
    broken.write_text('Name,Email\nAnna,a@b.de\n"Bob,b@c.de\nCarl,c@d.de\n')
    with pytest.raises(CsvImportError, match=r"line 3: .*never closed"):
        read_csv(broken)
    notes = tmp_path / "n.csv"
    notes.write_text('Name,Description\n"Anna   Müller","first line\nsecond line"\n')
    with store.write() as tx:
        plan = plan_import(tx, read_csv(notes), region="DE")
    (row,) = plan.rows
    assert row.values["name"] == "Anna Müller"
    assert row.values["notes"] == "first line / second line"
