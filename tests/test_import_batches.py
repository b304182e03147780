"""Import batches: recorded with the import, listed, undone (journaled) without
overwriting later work, here or pulled from a colleague; rejected-rows files."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.hlc import HLC
from crmtui.search.lookup import search_contacts
from crmtui.services.address_book.accounts import AccountUpdate, update_account
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.store.database import Store
from crmtui.store.migrate import upgrade
from crmtui.sync.apply_remote import apply_changes
from crmtui.sync.wire import Change

runner = CliRunner()
HEADER = "Name,Email,Title,Company\n"


def _invoke(db_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db_path), *args])
    return result.exit_code, result.stdout, result.stderr


def _db(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path)


def _batches(db_path: Path) -> list[str]:
    return [r[0] for r in _db(db_path).execute("SELECT id FROM import_batch ORDER BY created_at")]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _seed_and_import(store: Store, db_path: Path, tmp_path: Path) -> tuple[str, str]:
    """Ada stored by hand; a file that changes her title and adds Grace. Returns (ada, batch)."""
    with store.write() as tx:
        ada = create_contact(
            tx=tx,
            data=ContactCreate(name="Ada Lovelace", email="ada@example.com", title="Analyst"),
            region="DE",
        ).id
    store.close()
    csv = _write(
        tmp_path / "people.csv",
        HEADER
        + "Ada Lovelace,ada@example.com,Countess,\nGrace Hopper,grace@example.com,Admiral,Navy\n",
    )
    code, _out, err = _invoke(db_path, "import", "csv", str(csv), "--update-existing")
    assert code == 0, err
    (batch,) = _batches(db_path)
    assert f"batch {batch}" in err
    return ada, batch


def test_an_import_records_its_batch_with_what_it_created_and_changed(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    db = _db(db_path)
    row = db.execute(
        "SELECT kind, created, changed, rejected, undone_at, file FROM import_batch WHERE id = ?",
        (batch,),
    ).fetchone()
    assert row[:5] == ("csv contacts", 2, 1, 0, None)  # Grace and the Navy account; Ada
    assert row[5].endswith("people.csv")
    items = db.execute(
        "SELECT entity, field, before, after FROM import_batch_item WHERE batch_id = ? "
        "AND row_id = ?",
        (batch, ada),
    ).fetchall()
    assert items == [("contact", "title", '"Analyst"', '"Countess"')]
    created = {r[0] for r in db.execute(
        "SELECT entity FROM import_batch_item WHERE batch_id = ? AND field IS NULL", (batch,)
    )}  # fmt: skip
    assert created == {"contact", "account", "contact_email"}  # the email is its own item
    code, out, _err = _invoke(db_path, "import", "list")
    assert code == 0
    assert batch in out and "csv contacts" in out and "created 2, changed 1, rejected 0" in out


def test_undo_removes_what_it_created_and_restores_what_it_changed_through_the_journal(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    db = _db(db_path)
    grace = db.execute("SELECT id FROM contact WHERE name = 'Grace Hopper'").fetchone()[0]
    navy = db.execute("SELECT id FROM account WHERE name = 'Navy'").fetchone()[0]
    before = db.execute("SELECT count(*) FROM journal").fetchone()[0]
    code, out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 0, err
    assert f"remove contact Grace Hopper [{grace}] (with 1 phone/email/address item)" in out
    assert f"remove account Navy [{navy}]" in out
    assert f"restore contact {ada} title" in out
    db = _db(db_path)
    assert db.execute("SELECT title FROM contact WHERE id = ?", (ada,)).fetchone() == ("Analyst",)
    assert db.execute(
        "SELECT deleted_at IS NOT NULL FROM contact WHERE id = ?", (grace,)
    ).fetchone() == (1,)
    assert db.execute(
        "SELECT deleted_at IS NOT NULL FROM account WHERE id = ?", (navy,)
    ).fetchone() == (1,)
    # The undo is ordinary journal ops (so it syncs): a set back to the old title, two deletes.
    ops = db.execute(
        "SELECT entity, row_id, op, field, value FROM journal ORDER BY rowid LIMIT -1 OFFSET ?",
        (before,),
    ).fetchall()
    assert ("contact", ada, "set", "title", '"Analyst"') in ops
    assert ("contact", grace, "delete", None, None) in ops
    assert ("account", navy, "delete", None, None) in ops
    # ... waiting to be pushed, like any edit.
    assert db.execute(
        "SELECT count(*) FROM journal WHERE rowid > ? AND pushed_at IS NULL", (before,)
    ).fetchone() == (len(ops),)
    assert db.execute("SELECT undone_at IS NOT NULL FROM import_batch").fetchone() == (1,)
    report = json.loads(db.execute("SELECT undo_report FROM import_batch").fetchone()[0])
    assert report["kept"] == []
    # Gone from search too.
    assert [c.name for c in search_contacts(_db(db_path), "Grace")] == []


def test_undo_twice_exits_2_and_an_unknown_batch_exits_1(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    _ada, batch = _seed_and_import(store, db_path, tmp_path)
    assert _invoke(db_path, "import", "undo", batch)[0] == 0
    journal = _db(db_path).execute("SELECT count(*) FROM journal").fetchone()[0]
    code, _out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 2
    assert "undone already" in err and "nothing was written" in err
    assert _db(db_path).execute("SELECT count(*) FROM journal").fetchone()[0] == journal
    code, _out, err = _invoke(db_path, "import", "undo", "0000dead")
    assert code == 1 and "no import batch" in err


def test_undo_dry_run_names_everything_and_writes_nothing(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    journal = _db(db_path).execute("SELECT count(*) FROM journal").fetchone()[0]
    code, out, err = _invoke(db_path, "import", "undo", batch, "--dry-run")
    assert code == 0, err
    assert f"restore contact {ada} title" in out and "nothing was written" in err
    db = _db(db_path)
    assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == journal
    assert db.execute("SELECT title FROM contact WHERE id = ?", (ada,)).fetchone() == ("Countess",)
    assert db.execute("SELECT undone_at FROM import_batch").fetchone() == (None,)


def test_undo_leaves_a_field_changed_here_since_and_keeps_an_edited_record(
    db_path: Path, store: Store, tmp_path: Path
) -> None:
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    from crmtui.store.database import open_store

    again = open_store(db_path)
    grace = _db(db_path).execute("SELECT id FROM contact WHERE name = 'Grace Hopper'").fetchone()[0]
    with again.write() as tx:
        update_contact(tx=tx, contact_id=ada, data=ContactUpdate(title="Poet"), region="DE")
        update_contact(tx=tx, contact_id=grace, data=ContactUpdate(city="Arlington"), region="DE")
    again.close()
    code, out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 0, err
    assert f"kept contact {ada} title: changed since the import" in out
    assert f"kept contact {grace}: edited since the import" in out
    # Navy stays: Grace, who stays, works there.
    assert "kept account" in out and "links to it" in out
    db = _db(db_path)
    assert db.execute("SELECT title FROM contact WHERE id = ?", (ada,)).fetchone() == ("Poet",)
    assert db.execute("SELECT deleted_at FROM contact WHERE id = ?", (grace,)).fetchone() == (None,)


def _pull_title(db_path: Path, contact_id: str, value: str) -> None:
    """A colleague's later title edit, applied through sync's pull path (as `crm sync` does)."""
    from crmtui.store.database import open_store

    again = open_store(db_path)
    device = (
        _db(db_path).execute("SELECT value FROM local_meta WHERE key = 'device_id'").fetchone()[0]
    )
    later = HLC(time.time_ns() // 1_000_000 + 60_000, 0).encode()
    pulled = Change(
        seq=1, kind="set", entity="contact", row_id=contact_id, field="title", value=value,
        hlc=later, device_id="01900000-0000-7000-8000-00000000c011",
    )  # fmt: skip
    try:
        apply_changes(again, device, [pulled], [], 1, later)
    finally:
        again.close()


def test_undo_leaves_a_field_a_colleague_changed_since_pulled_by_sync(
    db_path: Path, store: Store, tmp_path: Path
) -> None:
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    _pull_title(db_path, ada, '"Chief Analyst"')
    assert _db(db_path).execute("SELECT title FROM contact WHERE id = ?", (ada,)).fetchone() == (
        "Chief Analyst",
    )
    code, out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 0, err
    assert f"kept contact {ada} title: changed since the import" in out
    assert _db(db_path).execute("SELECT title FROM contact WHERE id = ?", (ada,)).fetchone() == (
        "Chief Analyst",
    )


def test_a_pulled_change_that_set_the_same_value_still_counts_as_changed_since(
    db_path: Path, store: Store, tmp_path: Path
) -> None:
    """The journal, not only the value, decides: a colleague's later op on the field wins."""
    ada, batch = _seed_and_import(store, db_path, tmp_path)
    _pull_title(db_path, ada, '"Countess"')
    code, out, _err = _invoke(db_path, "import", "undo", batch, "--dry-run")
    assert code == 0
    assert f"kept contact {ada} title: changed since the import" in out


