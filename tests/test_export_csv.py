"""CSV export: every live row, formulas neutralised, readable back by the csv module."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.exports import export_csv, neutralise, plain_amount
from crmtui.services.address_book.contacts import ContactCreate, create_contact, delete_contact
from crmtui.store.database import Store

runner = CliRunner()


def test_neutralise_formula_starts() -> None:
    for text in ('=HYPERLINK("x")', "+49 30 1234", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("Anna") == "Anna"
    assert neutralise(42) == 42 and neutralise(None) is None


def test_plain_amounts_follow_the_currency() -> None:
    assert plain_amount(123450, "EUR") == "1234.50"
    assert plain_amount(-5, "EUR") == "-0.05"
    assert plain_amount(1500, "JPY") == "1500"
    assert plain_amount(1234, "KWD") == "1.234"


def test_contacts_export(store: Store, db_path: Path) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx,
            data=ContactCreate(
                name='=cmd|" /C calc"!A0',
                company="Acme, Inc.",
                phone="+49 30 1234567",
                tags=["vip", "de"],
                notes="-2 ok, call back",
            ),
            region="DE",
        )
        gone = create_contact(tx=tx, data=ContactCreate(name="Gone"), region="DE")
        delete_contact(tx=tx, contact_id=gone.id)
    out = io.StringIO()
    assert export_csv(sqlite3.connect(db_path), "contacts", out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == '\'=cmd|" /C calc"!A0'
    assert row["phone"] == "'+49 30 1234567"
    assert row["company"] == "Acme, Inc."
    assert row["tags"] == "vip;de"
    assert row["notes"] == "'-2 ok, call back"
    assert "deleted_at" not in row


def test_cli_exports_every_entity(store: Store, db_path: Path, tmp_path: Path) -> None:
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Anna Müller", company="Acme"), region="DE")
    for entity in ("contacts", "accounts", "deals", "activities"):
        target = tmp_path / f"{entity}.csv"
        result = runner.invoke(app, ["--db", str(db_path), "export", "csv", entity, str(target)])
        assert result.exit_code == 0, result.stderr
        assert target.read_text(encoding="utf-8").startswith("id,")
    assert "Anna Müller" in (tmp_path / "contacts.csv").read_text(encoding="utf-8")
    result = runner.invoke(app, ["--db", str(db_path), "export", "csv", "leads"])
    assert result.exit_code == 2 and "contacts, accounts, deals, activities" in result.stderr


def _import_and_export(db: Path, tmp_path: Path) -> Path:
    source = tmp_path / "in.csv"
    source.write_text(
        "Name,Email,Phone,Company,Notes,External ID\n"
        "Anna Müller,anna@x.example,+49 40 3012345,Nordwind,- call back,sf-1\n"
        "Bob Stone,,+1 212 555 0100 ext. 12,Acme,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["--db", str(db), "import", "csv", str(source)])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "contacts.csv"
    result = runner.invoke(app, ["--db", str(db), "export", "csv", "contacts", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def test_our_own_export_comes_back_unchanged(db_path: Path, tmp_path: Path) -> None:
    out = _import_and_export(db_path, tmp_path)
    assert "'+49 40 3012345" in out.read_text(encoding="utf-8")  # the spreadsheet guard
    result = runner.invoke(app, ["--db", str(db_path), "import", "csv", str(out), "-n"])
    assert result.exit_code == 0, result.stderr
    assert "profile crmtui" in result.stderr
    assert "0 new" in result.stderr and "2 unchanged" in result.stderr
    assert "same crmtui id" in result.stdout


def test_our_own_export_into_another_database(tmp_path: Path) -> None:
    out = _import_and_export(tmp_path / "a.db", tmp_path)
    other = tmp_path / "b.db"
    result = runner.invoke(app, ["--db", str(other), "import", "csv", str(out)])
    assert result.exit_code == 0, result.stderr
    con = sqlite3.connect(other)
    rows = set(con.execute("SELECT name, phone, external_id, notes FROM contact"))
    (bob_id,) = (
        sqlite3.connect(tmp_path / "a.db")
        .execute("SELECT id FROM contact WHERE name = 'Bob Stone'")
        .fetchone()
    )
    # No apostrophe kept; a contact with an outside id keeps it, one without takes its
    # crmtui id as the source's id, so importing the file again matches it (decisions:
    # "our own export into another database").
    assert rows == {
        ("Anna Müller", "+49 40 3012345", "sf-1", "- call back"),
        ("Bob Stone", "+1 212 555 0100 ext. 12", bob_id, None),
    }


def test_excel_export_starts_with_a_bom(db_path: Path, tmp_path: Path) -> None:
    _import_and_export(db_path, tmp_path)
    out = tmp_path / "excel.csv"
    result = runner.invoke(
        app, ["--db", str(db_path), "export", "csv", "contacts", str(out), "--excel"]
    )
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,") and "Müller".encode() in data
    plain = tmp_path / "plain.csv"
    runner.invoke(app, ["--db", str(db_path), "export", "csv", "contacts", str(plain)])
    assert plain.read_bytes().startswith(b"id,")


_ADDRESS = "SELECT c.name, a.street, a.city, a.region, a.postcode, a.country"


def _addresses(db: Path) -> set[tuple[str | None, ...]]:
    """Each live contact's name with its primary address (the one its city comes from)."""
    con = sqlite3.connect(db)
    rows = con.execute(
        f"{_ADDRESS} FROM contact c JOIN contact_address a ON a.contact_id = c.id "
        "WHERE a.deleted_at IS NULL AND a.city IS c.city AND a.country IS c.country"
    ).fetchall()
    con.close()
    return set(rows)


def test_export_keeps_street_and_postcode(store: Store, db_path: Path, tmp_path: Path) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx,
            data=ContactCreate(
                name="Anna Müller",
                addresses=["work:street=Hauptstraße 5, Hof;city=Berlin;postcode=10115;country=DE"],
            ),
            region="DE",
        )
        create_contact(
            tx=tx,
            data=ContactCreate(
                name="Bob Stone",
                addresses=[
                    "home:street=1 Elm St;city=Springfield;region=IL;postcode=62701;country=US",
                    "work:street=9 Main St;city=Chicago;region=IL;postcode=60601;country=US;"
                    "primary",
                ],
            ),
            region="US",
        )
        create_contact(tx=tx, data=ContactCreate(name="Cleo Nohome"), region="DE")
    out = tmp_path / "contacts.csv"
    result = runner.invoke(app, ["--db", str(db_path), "export", "csv", "contacts", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    # The primary address (Bob's work one, marked), the one the city column shows.
    assert (rows["Bob Stone"]["street"], rows["Bob Stone"]["postcode"]) == ("9 Main St", "60601")
    assert rows["Anna Müller"]["street"] == "Hauptstraße 5, Hof"
    assert rows["Cleo Nohome"]["street"] == rows["Cleo Nohome"]["postcode"] == ""
    before = _addresses(db_path)
    assert ("Anna Müller", "Hauptstraße 5, Hof", "Berlin", None, "10115", "DE") in before
    other = tmp_path / "empty.db"
    result = runner.invoke(app, ["--db", str(other), "import", "csv", str(out)])
    assert result.exit_code == 0, result.stderr
    assert _addresses(other) == {a for a in before if a[0] != "Bob Stone" or a[2] == "Chicago"}
    # And into the same database it changes nothing.
    result = runner.invoke(app, ["--db", str(db_path), "import", "csv", str(out), "-n"])
    assert result.exit_code == 0, result.stderr
    assert "0 new" in result.stderr and "3 unchanged" in result.stderr
