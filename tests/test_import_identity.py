"""Identity (issue 15): strong keys decide, phone + agreeing name is weak evidence, a shared
phone, company or similar name alone never makes two people one; the same rule in CSV and
vCard import, the new-contact warning and `crm dedupe scan`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.identity import DIFFERENT, EVIDENCE, NONE, SAME, Who, judge, names_agree
from crmtui.domain.identity import extension as phone_extension
from crmtui.screens.dialogs.new_contact import find_duplicates
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store

runner = CliRunner()


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _rows(db: Path) -> dict[str, tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return {
            r[0]: r[1:]
            for r in con.execute("SELECT name, email, phone, phone_e164, external_id FROM contact")
        }
    finally:
        con.close()


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("John Smith", "Mr J. Smith", True),
        ("Seán O’Brien", "Sean O'Brien", True),
        ("Anna Müller", "Frau Anna Mueller", True),
        ("Rob Stone", "Robert Stone", True),
        ("John Q. Smith", "John Smith", True),
        ("Smith John", "John Smith", True),
        ("Bob Stone", "Robert Stone", False),
        ("Jane Smith", "John Smith", False),
        ("Anna Müller", "Anna Schmidt", False),
    ],
)
def test_typographic_variants_and_initials_agree(a: str, b: str, agree: bool) -> None:
    assert names_agree(a, b) is agree


def test_extensions_are_read_from_the_typed_number() -> None:
    assert phone_extension("+1 212 555 0100 ext. 12") == "12"
    assert phone_extension("+1 212 555 0100 x13") == "13"
    assert phone_extension("tel:+1-212-555-0100;ext=14") == "14"
    assert phone_extension("+49 40 3012345") is None


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        (Who("A", emails=("a@x.de",)), Who("B", emails=("a@x.de",)), SAME),
        (Who("A", external_id="1", emails=("a@x.de",)), Who("A", external_id="2", emails=("a@x.de",)), DIFFERENT),
        (Who("Ann Lee", emails=("a@x.de",), phones=("+1",)), Who("Ann Lee", emails=("b@x.de",), phones=("+1",)), DIFFERENT),
        (Who("Ann Lee", phones=("+1",)), Who("Ann Lee", phones=("+1",)), EVIDENCE),
        (Who("Ann Lee", phones=("+1",)), Who("Bob Stone", phones=("+1",)), NONE),
        (Who("Ann Lee", phones=("+1;ext=12",)), Who("Ann Lee", phones=("+1;ext=13",)), NONE),
        (Who("Ann Lee"), Who("Ann Lee"), NONE),
        # Every email counts: a second address in common is the same person.
        (Who("A", emails=("a@x.de", "ann@home.de")), Who("B", emails=("ann@home.de",)), SAME),
        (Who("A", emails=("a@x.de", "ann@home.de")), Who("A", emails=("b@x.de", "bob@home.de")), DIFFERENT),
        (Who("A", source_uid="u1"), Who("A", source_uid="u2", phones=("+1",)), DIFFERENT),
        (Who("A", source_uid="u1"), Who("B", source_uid="u1"), SAME),
    ],
)  # fmt: skip
def test_judge(a: Who, b: Who, kind: str) -> None:
    assert judge(a, b).kind == kind


SWITCHBOARD = (
    "First Name,Last Name,Email,Phone,Contact ID\n"
    "Maria,Schmidt,m.schmidt@nordwind.example,+49 40 3012345,003A\n"
    "Jonas,Weber,j.weber@nordwind.example,+49 40 3012345,003B\n"
    "Petra,Lang,,+49 40 3012345,003C\n"
)


def test_colleagues_on_one_switchboard_are_all_imported(db_path: Path, tmp_path: Path) -> None:
    csv = tmp_path / "sf.csv"
    csv.write_text(SWITCHBOARD, encoding="utf-8")
    code, out, err = _crm(db_path, "import", "csv", str(csv))
    assert code == 0, err
    assert "duplicate" not in out
    assert set(_rows(db_path)) == {"Maria Schmidt", "Jonas Weber", "Petra Lang"}


def test_a_shared_phone_never_matches_a_stored_person(db_path: Path, tmp_path: Path) -> None:
    csv = tmp_path / "first.csv"
    csv.write_text(SWITCHBOARD.splitlines()[0] + "\n" + SWITCHBOARD.splitlines()[1] + "\n")
    assert _crm(db_path, "import", "csv", str(csv))[0] == 0
    again = tmp_path / "second.csv"
    again.write_text("Name,Phone\nJonas Weber,+49 40 3012345\nMaria Schmidt,+49 40 3012345\n")
    code, out, err = _crm(db_path, "import", "csv", str(again), "--update-existing", "--dry-run")
    assert code == 0, err
    # Jonas shares only the switchboard: a new person, and the dry run says why.
    assert "line 2: new: Jonas Weber" in out
    assert "shares phone +49403012345 only (names differ)" in out
    # Maria: phone and name agree: a weak match, named with whom and why.
    assert "line 3: unchanged: Maria Schmidt = Maria Schmidt [" in out
    assert "same phone +49403012345 and the names agree (weak" in out


def test_update_existing_never_renames_or_rekeys_from_a_weak_match(
    db_path: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("Name,Phone,Title\nMaria Schmidt,+49 40 3012345,Buyer\n")
    assert _crm(db_path, "import", "csv", str(first))[0] == 0
    second = tmp_path / "second.csv"
    second.write_text(
        "Name,Phone,Email,Title\n"
        "Jonas Weber,+49 40 3012345,j.weber@nordwind.example,CTO\n"  # someone else
        "M. Schmidt,+49 40 3012345,maria@private.example,Head of Sales\n"  # Maria, weakly
    )
    code, _out, err = _crm(db_path, "import", "csv", str(second), "--update-existing")
    assert code == 0, err
    rows = _rows(db_path)
    assert rows["Maria Schmidt"][0] is None  # her name and (empty) email were kept
    assert "Jonas Weber" in rows and "M. Schmidt" not in rows
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT title FROM contact WHERE name = 'Maria Schmidt'").fetchone() == (
        "Head of Sales",
    )


def test_different_emails_or_external_ids_are_different_people(
    db_path: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("Name,Email,Phone\nAnn Lee,ann@lee.example,+1 212 555 0100\n")
    assert _crm(db_path, "import", "csv", str(first))[0] == 0
    second = tmp_path / "second.csv"
    second.write_text("Name,Email,Phone\nAnn Lee,ann.lee@other.example,+1 212 555 0100\n")
    code, out, err = _crm(db_path, "import", "csv", str(second), "--dry-run")
    assert code == 0, err
    assert "different emails" in out and "1 new" in err


def test_extensions_tell_colleagues_apart_and_are_kept(db_path: Path, tmp_path: Path) -> None:
    csv = tmp_path / "ext.csv"
    csv.write_text(
        "Name,Phone\nBob Stone,+1 212 555 0100 ext. 12\nBob Stone,+1 212 555 0100 ext. 13\n"
        "Bob Stone,+1 212 555 0100 ext. 12\n"
    )
    code, out, err = _crm(db_path, "import", "csv", str(csv))
    assert code == 0, err
    assert "line 4: duplicate, skipped" in out and "as line 2" in out
    con = sqlite3.connect(db_path)
    phones = sorted(r[0] for r in con.execute("SELECT phone FROM contact"))
    assert phones == ["+1 212 555 0100 ext. 12", "+1 212 555 0100 ext. 13"]


def test_vcard_import_uses_the_same_rule(db_path: Path, tmp_path: Path) -> None:
    cards = tmp_path / "c.vcf"
    cards.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Maria Schmidt\nTEL;TYPE=WORK:+49 40 3012345\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Jonas Weber\nTEL;TYPE=WORK:+49 40 3012345\nEND:VCARD\n"
    )
    code, _out, err = _crm(db_path, "import", "vcard", str(cards))
    assert code == 0, err
    assert set(_rows(db_path)) == {"Maria Schmidt", "Jonas Weber"}


def test_new_contact_warning_ignores_a_shared_switchboard(store: Store) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx, data=ContactCreate(name="Maria Schmidt", phone="+49 40 3012345"), region="DE"
        )
    with store.read() as session:
        db: sqlite3.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
        other = find_duplicates(
            db, {"name": "Marta Schmidt", "phone": "+49 40 3012345"}, region="DE"
        )
        same = find_duplicates(db, {"name": "Mr M. Schmidt", "phone": "040 3012345"}, region="DE")
    assert not any(d.strong for d in other)
    assert [d.name for d in same if d.strong] == ["Maria Schmidt"]


def test_dedupe_scan_does_not_pair_colleagues_on_a_switchboard(
    db_path: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "sf.csv"
    csv.write_text(
        "Name,Phone,Company\n"
        "Maria Schmidt,+49 40 3012345,Nordwind\n"
        "Marta Schmidt,+49 40 3012345,Nordwind\n"  # a colleague with a near name
        "Rob Stone,+1 212 555 0100,Acme\n"
        "Robert Stone,+1 212 555 0100,Acme\n",  # the same person, typed twice
        encoding="utf-8",
    )
    assert _crm(db_path, "import", "csv", str(csv), "--skip-duplicates")[0] == 0
    assert len(_rows(db_path)) == 3  # Robert is Rob's row again (phone and name agree)
    code, _out, err = _crm(db_path, "dedupe", "scan", "--format", "json")
    assert code == 0, err
    assert "0 probable duplicate pairs" in err