def test_an_imported_account_a_deal_was_opened_on_since_is_kept(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    csv = _write(
        tmp_path / "accounts.csv", "Account Name,Billing City\nInitech,Austin\nHooli,Palo Alto\n"
    )
    assert _invoke(db_path, "import", "accounts", str(csv))[0] == 0
    (batch,) = _batches(db_path)
    db = _db(db_path)
    initech = db.execute("SELECT id FROM account WHERE name = 'Initech'").fetchone()[0]
    hooli = db.execute("SELECT id FROM account WHERE name = 'Hooli'").fetchone()[0]
    from crmtui.store.database import open_store

    again = open_store(db_path)
    with again.write() as tx:
        deal = create_deal(tx=tx, data=DealCreate(name="TPS reports", account_id=initech)).id
        update_account(tx=tx, account_id=hooli, data=AccountUpdate(industry="Tech"), region="US")
    again.close()
    code, out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 0, err
    assert f"kept account {initech}: a deal not from this import links to it [{deal}]" in out
    assert f"kept account {hooli}: edited since the import" in out
    assert _db(db_path).execute(
        "SELECT count(*) FROM account WHERE deleted_at IS NULL"
    ).fetchone() == (2,)


def test_rejected_rows_file_can_be_fixed_and_imported(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    csv = _write(
        tmp_path / "people.csv",
        HEADER + "Ada Lovelace,ada@example.com,,\n,bad@example.com,,\nNo Email,,Clerk,\n",
    )
    code, _out, err = _invoke(db_path, "import", "csv", str(csv), "--skip-bad")
    assert code == 0, err
    rejects = tmp_path / "people.rejects.csv"
    assert f"rejected rows written to {rejects}" in err
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Name,Email,Title,Company,reason"
    assert len(lines) == 2 and lines[1].startswith(",bad@example.com,,,") and "name" in lines[1]
    (batch,) = _batches(db_path)
    assert _db(db_path).execute("SELECT rejected, rejects_path FROM import_batch").fetchone() == (
        1,
        str(rejects),
    )
    # The user fills in the name in the rejects file and imports that file.
    rejects.write_text(
        rejects.read_text(encoding="utf-8").replace("\n,bad@", "\nBad Email,bad@"),
        encoding="utf-8",
    )
    code, _out, err = _invoke(db_path, "import", "csv", str(rejects))
    assert code == 0, err
    assert "not imported: columns reason" in err
    assert _db(db_path).execute(
        "SELECT email FROM contact WHERE name = 'Bad Email'"
    ).fetchone() == ("bad@example.com",)
    assert len(_batches(db_path)) == 2 and batch in _batches(db_path)


def test_rejects_without_skip_bad_are_written_and_nothing_is_imported(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    csv = _write(tmp_path / "people.csv", HEADER + "Ada,ada@example.com,,\n,nope@example.com,,\n")
    out_path = tmp_path / "elsewhere.csv"
    code, _out, err = _invoke(db_path, "import", "csv", str(csv), "--rejects", str(out_path))
    assert code == 2
    assert out_path.exists() and "nothing was imported" in err
    assert _db(db_path).execute("SELECT count(*) FROM contact").fetchone() == (0,)
    assert _db(db_path).execute("SELECT count(*) FROM import_batch").fetchone() == (0,)


def test_a_dry_run_writes_no_rejects_file(store: Store, db_path: Path, tmp_path: Path) -> None:
    store.close()
    csv = _write(tmp_path / "people.csv", HEADER + ",nope@example.com,,\n")
    code, _out, err = _invoke(db_path, "import", "csv", str(csv), "--dry-run")
    assert code == 2
    assert "would be written" in err and not (tmp_path / "people.rejects.csv").exists()


CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Roe\r\nEMAIL:jane@example.com\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:nobody@example.com\r\nTITLE:Ghost\r\nEND:VCARD\r\n"
)


def test_rejected_cards_file_keeps_the_raw_card_and_can_be_reimported(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    vcf = _write(tmp_path / "book.vcf", CARDS)
    code, _out, err = _invoke(db_path, "import", "vcard", str(vcf), "--skip-bad")
    assert code == 0, err
    rejects = tmp_path / "book.rejects.vcf"
    text = rejects.read_bytes().decode("utf-8")
    assert text.startswith("# card 2 of book.vcf (line 6): no name")
    assert "EMAIL:nobody@example.com\r\nTITLE:Ghost\r\nEND:VCARD" in text
    rejects.write_text(
        text.replace("TITLE:Ghost", "FN:Casper Ghost\r\nTITLE:Ghost"), encoding="utf-8"
    )
    code, _out, err = _invoke(db_path, "import", "vcard", str(rejects))
    assert code == 0, err
    assert _db(db_path).execute(
        "SELECT email FROM contact WHERE name = 'Casper Ghost'"
    ).fetchone() == ("nobody@example.com",)


ORG_CARDS = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:Globex GmbH\r\nORG:Globex GmbH\r\n"
    "TEL:+49 30 1234567\r\nEMAIL:info@globex.example\r\nUID:urn:uuid:org-1\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Hank Scorpio\r\nORG:globex gmbh;R&D\r\n"
    "EMAIL:hank@globex.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Initrode\r\nORG:Initrode\r\nX-ABShowAs:COMPANY\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Friends\r\nX-ADDRESSBOOK-SERVER-KIND:group\r\n"
    "X-ADDRESSBOOK-SERVER-MEMBER:urn:uuid:abc\r\nEND:VCARD\r\n"
)


def test_organisation_cards_become_accounts_and_a_persons_org_links_to_them(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    vcf = _write(tmp_path / "orgs.vcf", ORG_CARDS)
    code, _out, err = _invoke(db_path, "import", "vcard", str(vcf), "--region", "DE")
    assert code == 0, err
    assert "contact group, not a person or an organisation: skipped" in err
    db = _db(db_path)
    accounts = db.execute(
        "SELECT name, phone_e164, external_id, notes FROM account ORDER BY name"
    ).fetchall()
    assert accounts == [
        ("Globex GmbH", "+49301234567", "org-1", "email: info@globex.example"),
        ("Initrode", None, None, None),
    ]
    people = db.execute(
        "SELECT c.name, a.name FROM contact c LEFT JOIN account a ON a.id = c.account_id"
    ).fetchall()
    assert people == [("Hank Scorpio", "Globex GmbH")]  # no person for an organisation or a group
    (batch,) = _batches(db_path)
    assert _db(db_path).execute("SELECT created FROM import_batch").fetchone() == (3,)
    assert _invoke(db_path, "import", "undo", batch)[0] == 0
    assert _db(db_path).execute(
        "SELECT count(*) FROM account WHERE deleted_at IS NULL"
    ).fetchone() == (0,)


def test_migration_0008_upgrades_and_downgrades(db_path: Path) -> None:
    from alembic import command

    from crmtui.store.migrate import _alembic_config

    upgrade(db_path, "0006_report_indexes")
    tables = {
        r[0] for r in _db(db_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert "import_batch" not in tables
    upgrade(db_path, "0008_import_batches")
    tables = {
        r[0] for r in _db(db_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"import_batch", "import_batch_item"} <= tables
    command.downgrade(_alembic_config(db_path), "0006_report_indexes")
    tables = {
        r[0] for r in _db(db_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert not {"import_batch", "import_batch_item"} & tables


def test_an_account_made_for_a_changed_company_goes_when_the_change_is_undone(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    """The import linked a stored person to a new account; the undo unlinks and removes it."""
    with store.write() as tx:
        ada = create_contact(
            tx=tx, data=ContactCreate(name="Ada Lovelace", email="ada@example.com"), region="DE"
        ).id
    store.close()
    csv = _write(
        tmp_path / "people.csv", HEADER + "Ada Lovelace,ada@example.com,,Analytical Engines\n"
    )
    assert _invoke(db_path, "import", "csv", str(csv), "--update-existing")[0] == 0
    (batch,) = _batches(db_path)
    engines = _db(db_path).execute("SELECT id FROM account").fetchone()[0]
    assert _db(db_path).execute("SELECT account_id FROM contact").fetchone() == (engines,)
    code, out, err = _invoke(db_path, "import", "undo", batch)
    assert code == 0, err
    assert (
        f"restore contact {ada} account_id" in out
        and f"remove account Analytical Engines [{engines}]" in out
    )
    db = _db(db_path)
    assert db.execute("SELECT account_id FROM contact").fetchone() == (None,)
    assert db.execute("SELECT deleted_at IS NOT NULL FROM account").fetchone() == (1,)
