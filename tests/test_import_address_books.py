"""Google Contacts and Outlook CSV exports keep every phone, email and address.

A column-to-field mapping read one phone and one email of these files and kept the
rest as text; Outlook's "Title" (Mr/Ms) became the job title. The layouts read them
as a vCard's items (crmtui/formats/address_books/). Fixtures: a public Google
export fixture (tests/data/real/google, see SOURCES.md) and two files written here in
the products' documented layouts (tests/data/address_books).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.identity import phone_text
from crmtui.formats.address_books.layout import detect_layout

DATA = Path(__file__).parent / "data"
GOOGLE_OLD = DATA / "real" / "google" / "constellation_google_contacts.csv"
GOOGLE_NEW = DATA / "address_books" / "google_contacts_2024.csv"
OUTLOOK = DATA / "address_books" / "outlook_contacts.csv"


def _crm(db: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exit_code == code, result.stderr
    return result.stdout, result.stderr


ITEMS = (
    ("phones", "contact_phone", "kind, number, e164, extension, is_primary"),
    ("emails", "contact_email", "kind, address, is_primary"),
    ("addresses", "contact_address", "kind, street, city, region, postcode, country, is_primary"),
)


def _people(db: Path) -> dict[str, dict[str, object]]:
    """Each contact by name: its columns, items and kept values."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        out = {}
        for c in con.execute(
            "SELECT c.*, a.name AS company FROM contact c LEFT JOIN account a"
            " ON a.id = c.account_id WHERE c.deleted_at IS NULL"
        ):
            person = dict(c)
            for key, table, columns in ITEMS:
                person[key] = [
                    tuple(r)
                    for r in con.execute(
                        f"SELECT {columns} FROM {table}"
                        " WHERE contact_id = ? AND deleted_at IS NULL ORDER BY rowid",
                        (c["id"],),
                    )
                ]
            person["kept"] = json.loads(c["extra"])["csv"] if c["extra"] else {}
            out[str(c["name"])] = person
        return out
    finally:
        con.close()


def test_the_layouts_are_told_from_their_headers_and_others_are_not() -> None:
    assert detect_layout(GOOGLE_OLD.read_text().splitlines()[0].split(",")) == "google"
    assert detect_layout(["First Name", "Last Name", "E-mail 1 - Value", "Phone 1 - Value"]) == (
        "google"
    )
    outlook = OUTLOOK.read_text(encoding="cp1252").splitlines()[0]
    assert detect_layout([h.strip('"') for h in outlook.split('","')]) == "outlook"
    for headers in (
        ["First Name", "Last Name", "Email", "Phone", "Mobile", "Account Name"],  # Salesforce
        ["Record ID", "First Name", "Last Name", "Email", "Phone Number"],  # HubSpot
        ["Name", "Organization", "Email", "Phone"],  # Pipedrive
    ):
        assert detect_layout(headers) is None


def test_a_public_google_export_fixture_keeps_types_company_and_title(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(GOOGLE_OLD), "--region", "US")
    assert "profile google" in err
    people = _people(db)
    assert set(people) == {"Jerry Mathis", "Zoë, Smith"}
    jerry, zoe = people["Jerry Mathis"], people["Zoë, Smith"]
    assert jerry["phones"] == [("mobile", "(757) 555-0101", "+17575550101", None, 1)]
    assert jerry["emails"] == [("work", "jerry@example.com", 1)]
    assert (jerry["company"], jerry["title"]) == ("Example Partners", "Founder")
    assert zoe["emails"] == [("home", "zoe@example.com", 1)]
    assert (zoe["given_name"], zoe["family_name"]) == ("Zoë", "Smith")
    assert (zoe["company"], zoe["title"]) == ("Unicode Works", "Engineer")


