"""`--update-existing` adds items (issue 15): a row matched by a strong key that brings a
new email, phone or address adds it to the contact (never replacing what it holds), the dry
run says so per row, and `crm import undo` takes the added items away again."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app

runner = CliRunner()
FIRST = (
    "Contact ID,First Name,Last Name,Email,Phone,Mailing City,Mailing Country\n"
    "003A,Maria,Schmidt,m.schmidt@nordwind.example,+49 40 3012345,Hamburg,Germany\n"
)
SECOND = (
    "Contact ID,First Name,Last Name,Email,Mobile,Mailing City,Mailing Country\n"
    "003A,Mary,Schmidt,maria@private.example,+1 212 555 0100,Berlin,Germany\n"
)


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _state(db_path: Path) -> tuple[object, ...]:
    """The contact's columns and live items, as a reader sees them."""
    db = sqlite3.connect(db_path)
    try:
        contact = db.execute(
            "SELECT id, name, email, phone, mobile, city, country FROM contact"
        ).fetchall()
        items = [
            sorted(db.execute(f"SELECT {cols} FROM {t} WHERE deleted_at IS NULL").fetchall())
            for t, cols in (
                ("contact_phone", "kind, e164, is_primary"),
                ("contact_email", "address, is_primary"),
                ("contact_address", "city, country, is_primary"),
            )
        ]
        return (contact, *items)
    finally:
        db.close()


def _import(db_path: Path, tmp_path: Path, name: str, text: str, *args: str) -> str:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    code, out, err = _crm(db_path, "import", "csv", str(f), "--profile", "salesforce", *args)
    assert code == 0, err
    return out + err


def test_a_strong_match_adds_new_items_and_undo_takes_them_away(
    db_path: Path, tmp_path: Path
) -> None:
    _import(db_path, tmp_path, "first.csv", FIRST)
    before = _state(db_path)
    preview = _import(db_path, tmp_path, "second.csv", SECOND, "--update-existing", "--dry-run")
    assert "line 2: update: Mary Schmidt = Maria Schmidt [" in preview
    assert "(same external id)" in preview
    assert "adds mobile phone +1 212 555 0100" in preview
    assert "adds email maria@private.example" in preview
    assert "adds address Berlin, DE" in preview
    assert _state(db_path) == before  # a dry run writes nothing
    done = _import(db_path, tmp_path, "second.csv", SECOND, "--update-existing")
    contact, phones, emails, addresses = _state(db_path)
    # The first email, phone and city stay the primaries; the new ones are added beside them.
    assert contact == [(contact[0][0], "Mary Schmidt", "m.schmidt@nordwind.example",
                        "+49 40 3012345", "+1 212 555 0100", "Hamburg", "DE")]  # fmt: skip
    assert ("mobile", "+12125550100", 0) in phones and len(phones) == 2
    assert emails == [("m.schmidt@nordwind.example", 1), ("maria@private.example", 0)]
    assert sorted(addresses) == [("Berlin", "DE", 0), ("Hamburg", "DE", 1)]
    batch = re.search(r"crm import undo (\S+)\)", done)
    assert batch is not None
    code, out, err = _crm(db_path, "import", "undo", batch.group(1))
    assert code == 0, err
    # Items added to a contact that stays are named by their contact.
    assert "remove contact email of Maria Schmidt [" in out
    assert "3 records removed, 4 fields restored" in err
    assert _state(db_path) == before
    # The search entry forgot the removed email too. (Not `crm find maria@private.example`:
    # its words find Maria Schmidt by her first name and "example" whatever the index holds.)
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT c0, c2 FROM search_fts_content").fetchall() == [
        ("maria schmidt", "m.schmidt@nordwind.example")
    ]
    db.close()


def test_a_weak_match_adds_no_email(db_path: Path, tmp_path: Path) -> None:
    _import(db_path, tmp_path, "first.csv", "Name,Phone\nMaria Schmidt,+49 40 3012345\n")
    preview = _import(
        db_path,
        tmp_path,
        "second.csv",
        "Name,Phone,Email,City\nM. Schmidt,+49 40 3012345,maria@private.example,Hamburg\n",
        "--update-existing",
        "--dry-run",
    )
    assert "(weak" in preview and "adds address Hamburg" in preview
    assert "adds email" not in preview
    assert "email maria@private.example not added: a weak match" in preview


def test_repeated_rows_of_one_person_add_an_item_once(db_path: Path, tmp_path: Path) -> None:
    _import(db_path, tmp_path, "first.csv", FIRST)
    again = SECOND + SECOND.splitlines()[1].replace("Mary", "Maria") + "\n"
    _import(db_path, tmp_path, "second.csv", again, "--update-existing")
    _contact, phones, emails, _addresses = _state(db_path)
    assert len(phones) == 2 and len(emails) == 2
