"""Regressions the round-trip property test (test_roundtrip_property.py) found, one each."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store

runner = CliRunner()


def _crm(db: Path, *args: str) -> str:
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 0, result.stderr
    return result.stderr


def _two_sharing_an_email(db: Path) -> dict[str, str]:
    store = open_store(db)
    try:
        with store.write() as tx:
            return {
                name: create_contact(
                    tx=tx, data=ContactCreate(name=name, email="desk@example.com"), region="DE"
                ).id
                for name in ("Jane Doe", "Joan Roe")
            }
    finally:
        store.close()


def _stored(db: Path) -> dict[str, tuple[str, str | None]]:
    con = sqlite3.connect(db)
    try:
        return {n: (i, e) for i, n, e in con.execute("SELECT id, name, external_id FROM contact")}
    finally:
        con.close()


def test_reimported_vcards_of_two_people_sharing_an_email_are_both_unchanged(
    db_path: Path, tmp_path: Path
) -> None:
    # Was: card 2 "duplicate, skipped: same email as card 1" (card 1's UID had been
    # taken off its values when it matched its contact, so card 2 compared by email).
    _two_sharing_an_email(db_path)
    _crm(db_path, "export", "vcard", str(tmp_path / "out.vcf"))
    summary = _crm(db_path, "import", "vcard", str(tmp_path / "out.vcf"))
    assert "2 unchanged, 0 duplicates skipped" in summary


def test_our_csv_moved_to_a_new_database_keeps_both_people_and_their_ids(
    db_path: Path, tmp_path: Path
) -> None:
    # Was: the second row "duplicate, skipped: same email as line 2" (one person lost),
    # and the crmtui ids were dropped (nothing said where the rows came from).
    ids = _two_sharing_an_email(db_path)
    _crm(db_path, "export", "csv", "contacts", str(tmp_path / "out.csv"))
    fresh = tmp_path / "fresh.db"
    summary = _crm(fresh, "import", "csv", str(tmp_path / "out.csv"))
    assert "2 new" in summary and "0 duplicates skipped" in summary
    moved = _stored(fresh)
    assert {n: e for n, (_i, e) in moved.items()} == ids
    # ... and that file comes home unchanged: its external ids name our records.
    _crm(fresh, "export", "csv", "contacts", str(tmp_path / "back.csv"))
    home = _crm(db_path, "import", "csv", str(tmp_path / "back.csv"))
    assert "2 unchanged" in home and "0 new" in home


def test_an_international_number_travels_by_vcard_as_typed(db_path: Path, tmp_path: Path) -> None:
    # Was: the card carried "+12125550100 ext. 12", so a new database showed the
    # number differently from the one it came from (same E.164, other spelling).
    store = open_store(db_path)
    with store.write() as tx:
        create_contact(
            tx=tx,
            data=ContactCreate(
                name="Jo Ames", phone="+1 212 555 0100 ext. 12", mobile="0151 2345678"
            ),
            region="DE",
        )
    store.close()
    for version in ("3.0", "4.0"):
        card = tmp_path / f"jo{version}.vcf"
        _crm(db_path, "export", "vcard", "--version", version, str(card))
        text = card.read_text(encoding="utf-8")
        assert "+1 212 555 0100 ext. 12" in text
        assert "+491512345678" in text  # a national number goes out without a guess
        fresh = tmp_path / f"fresh{version}.db"
        _crm(fresh, "import", "vcard", str(card))
        con = sqlite3.connect(fresh)
        assert con.execute("SELECT phone, phone_e164, mobile_e164 FROM contact").fetchone() == (
            "+1 212 555 0100 ext. 12",
            "+12125550100",
            "+491512345678",
        )
        con.close()