def test_google_keeps_every_value_its_labels_and_says_what_it_guessed(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    out, err = _crm(db, "import", "csv", str(GOOGLE_NEW), "--dry-run", code=2)
    # The dry run names every guess and the row it cannot import, and writes nothing.
    assert "line 2:   note: mobile phone '0171 2345678' read as DE (the row's country)" in out
    assert "line 6:   note: other phone '(212) 555-0147' read as US (the row's country)" in out
    assert "birthday '--04-17' is not one date we can be sure of" in out
    assert "line 10: rejected: name: is empty" in out
    assert "kept, not modelled: Birthday, E-mail 2 - Label, Website 1 - Label" in err
    assert not db.exists() or not _people(db)

    rejects = tmp_path / "rejects.csv"
    _crm(db, "import", "csv", str(GOOGLE_NEW), "--skip-bad", "--rejects", str(rejects))
    people = _people(db)
    assert set(people) == {
        "Jürgen Weiß", "Harbor Freight Logistics (dispatch)", "Aoife Ní Bhriain",
    }  # fmt: skip
    j = people["Jürgen Weiß"]
    assert j["phones"] == [
        ("work", "+49 711 4005-120", "+497114005120", None, 1),
        ("mobile", "0171 2345678", "+491712345678", None, 0),
        ("mobile", "0160 9876543", "+491609876543", None, 0),
        ("fax", "+49 711 4005-199", "+497114005199", None, 0),
    ]
    assert j["emails"] == [
        ("work", "j.weiss@weiss-maschinen.example", 1),
        ("other", "juergen.weiss@mail.example", 0),
    ]
    assert j["addresses"] == [
        ("work", "Industriestraße 4", "Stuttgart", "Baden-Württemberg", "70565", "DE", 1)
    ]
    assert (j["salutation"], j["nickname"], j["title"], j["department"]) == (
        "Dr.", "Jü", "Einkaufsleiter", "Einkauf",
    )  # fmt: skip
    assert j["website"] == "https://weiss-maschinen.example/team"
    assert json.loads(str(j["tags"])) == ["coworkers", "trade-fair-2025"]  # no "myContacts"
    assert j["notes"] == "Land/Region geschäftlich: Deutschland / Kategorien: Business;private"
    assert j["birthday"] is None
    assert j["kept"] == {
        "Birthday": "--04-17",
        "E-mail 2 - Label": "ältere",
        "Website 1 - Label": "Profile",
        "Custom Field 1 - Label": "Kundennummer",
        "Custom Field 1 - Value": "K-10442",
    }
    h = people["Harbor Freight Logistics (dispatch)"]
    assert h["addresses"] == [("work", "PO Box 1120", "Newark", "NJ", "07101", "US", 1)]
    assert h["phones"] == [("other", "(212) 555-0147", "+12125550147", None, 1)]
    a = people["Aoife Ní Bhriain"]
    assert a["phones"] == [("home", "+353 1 555 0123 ext. 7", "+35315550123", "7", 1)]
    assert a["emails"] == [
        ("home", "aoife@example.ie", 1),
        ("work", "aoife.nibhriain@work.example", 0),
    ]
    assert a["addresses"] == [("home", "12 Quay St, Galway H91 X2YZ, Ireland", None, None, None,
                               None, 1)]  # fmt: skip
    assert str(a["birthday"]) == "1990-11-02"
    assert rejects.read_text(encoding="utf-8-sig").count("noreply-friend@example.org") == 1


def test_outlook_reads_its_named_columns_and_skips_its_defaults(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(OUTLOOK))
    assert "profile outlook" in err
    assert "not imported: columns Anniversary, Sensitivity, Priority, Private" in err
    people = _people(db)
    carla, tom = people["Carla Mendes"], people["Thomas J. O'Neill Jr."]
    # Outlook's "Title" is the salutation; the job is "Job Title".
    assert (carla["salutation"], carla["title"], carla["department"]) == (
        "Ms.", "Sales Director", "Sales",
    )  # fmt: skip
    assert str(carla["birthday"]) == "1984-03-20"  # 20/3/1984: only one day it can be
    # Primary Phone repeats the business number: one item, dialled, extension kept.
    assert carla["phones"] == [
        ("work", "+351 21 765 4321 x204", "+351217654321", "204", 1),
        ("work", "+351 21 000 0000", "+351210000000", None, 0),
        ("home", "+351 21 123 4567", "+351211234567", None, 0),
        ("mobile", "+351 912 345 678", "+351912345678", None, 0),
        ("fax", "+351 21 765 4399", "+351217654399", None, 0),
    ]
    assert carla["emails"] == [
        ("work", "carla@mendes.example", 1),
        ("work", "carla.private@example.net", 0),
    ]
    assert carla["addresses"] == [
        ("work", "Av. da Liberdade 1, 3.º andar", "Lisboa", None, "1250-096", "PT", 1),
        ("home", "Rua Augusta 10", "Lisboa", None, "1100-053", "PT", 0),
    ]
    assert json.loads(str(carla["tags"])) == ["clients", "vip"]
    assert carla["notes"] == "Prefers email. / Call after 10."
    assert carla["kept"] == {"Initials": "C.M.", "Assistant's Name": "Rui Costa"}
    assert (tom["salutation"], tom["given_name"], tom["family_name"]) == (
        "Mr.",
        "Thomas",
        "O'Neill",
    )
    assert tom["birthday"] is None  # 3/4/1979: 3 April or 4 March
    assert tom["kept"] == {"Birthday": "3/4/1979", "Gender": "Male"}
    assert tom["country"] == "US" and tom["phone_e164"] == "+16175550188"


def test_importing_the_same_export_again_changes_nothing_and_undo_removes_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(OUTLOOK))
    batch = err.split("batch ", 1)[1].split(" ", 1)[0]
    before = _people(db)
    _, again = _crm(db, "import", "csv", str(OUTLOOK))
    assert "2 unchanged" in again and "imported 0 new contacts" in again
    assert _people(db) == before
    _crm(db, "import", "undo", batch)
    assert _people(db) == {}


