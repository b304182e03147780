"""Cards written by phones and mail clients, as Cardme and ez-vcard keep them (SOURCES.md).

Android, BlackBerry, iPhone, Lotus Notes, Mac Address Book and Outlook (three versions)
cards of the same "John Doe", field by field. Two of them were rejected whole before:
Lotus Notes writes a mobile with a digit too many, Outlook 2003 a template's words
("BusinessPhone") where numbers go. One unreadable field never costs the person now:
the number is kept as typed, noted, and not dialled. Outlook's quoted-printable LABELs
are kept as lines every vCard reader takes, so an export opens again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import vobject
from typer.testing import CliRunner

from crmtui.cli import app

REAL = Path(__file__).parent / "data" / "real"
CARDME = REAL / "cardme"


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _one(db: Path, sql: str) -> tuple[object, ...]:
    con = sqlite3.connect(db)
    try:
        return tuple(con.execute(sql).fetchone())
    finally:
        con.close()


def _all(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return [tuple(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def test_lotus_notes_card_with_an_impossible_mobile_is_imported(db_path: Path) -> None:
    card = CARDME / "John_Doe_LOTUS_NOTES.vcf"
    code, out, err = _crm(db_path, "import", "vcard", "--dry-run", "--region", "US", str(card))
    assert code == 0, err
    assert "rejected" not in out and "1 new" in err
    assert (
        "note: mobile '+1 (212) 204-34456' cannot be read as a number: kept as typed, not dialled"
        in out
    )
    code, out, err = _crm(db_path, "import", "vcard", "--region", "US", str(card))
    assert code == 0, err
    assert _one(
        db_path,
        "SELECT name, given_name, family_name, title, email, mobile, mobile_e164, city,"
        " country, birthday, department, website FROM contact",
    ) == (
        "Mr. Doe John I Johny", "John", "Doe", "Generic Accountant", "john.doe@ibm.com",
        "+1 (212) 204-34456", None, "New York", "US", "1980-05-21", "SUN", "http://www.sun.com",
    )  # fmt: skip
    # Both numbers kept as written; neither can be dialled (00 is not how the US dials out).
    assert _all(db_path, "SELECT kind, number, e164 FROM contact_phone ORDER BY kind") == [
        ("fax", "00-1-212-555-7777", None),
        ("mobile", "+1 (212) 204-34456", None),
    ]
    assert _all(db_path, "SELECT address FROM contact_email ORDER BY address") == [
        ("billy_bob@gmail.com",),
        ("john.doe@ibm.com",),
    ]
    code, out, err = _crm(db_path, "show", "Johny")
    assert code == 0, err
    assert "+1 (212) 204-34456  (marked, cannot be dialled)" in out
    assert "(dialled)" not in out


def test_outlook_2003_template_card_keeps_the_person(db_path: Path) -> None:
    card = REAL / "outlook" / "outlook-2003.vcf"
    code, out, err = _crm(db_path, "import", "vcard", "--dry-run", str(card))
    assert code == 0, err
    # One note per number: the column's and the item's are the same number.
    assert out.count("'BusinessPhone'") == 1 and out.count("'MobilePhone'") == 1
    assert "phone 'BusinessPhone' cannot be read as a number: kept as typed, not dialled" in out
    code, out, err = _crm(db_path, "import", "vcard", str(card))
    assert code == 0, err
    assert "1 new" in err and "0 rejected" in err
    assert _one(
        db_path,
        "SELECT name, salutation, nickname, title, department, phone, phone_e164, mobile,"
        " email, city, country, birthday, website, notes,"
        " (SELECT name FROM account WHERE id = account_id) FROM contact",
    ) == (
        "John Doe III", "Mr.", "Joey", "The Job Title", "TheDepartment", "BusinessPhone", None,
        "MobilePhone", "jdoe@hotmail.com", "Austin", "US", "1980-03-21",
        "http://web-page-address.com", "This is the note field!! Second line Third line is empty",
        "Company, The",
    )  # fmt: skip
    numbers = _all(db_path, "SELECT kind, number, e164 FROM contact_phone ORDER BY number")
    assert numbers == [
        ("fax", "BusinessFaxPhone", None),
        ("work", "BusinessPhone", None),
        ("home", "HomePhone", None),
        ("mobile", "MobilePhone", None),
    ]
    code, out, err = _crm(db_path, "show", "John Doe III")
    assert code == 0, err
    assert "work    TheOffice 123 Main St, 12345 Austin, TX, US  (primary)" in out
    # The kept LABEL is one line on the card, its line breaks read as " / ".
    assert "LABEL;TYPE=WORK:TheOffice / 123 Main St / Austin, TX 12345 / United States" in out


def test_outlook_quoted_printable_labels_export_as_valid_vcard(
    db_path: Path, tmp_path: Path
) -> None:
    card = CARDME / "John_Doe_MS_OUTLOOK.vcf"
    assert b"LABEL;WORK;PREF;ENCODING=QUOTED-PRINTABLE:" in card.read_bytes()
    code, _out, err = _crm(db_path, "import", "vcard", "--region", "US", str(card))
    assert code == 0, err
    (extra,) = _one(db_path, "SELECT extra FROM contact")
    kept = json.loads(str(extra))["vcard"]
    assert "LABEL;TYPE=WORK,PREF:Cresent moon drive\\nAlbaney\\, New York  12345" in kept
    assert all("\n" not in line and "QUOTED-PRINTABLE" not in line for line in kept)
    exported = tmp_path / "out.vcf"
    code, _out, err = _crm(db_path, "export", "vcard", str(exported))
    assert code == 0, err
    # Before, the decoded label went out with its raw line breaks: no reader could open it.
    (read,) = vobject.readComponents(exported.read_text(encoding="utf-8"))
    labels = sorted(str(c.value) for c in read.contents["label"])
    assert labels[0] == "Cresent moon drive\nAlbaney, New York  12345"
    code, out, err = _crm(db_path, "show", "Richter")
    assert code == 0, err
    assert "LABEL;TYPE=WORK,PREF:Cresent moon drive / Albaney, New York  12345" in out
    assert read.contents["x-ms-manager"][0].value == "Big Blue"
    code, _out, err = _crm(db_path, "import", "vcard", "--region", "US", str(exported))
    assert code == 0, err
    assert "1 unchanged" in err and "0 new" in err


def test_iphone_card_every_number_and_a_street_of_three_lines(db_path: Path) -> None:
    code, _out, err = _crm(
        db_path, "import", "vcard", str(CARDME / "John_Doe_IPHONE.vcf"), "--region", "US"
    )
    assert code == 0, err
    assert "not imported: PHOTO (skipped) (1 card)" in err
    phones = _all(db_path, "SELECT kind, e164, is_primary FROM contact_phone ORDER BY e164")
    assert phones == [
        ("other", "+19051111234", 0),
        ("work", "+19052221234", 0),
        ("mobile", "+19055551234", 0),
        ("home", "+19056661234", 0),
        ("work", "+19057771234", 1),
        ("fax", "+19058881234", 0),
        ("fax", "+19059991234", 0),
    ]
    streets = _all(db_path, "SELECT street, postcode, country FROM contact_address ORDER BY 1")
    assert streets == [
        ("Silicon Alley 5,", "12345", "US"),
        ("Street4\nBuilding 6\nFloor 8", "12345", "US"),
    ]
    code, out, err = _crm(db_path, "show", "Richter")
    assert code == 0, err
    assert "work    Street4, Building 6, Floor 8, 12345 New York, US" in out


def test_android_21_cards_read_in_utf8_and_email_only_cards_named(
    db_path: Path, tmp_path: Path
) -> None:
    card = CARDME / "John_Doe_ANDROID.vcf"
    rejects = tmp_path / "rejects.vcf"  # never beside the fixture
    code, out, err = _crm(
        db_path, "import", "vcard", str(card), "--skip-bad", "--rejects", str(rejects)
    )
    assert code == 0, err
    assert rejects.read_text(encoding="utf-8").count("BEGIN:VCARD") == 2
    # Two cards hold only an email: nobody to name, so each is listed with its line.
    assert "card 1 of John_Doe_ANDROID.vcf (line 1): rejected: no name (FN or N)" in out
    assert "card 2 of John_Doe_ANDROID.vcf (line 6): rejected: no name (FN or N)" in out
    names = [r[0] for r in _all(db_path, "SELECT name FROM contact ORDER BY length(name)")]
    assert names == ["ÑÑÑÑ", "Ñ Ñ Ñ Ñ", "Ñ Ñ Ñ Ñ Ñ", "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ"]


def test_blackberry_and_mac_cards(db_path: Path) -> None:
    for name in ("John_Doe_BLACK_BERRY.vcf", "John_Doe_MAC_ADDRESS_BOOK.vcf"):
        code, _out, err = _crm(db_path, "import", "vcard", "--region", "US", str(CARDME / name))
        assert code == 0, err
    people = _all(
        db_path,
        "SELECT name, mobile_e164, email, nickname, (SELECT name FROM account"
        " WHERE id = account_id) FROM contact ORDER BY name",
    )
    assert people == [
        ("John Doe", "+96123456789", None, None, "Acme Solutions"),
        ("Mr. John Richter,James Doe Sr.", "+19055551234", "john.doe@ibm.com", "Johny", "IBM"),
    ]
