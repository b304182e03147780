"""vCard import and export: real-world producers, broken cards, no duplicates on re-import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import vobject
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.vcards import read_cards

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _fields(name: str) -> list[dict[str, str] | str]:
    return [fields for _f, _n, _l, fields in read_cards(DATA / name)]


def test_apple_cards_with_photo_labels_and_japanese_names() -> None:
    anna, taro = _fields("apple_contacts.vcf")
    assert isinstance(anna, dict) and isinstance(taro, dict)
    assert anna["name"] == "Anna Müller" and anna["company"] == "Nordwind Logistik GmbH"
    assert anna["mobile"] == "+49 151 23456789" and anna["phone"] == "+49 40 3012345"
    assert anna["city"] == "Hamburg" and anna["tags"] == "Kunden,VIP"
    assert anna["notes"] == "Met at LogiMAT 2024, prefers email."
    assert "photo" not in anna
    assert (taro["name"], taro["family_name"], taro["country"]) == ("山田 太郎", "山田", "日本")


def test_google_cards_drop_the_mycontacts_group() -> None:
    jurgen, ivan = _fields("google_contacts.vcf")
    assert isinstance(jurgen, dict) and isinstance(ivan, dict)
    assert jurgen["tags"] == "Kunde A"
    assert jurgen["notes"] == "Lieferant seit 2019 Rahmenvertrag bis 2027"
    assert ivan["name"] == "Иван Петров" and "tags" not in ivan


def test_outlook_21_quoted_printable_in_windows_1252() -> None:
    (card,) = _fields("outlook_contact.vcf")
    assert isinstance(card, dict)
    assert card["name"] == "Françoise Dupont" and card["title"] == "Gérante"
    assert card["notes"] == "Rappeler après le salon. Très intéressée."
    assert card["mobile"] == "+33 6 12 34 56 78" and card["city"] == "Paris"


def test_nextcloud_40_with_broken_cards_reported_by_position() -> None:
    cards = read_cards(DATA / "nextcloud_contacts.vcf")
    ola, broken_phone, broken_syntax, zoe = (c[3] for c in cards)
    assert isinstance(ola, dict) and ola["phone"] == "+47-22-12-34-56"
    assert ola["external_id"] == "3f6b0b0e-4e8a-4d3c-9a1e-7c2d5b8f9a10"
    assert isinstance(broken_phone, dict)  # readable; its phone is rejected by the checks
    assert isinstance(broken_syntax, str) and "no colon" in broken_syntax
    assert cards[2][1:3] == (3, 22)
    assert isinstance(zoe, dict) and zoe["external_id"] == "0d9c2f54-1111-4a7b-8c9d-aaaaaaaaaaaa"


def test_folder_import_reports_bad_cards_and_imports_nothing_without_skip_bad(
    db_path: Path,
) -> None:
    code, out, err = _crm(db_path, "import", "vcard", str(DATA))
    assert code == 2
    assert "card 3 of nextcloud_contacts.vcf (line 22): rejected: not a readable vCard" in out
    # One unreadable number never costs the person: kept as typed, noted, not dialled.
    assert "rejected: mobile" not in out
    assert "nothing was imported" in err
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM contact").fetchone() == (0,)
    code, out, err = _crm(db_path, "import", "vcard", str(DATA), "--skip-bad")
    assert code == 0, err
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT name FROM contact")}
    assert {"Anna Müller", "山田 太郎", "Иван Петров", "Françoise Dupont", "Zoë Ångström"} <= names
    assert "Broken Card" in names
    assert len(names) == 8
    broken = (
        sqlite3.connect(db_path)
        .execute("SELECT mobile, mobile_e164 FROM contact WHERE name = 'Broken Card'")
        .fetchone()
    )
    assert broken == ("not a number at all", None)


def test_export_then_reimport_creates_no_duplicates(db_path: Path, tmp_path: Path) -> None:
    assert _crm(db_path, "import", "vcard", str(DATA), "--skip-bad")[0] == 0
    out = tmp_path / "all.vcf"
    code, _, err = _crm(db_path, "export", "vcard", str(out))
    assert code == 0 and "exported 8 contacts" in err
    cards = list(vobject.readComponents(out.read_text(encoding="utf-8")))
    assert len(cards) == 8 and all(c.version.value == "3.0" for c in cards)
    # A card keeps the UID it came with (moving data through vCard makes no duplicates);
    # a contact without one is written with its own id.
    ids = {
        r[0]
        for r in sqlite3.connect(db_path).execute("SELECT coalesce(source_uid, id) FROM contact")
    }
    assert {c.uid.value for c in cards} == ids
    code, _out_text, err = _crm(db_path, "import", "vcard", str(out))
    assert code == 0, err
    assert "8 unchanged" in err and "0 new" in err
    # The original files again: matched by their own UIDs, emails and phones.
    code, _, err = _crm(db_path, "import", "vcard", str(DATA), "--skip-bad")
    assert code == 0 and "imported 0 new contacts" in err
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM contact").fetchone() == (8,)


def test_export_to_a_folder_one_file_per_contact(db_path: Path, tmp_path: Path) -> None:
    assert _crm(db_path, "import", "vcard", str(DATA / "google_contacts.vcf"))[0] == 0
    folder = tmp_path / "cards"
    assert _crm(db_path, "export", "vcard", "--dir", str(folder))[0] == 0
    files = sorted(folder.iterdir())
    assert len(files) == 2
    card = vobject.readOne(files[0].read_text(encoding="utf-8"))
    assert files[0].stem == card.uid.value
