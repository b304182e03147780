"""A card's every email and number is searchable after an import, written in bulk.

The import indexed each card's contact by reading its items back one by one; with the
item tables' indexes rebuilt only after the import, each read scanned them: 20,000 cards
took 2.5 minutes, and now take seconds. The entries must be what the per-contact path
(`reindex_contact`, used by every edit) writes: the test rebuilds them that way and
compares.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.services.reindex import reindex_contact
from crmtui.store.database import open_store
from crmtui.store.models import Contact

REAL = Path(__file__).parent / "data" / "real"
CARDS = [
    REAL / "google" / "gmail-single2.vcf",
    REAL / "vobject_vcard40_full.vcf",
    REAL / "sipgate_apple_style.vcf",
    Path(__file__).parent / "data" / "apple_contacts.vcf",
]


def _entries(db: Path) -> dict[str, tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT d.ref_id, d.archived, f.name, f.company, f.email, f.phones, f.city, f.tags"
                " FROM search_doc d JOIN search_fts f ON f.rowid = d.doc"
            )
        }
    finally:
        con.close()


def test_imported_cards_are_indexed_as_an_edit_would_index_them(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    for file in CARDS:
        result = CliRunner().invoke(app, ["--db", str(db), "import", "vcard", str(file)])
        assert result.exit_code == 0, result.stderr
    bulk = _entries(db)
    assert len(bulk) >= 4
    store = open_store(db)
    try:
        with store.write() as tx:
            for contact in tx.session.exec(select(Contact)).all():
                reindex_contact(tx, contact)
    finally:
        store.close()
    assert _entries(db) == bulk
    emails = " ".join(str(e[3]) for e in bulk.values())
    assert emails.count("@") > len(bulk)  # more than one address a card is searched


def test_a_card_is_found_by_its_second_email(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    card = tmp_path / "one.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ida Brandt\r\nN:Brandt;Ida;;;\r\n"
        "EMAIL;TYPE=WORK:ida@brandt.example\r\nEMAIL;TYPE=HOME:ida.private@mail.example\r\n"
        "TEL;TYPE=CELL:+49 170 1234567\r\nTEL;TYPE=HOME:+49 30 7654321\r\nEND:VCARD\r\n"
    )
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "import", "vcard", str(card)]).exit_code == 0
    for query in ("ida.private@mail.example", "7654321"):
        found = runner.invoke(app, ["--db", str(db), "find", query])
        assert found.exit_code == 0 and "Ida Brandt" in found.stdout, (query, found.stdout)


def test_an_import_of_cards_reads_no_contact_back_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmtui.services import reindex

    reads = [0]
    real = reindex.searched_values

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(reindex, "searched_values", counted)
    cards = tmp_path / "many.vcf"
    cards.write_text(
        "".join(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nEMAIL:p{i}@a.example\r\n"
            f"EMAIL:p{i}@b.example\r\nTEL:+49 30 {1000000 + i}\r\nEND:VCARD\r\n"
            for i in range(300)
        )
    )
    result = CliRunner().invoke(
        app, ["--db", str(tmp_path / "crm.db"), "import", "vcard", str(cards)]
    )
    assert result.exit_code == 0, result.stderr
    assert "imported 300 new contacts" in result.stderr
    assert reads[0] == 0
