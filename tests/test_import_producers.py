"""vCards from more producers nobody here wrote (tests/data/SOURCES.md), field by field.

GNOME Evolution (a desktop mail client) and Google Contacts, as kept verbatim by
ez-vcard's test suite; with khard, vobject and the Apple-style sipgate card
(tests/test_import_realdata.py) that makes five producers. Each test says what
today's model keeps, and that what it cannot hold yet is *reported* as dropped.
Lines marked "contactmodel" list fields the typed model (branch contactmodel:
several emails and phones, addresses, birthday, nickname, department, website)
will keep: those expectations flip to stored values when it lands.
"""

from __future__ import annotations

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
    dropped = _dropped(err)
    # contactmodel: street/postcode, department, nickname, birthday, website become fields.
    for name in (
        "ADR street, region and postcode",
        "ORG unit (department)",
        "NICKNAME",
        "BDAY",
        "URL",
    ):
        assert f"{name} (1 card)" in dropped, name
    # Producer-only properties are listed, never silently lost.
    for name in ("X-AIM", "X-EVOLUTION-FILE-AS", "X-EVOLUTION-SPOUSE", "X-EVOLUTION-ANNIVERSARY"):
        assert f"{name} (1 card)" in dropped, name


def test_google_contacts_card_field_by_field(db_path: Path) -> None:
    card = REAL / "google" / "gmail-single2.vcf"
    test, _out, err = _import(db_path, card, "--region", "US")
    assert test["name"] == "VCard Test"
    assert (test["given_name"], test["family_name"]) == ("VCard", "Test")
    assert (test["company"], test["title"]) == ("TheCompany", "TheJobTitle")
    assert test["email"] == "email@example.com"  # the first: none is marked preferred
    # The WORK number is dialled (ranked over untyped ones), the CELL is the mobile;
    # faxes and pagers are never dialled: kept in the notes with their type.
    assert (test["phone"], test["phone_e164"]) == ("5555551113", "+15555551113")
    assert (test["mobile"], test["mobile_e164"]) == ("5555551115", "+15555551115")
    notes = str(test["notes"])
    assert "fax (home): 5555551117" in notes and "fax (work): 5555551118" in notes
    assert "pager: 5555551120" in notes
    assert "5555551117" not in (test["phone"], test["mobile"])
    # Notes are one line in crmtui: the card's line breaks (\n) become spaces.
    assert notes.startswith("note line 1 note line 2 CustomField: field value / ")
    # ADR ;;111 Main St;NY;New York;10011; : the locality is "NY" as the card says it.
    assert (test["city"], test["country"]) == ("NY", None)
    assert test["external_id"] is None  # Google's export has no UID
    dropped = _dropped(err)
    # contactmodel: the second and later emails and addresses, street and postcode,
    # nickname, birthday and websites become fields.
    for name in (
        "EMAIL (second and later)",
        "ADR street, region and postcode",
        "ADR (second and later)",
        "NICKNAME",
        "BDAY",
        "URL",
    ):
        assert f"{name} (1 card)" in dropped, name
    for name in ("X-PHONETIC-FIRST-NAME", "X-GTALK", "X-SKYPE", "X-ABDATE", "X-ABRELATEDNAMES"):
        assert f"{name} (1 card)" in dropped, name
