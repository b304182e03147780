"""vCard round trip of the contact model: every modelled field, the UID and unknown properties."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app

runner = CliRunner()

CARD = """BEGIN:VCARD\r
VERSION:3.0\r
UID:urn:uuid:6f1c2d3e-aaaa-4bbb-8ccc-123456789abc\r
FN:Greta Lindqvist\r
N:Lindqvist;Greta;;;\r
NICKNAME:Gigi\r
BDAY:1979-11-03\r
ORG:Nordkraft AB;Purchasing\r
TITLE:Head of Purchasing\r
URL:https://nordkraft.example/greta\r
TEL;TYPE=WORK,VOICE:+46 8 123 456 78\r
TEL;TYPE=CELL:+46 70 123 45 67\r
TEL;TYPE=HOME:+46 8 765 432 10\r
TEL;TYPE=FAX,WORK:+46 8 123 456 99\r
EMAIL;TYPE=INTERNET,WORK,PREF:greta@nordkraft.example\r
EMAIL;TYPE=INTERNET,HOME:gigi@mail.example\r
ADR;TYPE=WORK,PREF:;;Kungsgatan 5;Stockholm;Stockholm County;111 43;SE\r
ADR;TYPE=HOME:;;Villavägen 2;Uppsala;;752 36;SE\r
X-SOCIALPROFILE;TYPE=linkedin:https://linkedin.example/greta\r
X-CUSTOM-FLAG:keep me\r
END:VCARD\r
"""


def _crm(db: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stderr


def _model(db: Path) -> dict[str, object]:
    """Everything the model holds about the one contact, ids left out."""
    con = sqlite3.connect(db)
    try:
        (cid,) = con.execute("SELECT id FROM contact").fetchone()
        contact = con.execute(
            "SELECT name, given_name, family_name, title, birthday, nickname, department, website,"
            " source_uid, external_id, phone, phone_e164, mobile, mobile_e164, email, city,"
            " country, extra, (SELECT name FROM account WHERE id = account_id) FROM contact"
        ).fetchone()
        phones = sorted(
            con.execute(
                "SELECT kind, e164, extension, is_primary FROM contact_phone WHERE contact_id = ?",
                (cid,),
            ).fetchall()
        )
        emails = sorted(
            con.execute(
                "SELECT kind, address, is_primary FROM contact_email WHERE contact_id = ?", (cid,)
            ).fetchall()
        )
        places = sorted(
            con.execute(
                "SELECT kind, street, city, region, postcode, country, is_primary"
                " FROM contact_address WHERE contact_id = ?",
                (cid,),
            ).fetchall()
        )
    finally:
        con.close()
    extra = json.loads(contact[17])
    return {
        "contact": (*contact[:17], sorted(extra["vcard"]), contact[18]),
        "phones": phones,
        "emails": emails,
        "places": places,
    }


def test_import_export_import_keeps_every_modelled_field_the_uid_and_unknown_lines(
    tmp_path: Path,
) -> None:
    source = tmp_path / "greta.vcf"
    source.write_text(CARD, encoding="utf-8", newline="")
    first, second = tmp_path / "one.db", tmp_path / "two.db"
    assert _crm(first, "import", "vcard", str(source))[0] == 0
    held = _model(first)
    contact = held["contact"]
    assert contact[4:10] == (  # type: ignore[index]
        "1979-11-03",
        "Gigi",
        "Purchasing",
        "https://nordkraft.example/greta",
        "6f1c2d3e-aaaa-4bbb-8ccc-123456789abc",
        "6f1c2d3e-aaaa-4bbb-8ccc-123456789abc",
    )
    assert held["phones"] == [
        ("fax", "+46812345699", None, 0),
        ("home", "+46876543210", None, 0),
        ("mobile", "+46701234567", None, 0),
        ("work", "+46812345678", None, 1),
    ]
    assert held["emails"] == [
        ("home", "gigi@mail.example", 0),
        ("work", "greta@nordkraft.example", 1),
    ]
    assert held["places"] == [
        ("home", "Villavägen 2", "Uppsala", None, "752 36", "SE", 0),
        ("work", "Kungsgatan 5", "Stockholm", "Stockholm County", "111 43", "SE", 1),
    ]
    assert contact[-2] == [  # type: ignore[index]
        "X-CUSTOM-FLAG:keep me",
        "X-SOCIALPROFILE;TYPE=linkedin:https://linkedin.example/greta",
    ]
    out = tmp_path / "out.vcf"
    assert _crm(first, "export", "vcard", str(out))[0] == 0
    text = out.read_text(encoding="utf-8")
    assert "UID:6f1c2d3e-aaaa-4bbb-8ccc-123456789abc" in text
    assert "X-CUSTOM-FLAG:keep me" in text
    assert _crm(second, "import", "vcard", str(out))[0] == 0
    assert _model(second) == held
    # Our own export into the first database again: matched by its UID, nothing new.
    code, err = _crm(first, "import", "vcard", str(out))
    assert code == 0 and "0 new" in err
