"""vCards from more producers nobody here wrote (tests/data/SOURCES.md), field by field.

GNOME Evolution (a desktop mail client) and Google Contacts, as kept verbatim by
ez-vcard's test suite; with khard, vobject and the Apple-style sipgate card
(tests/test_import_realdata.py) that makes five producers. Each test says what
today's model keeps, and that what it cannot hold yet is *reported* as dropped.
The typed model keeps several emails and phones, addresses, birthday, nickname,
department and website; properties it does not model are kept for export (`extra`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app

REAL = Path(__file__).parent / "data" / "real"
COLUMNS = (
    "name, given_name, family_name, title, email, phone, phone_e164, mobile, mobile_e164, "
    "city, country, tags, notes, external_id, (SELECT name FROM account WHERE id = account_id)"
)


def _import(db: Path, file: Path, *extra: str) -> tuple[dict[str, object], str, str]:
    """Import one single-card file; the stored row, stdout and stderr."""
    result = CliRunner().invoke(app, ["--db", str(db), "import", "vcard", str(file), *extra])
    assert result.exit_code == 0, result.stderr
    con = sqlite3.connect(db)
    try:
        cur = con.execute(f"SELECT {COLUMNS} FROM contact")
        names = [d[0] for d in cur.description]
        names[-1] = "company"
        (row,) = cur.fetchall()
    finally:
        con.close()
    return dict(zip(names, row, strict=True)), result.stdout, result.stderr


def _details(db: Path) -> dict[str, object]:
    """The one contact's person fields, its items and the properties kept for export."""
    con = sqlite3.connect(db)
    try:
        (birthday, nickname, department, website, extra) = con.execute(
            "SELECT birthday, nickname, department, website, extra FROM contact"
        ).fetchone()
        return {
            "person": (birthday, nickname, department, website),
            "phones": con.execute(
                "SELECT kind, number, is_primary FROM contact_phone ORDER BY number"
            ).fetchall(),
            "emails": con.execute(
                "SELECT kind, address, is_primary FROM contact_email ORDER BY address"
            ).fetchall(),
            "addresses": con.execute(
                "SELECT street, city, region, postcode, country FROM contact_address ORDER BY street"
            ).fetchall(),
            "kept": "\n".join(json.loads(extra or "{}").get("vcard", [])),
        }
    finally:
        con.close()


def _dropped(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("not imported:"))


def test_evolution_card_field_by_field(db_path: Path) -> None:
    card = REAL / "evolution" / "John_Doe_EVOLUTION.vcf"
    assert card.read_bytes().count(b"\r\n") == 41  # CR LF and folded lines, as written
    john, _out, err = _import(db_path, card, "--region", "US")
    # Escaped commas inside FN and N stay in the name.
    assert john["name"] == "Mr. John Richter, James Doe Sr."
    assert (john["given_name"], john["family_name"]) == ("John", "Doe")
    assert (john["company"], john["title"]) == ("IBM", "Money Counter")
    assert john["email"] == "john.doe@ibm.com"  # folded inside the address
    # TYPE=WORK,VOICE is the dialled phone, TYPE=CELL the mobile (quoted X- parameters).
    assert (john["phone"], john["phone_e164"]) == ("905-555-1234", "+19055551234")
    assert (john["mobile"], john["mobile_e164"]) == ("905-666-1234", "+19056661234")
    assert john["tags"] == '["vip"]'
    assert john["external_id"] == "477343c8e6bf375a9bac1f96a5000837"  # the card's UID
    notes = str(john["notes"])
    assert notes.startswith(
        'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS'
    )
    assert "SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS" in notes  # \; and \, read
    assert notes.endswith("EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.")
    assert (john["city"], john["country"]) == ("Albaney", "US")  # "United States of America"
    details = _details(db_path)
    assert details["person"] == ("1980-03-22", "Johny", "Accounting", "http://www.ibm.com")
    assert details["addresses"] == [
        ("15 Crescent moon drive", "Albaney", "New York", "12345", "US")
    ]
    assert ("mobile", "905-666-1234", 0) in details["phones"]
    # ORG:IBM;Accounting;Dungeon: the unit below the department is the one thing reported.
    assert _dropped(err) == "not imported: ORG units after the department (1 card)"
    # Producer-only properties are kept (written back on export), never silently lost.
    for name in ("X-AIM", "X-EVOLUTION-FILE-AS", "X-EVOLUTION-SPOUSE", "X-EVOLUTION-ANNIVERSARY"):
        assert name in str(details["kept"]), name


def test_google_contacts_card_field_by_field(db_path: Path) -> None:
    card = REAL / "google" / "gmail-single2.vcf"
    test, _out, _err = _import(db_path, card, "--region", "US")
    assert test["name"] == "VCard Test"
    assert (test["given_name"], test["family_name"]) == ("VCard", "Test")
    assert (test["company"], test["title"]) == ("TheCompany", "TheJobTitle")
    assert test["email"] == "email@example.com"  # the first: none is marked preferred
    # The WORK number is dialled (ranked over untyped ones), the CELL is the mobile;
    # faxes and pagers are never dialled: kept in the notes with their type.
    assert (test["phone"], test["phone_e164"]) == ("5555551113", "+15555551113")
    assert (test["mobile"], test["mobile_e164"]) == ("5555551115", "+15555551115")
    details = _details(db_path)
    phones = details["phones"]
    assert isinstance(phones, list)
    # Faxes are fax items, never the dialled number; the pager is kept as "other".
    assert ("fax", "5555551117", 0) in phones and ("fax", "5555551118", 0) in phones
    assert ("other", "5555551120", 0) in phones
    assert [p for p in phones if p[2]] == [("work", "5555551113", 1)]
    assert len(phones) == 11  # every TEL of the card
    assert str(test["notes"]).startswith("note line 1 note line 2 CustomField: field value")
    # ADR ;;111 Main St;NY;New York;10011; : the locality is "NY" as the card says it.
    assert (test["city"], test["country"]) == ("NY", None)
    assert test["external_id"] is None  # Google's export has no UID
    assert len(details["emails"]) == 5  # type: ignore[arg-type]
    assert details["addresses"][0] == ("111 Main St", "NY", "New York", "10011", None)  # type: ignore[index]
    assert len(details["addresses"]) == 5  # type: ignore[arg-type]
    assert details["person"] == ("1912-06-23", "TheNickname", None, "http://www.example1.com")
    for name in ("X-PHONETIC-FIRST-NAME", "X-GTALK", "X-SKYPE", "X-ABDATE", "X-ABRELATEDNAMES"):
        assert name in str(details["kept"]), name