def test_map_takes_a_column_out_of_the_layout(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    _crm(
        db, "import", "csv", str(GOOGLE_NEW), "--skip-bad", "--rejects", str(tmp_path / "r.csv"),
        "--map", "Custom Field 1 - Value=external_id", "--map", "Custom Field 1 - Label=",
    )  # fmt: skip
    j = _people(db)["Jürgen Weiß"]
    assert j["external_id"] == "K-10442"
    assert "Custom Field 1 - Value" not in j["kept"]
    assert "Custom Field 1 - Label" not in j["kept"]


def test_an_unknown_profile_names_the_layouts_too(tmp_path: Path) -> None:
    _, err = _crm(tmp_path / "crm.db", "import", "csv", str(OUTLOOK), "--profile", "gmail", code=2)
    assert "google" in err and "outlook" in err


def test_an_extension_typed_with_the_number_is_shown_once(tmp_path: Path) -> None:
    assert phone_text("+351 21 765 4321 x204", "204") == "+351 21 765 4321 x204"
    assert phone_text("+49 30 1234567", "12") == "+49 30 1234567 ext. 12"
    assert phone_text("+49 30 1234567", None) == "+49 30 1234567"
    db = tmp_path / "crm.db"
    _crm(db, "import", "csv", str(OUTLOOK))
    out, _ = _crm(db, "show", "Carla Mendes")
    assert "+351 21 765 4321 x204  (dialled)" in out


LINKEDIN = DATA / "address_books" / "linkedin_connections.csv"


def test_linkedins_notes_above_the_header_are_skipped_and_said(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    out, err = _crm(db, "import", "csv", str(LINKEDIN), "--dry-run")
    assert "line 5: new: Priya Raman" in out and "line 6: new: Lars Eriksen" in out
    assert "note: lines 1-2 above the header skipped (text, not rows): 'Notes:'" in err
    _crm(db, "import", "csv", str(LINKEDIN))
    people = _people(db)
    assert (people["Lars Eriksen"]["company"], people["Lars Eriksen"]["title"]) == (
        "Eriksen, Berg & Co", "Partner",
    )  # fmt: skip
    assert people["Priya Raman"]["kept"] == {
        "URL": "https://www.linkedin.com/in/priya-raman-example",
        "Connected On": "03 Dec 2024",
    }


def test_a_one_column_file_and_a_blank_first_line_still_find_their_header(
    tmp_path: Path,
) -> None:
    from crmtui.formats.csv_import import read_csv

    one = tmp_path / "names.csv"
    one.write_text("Name\nAnn Lee\n\nBob Stone\n")
    source = read_csv(one)
    assert source.headers == ["Name"] and [c for _, c in source.records] == [
        ["Ann Lee"],
        ["Bob Stone"],
    ]
    assert source.preamble == []
    blank = tmp_path / "blank.csv"
    blank.write_text("\nName,Email\nAnn Lee,ann@example.com\n")
    source = read_csv(blank)
    assert source.headers == ["Name", "Email"] and source.records == [
        (3, ["Ann Lee", "ann@example.com"])
    ]
    long = tmp_path / "long.csv"
    long.write_text("Name\n" + "".join(f"Person {i}\n" for i in range(15)) + "\nA,B\n")
    source = read_csv(long)
    assert source.headers == ["Name"] and len(source.records) == 16


THUNDERBIRD = DATA / "real" / "thunderbird" / "tutanota_thunderbird.csv"


def test_a_public_thunderbird_export_keeps_every_value_even_the_odd_ones(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    out, err = _crm(db, "import", "csv", str(THUNDERBIRD), "--dry-run")
    assert "profile thunderbird" in err
    # Placeholder values ("workphone", "country1") are kept as written, each one said.
    assert "line 2:   note: work phone 'workphone' kept as typed (not a number we can dial)" in out
    assert "line 2:   note: country 'orgcountry1' is not a country we know: kept as text" in out
    _crm(db, "import", "csv", str(THUNDERBIRD))
    (person,) = _people(db).values()
    assert person["name"] == "First1 Last1"
    assert [p[:2] for p in person["phones"]] == [
        ("work", "workphone"), ("home", "homephone"), ("mobile", "mobilephone"),
        ("fax", "faxnumber"),
    ]  # fmt: skip
    assert person["emails"] == [
        ("work", "firstEmail1@asfda.de", 1),
        ("work", "additionalEmail1@asdf.de", 0),
    ]
    assert person["addresses"] == [
        ("work", "addressorg1, addressorgsecondline1", "orgcity1", "orgstate1",
         "23432orgpostal", "orgcountry1", 1),
        ("home", "my addresse, secondline address", "City1", "state1", "23432postal",
         "country1", 0),
    ]  # fmt: skip
    assert (person["title"], person["department"], person["company"]) == (
        "myTitle1", "department1", "organization1",
    )  # fmt: skip
    assert str(person["birthday"]) == "2004-04-04"


def test_a_uk_thunderbird_build_and_a_year_without_a_day(tmp_path: Path) -> None:
    file = tmp_path / "uk.csv"
    file.write_text(
        "First Name,Last Name,Display Name,Nickname,Primary Email,Secondary Email,Screen Name,"
        "Work Phone,Home Phone,Fax Number,Pager Number,Mobile Number,Home Address,"
        "Home Address 2,Home City,Home County,Home Post Code,Home Country,Work Address,"
        "Work Address 2,Work City,Work County,Work Post Code,Work Country,Job Title,"
        "Department,Organisation,Web Page 1,Web Page 2,Birth Year,Birth Month,Birth Day,"
        "Custom 1,Custom 2,Custom 3,Custom 4,Notes,\n"
        "Rory,Williams,Rory Williams,,rory@example.com,,,020 7946 0000,,,,,,,,,,,"
        "1 Main St,,Leadworth,Gloucestershire,GL1 1AA,United Kingdom,Nurse,,"
        "Leadworth Surgery,,,1988,,,,,,,,\n"
    )
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(file))
    assert "not imported: columns" not in err  # the unnamed last column holds nothing
    (person,) = _people(db).values()
    assert person["company"] == "Leadworth Surgery"
    assert person["addresses"] == [
        ("work", "1 Main St", "Leadworth", "Gloucestershire", "GL1 1AA", "GB", 1)
    ]
    assert person["phones"] == [("work", "020 7946 0000", "+442079460000", None, 1)]
    assert person["birthday"] is None and person["kept"] == {"Birthday": "1988-?-?"}


def test_a_column_without_a_name_is_kept_when_a_row_fills_it(tmp_path: Path) -> None:
    file = tmp_path / "trailing.csv"
    file.write_text("Name,Email,\nAnn Lee,ann@example.com,\nBob Stone,bob@example.com,VIP\n")
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(file))
    assert "kept, not modelled: column 3 (on each contact" in err
    assert _people(db)["Bob Stone"]["kept"] == {"column 3": "VIP"}
    assert _people(db)["Ann Lee"]["kept"] == {}


OUTLOOK_DE = DATA / "address_books" / "outlook_contacts_de.csv"


def test_a_german_outlook_export_reads_as_the_english_one(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    _, err = _crm(db, "import", "csv", str(OUTLOOK_DE))
    assert "profile outlook" in err
    # Outlook's own defaults (in German) are listed once, not kept on the contact.
    assert "not imported: columns E-Mail-Typ, Geschlecht, Jahrestag, Priorität, Privat" in err
    (sabine,) = _people(db).values()
    assert (sabine["name"], sabine["salutation"], sabine["title"], sabine["department"]) == (
        "Sabine Größer", "Frau", "Leiterin Einkauf", "Einkauf",
    )  # fmt: skip
    assert str(sabine["birthday"]) == "1979-04-03"  # 3.4.1979: dots are day first
    assert [p[:2] for p in sabine["phones"]] == [
        ("work", "0421 5550123"), ("mobile", "0171 5550144"), ("fax", "0421 5550199"),
    ]  # fmt: skip
    assert sabine["addresses"] == [("work", "Hafenstraße 12", "Bremen", None, "28217", "DE", 1)]
    assert sabine["kept"] == {
        "E-Mail: Angezeigter Name": "Sabine Größer (s.groesser@groesser-anlagenbau.example)"
    }


def test_a_german_sheet_of_names_is_not_taken_for_outlook() -> None:
    headers = ["Vorname", "Nachname", "E-Mail-Adresse", "Firma", "Position", "Ort"]
    assert detect_layout(headers) is None


def test_the_dialled_number_is_one_that_can_be_dialled(tmp_path: Path) -> None:
    file = tmp_path / "tb.csv"
    file.write_text(
        "First Name,Last Name,Display Name,Nickname,Primary Email,Secondary Email,Screen Name,"
        "Work Phone,Home Phone,Fax Number,Pager Number,Mobile Number\n"
        "Tom,Reed,Tom Reed,,tom@reed.example,,,ask reception,+44 20 7946 0001,,,+44 7700 900123\n"
    )
    db = tmp_path / "crm.db"
    out, _ = _crm(db, "import", "csv", str(file), "--dry-run")
    assert "note: 'ask reception' cannot be dialled: the call list dials '+44 20 7946 0001'" in out
    _crm(db, "import", "csv", str(file))
    (tom,) = _people(db).values()
    assert tom["phone_e164"] == "+442079460001"
    assert [(p[1], p[4]) for p in tom["phones"]] == [
        ("ask reception", 0), ("+44 20 7946 0001", 1), ("+44 7700 900123", 0),
    ]  # fmt: skip
