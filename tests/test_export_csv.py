"""CSV export: every live row, formulas neutralised, readable back by the csv module."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.exports import export_csv, neutralise, plain_amount
from crmtui.services.contacts import ContactCreate, create_contact, delete_contact
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
