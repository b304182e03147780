"""Files nobody here wrote (tests/data/SOURCES.md), field by field: what survives an import,
what is kept as typed, what is listed as dropped (issue 15)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.countries import country_code
from crmtui.formats.csv_import import MAX_CELL, CsvImportError, read_csv
from crmtui.formats.encodings import decode_file

REAL = Path(__file__).parent / "data" / "real"
DATA = Path(__file__).parent / "data"
runner = CliRunner()
COLUMNS = (
    "name, given_name, family_name, title, email, phone, phone_e164, mobile, mobile_e164, "
    "city, country, tags, notes, external_id, id, birthday, nickname, website, extra, "
    "(SELECT name FROM account WHERE id = account_id)"
)


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _contacts(db: Path) -> dict[str, dict[str, object]]:
    con = sqlite3.connect(db)
    try:
        cur = con.execute(f"SELECT {COLUMNS} FROM contact")
        names = [d[0] for d in cur.description]
        names[-1] = "company"
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("United States of America", "US"), ("Czechia", "CZ"), ("Türkiye", "TR"), ("DEU", "DE"),
        ("Korea, Republic of", "KR"), ("Viet Nam", "VN"), ("Deutschland", "DE"), ("de", "DE"),
        ("Allemagne", "DE"), ("U.S.A.", "US"), ("Österreich", "AT"), ("日本", "JP"),
        ("HomeCountry", None), ("Freedonia", None),
    ],
)  # fmt: skip
def test_countries_in_many_forms(text: str, code: str | None) -> None:
    assert country_code(text) == code


def test_vobject_full_40_card(db_path: Path) -> None:
    code, _out, err = _crm(db_path, "import", "vcard", str(REAL / "vobject_vcard40_full.vcf"))
    assert code == 0, err
    john = _contacts(db_path)["Dr. John Q. Public, III"]
    assert (john["family_name"], john["given_name"]) == ("Public", "John")
    assert john["email"] == "johnny@personal.example.org"  # the PREF=1 one
    assert (john["phone_e164"], john["mobile_e164"]) == ("+15555555555", "+15551234567")
    assert (john["city"], john["country"]) == ("Somewhere", "US")  # the PREF=1 address
    assert (john["title"], john["company"]) == ("CEO", "Example Corp.")
    assert john["tags"] == '["business", "networking"]'
    assert john["notes"] == "This is a note about John. He likes vCards."
    assert john["external_id"] == "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    # Modelled since 0007: birthday, nickname, website, every email; IMPP kept as it came.
    assert (john["birthday"], john["nickname"]) == ("1985-04-15", "Johnny")
    assert john["website"].startswith("http")
    assert "IMPP" in str(john["extra"])
    dropped = next(line for line in err.splitlines() if line.startswith("not imported:"))
    assert "PHOTO (skipped) (1 card)" in dropped and "IMPP" not in dropped


def test_apple_style_card_with_groups_crlf_and_escaped_commas(db_path: Path) -> None:
    code, _out, err = _crm(db_path, "import", "vcard", str(REAL / "sipgate_apple_style.vcf"))
    assert code == 0, err
    john = _contacts(db_path)["John Doe"]
    assert john["email"] == "johnDoe@example.org" and john["phone_e164"] == "+4915199999999"
    assert (john["city"], john["country"], john["company"]) == (
        "Worktown",
        "US",
        "Example.com Inc.",
    )
    assert str(john["notes"]).startswith("John Doe has a long and varied history, being documented")
    # Kept now: the unmodelled property as it came, the street as the address item's.
    assert "X-ABRELATEDNAMES" in str(john["extra"])
    db = sqlite3.connect(db_path)
    streets = [r[0] for r in db.execute("SELECT street FROM contact_address")]
    assert any(streets)


def test_khard_cards_group_prefix_unknown_country_and_tel_uri(db_path: Path) -> None:
    for name in ("khard_labels.vcf", "khard_post.vcf", "khard_tel_value_uri.vcf"):
        code, _out, err = _crm(db_path, "import", "vcard", str(REAL / name), "--dry-run")
        assert code == 0, err
        assert _crm(db_path, "import", "vcard", str(REAL / name))[0] == 0
    rows = _contacts(db_path)
    assert rows["labeled guy"]["company"] == "Test Inc"  # item1.ORG
    assert rows["labeled guy"]["external_id"] == "51953f58-237e-429a-a271-cb47c026a895"
    # An address book's placeholder country is kept as text, never a rejected card.
    assert (rows["With post address"]["city"], rows["With post address"]["country"]) == (
        "The City",
        "HomeCountry",
    )
    # No country and no configured region: the number is kept as typed, not guessed.
    assert (rows["bug 195"]["mobile"], rows["bug 195"]["mobile_e164"]) == ("67545678", None)


def test_guesses_and_kept_values_are_shown_by_the_dry_run(db_path: Path) -> None:
    code, out, _err = _crm(
        db_path, "import", "vcard", str(REAL / "khard_tel_value_uri.vcf"), "--dry-run"
    )
    assert code == 0
    assert "mobile '67545678' has no country code and no region is known" in out
    code, out, _err = _crm(db_path, "import", "vcard", str(REAL / "khard_post.vcf"), "--dry-run")
    assert "country 'HomeCountry' is not a country we know: kept as text" in out
    code, out, err = _crm(
        db_path, "import", "csv", str(DATA / "switchboard_salesforce.csv"), "--dry-run"
    )
    assert code == 0, err
    assert "phone '0212 555 12 34' read as TR (the row's country): +902125551234" in out
    assert "phone '555 0100' has no country code and no region is known" in out


def test_configured_region_is_the_fallback_and_is_shown(db_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "home" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('default_region = "US"\n')
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("Name,Phone\nAnn Lee,212 555 0100\n")
    result = runner.invoke(
        app,
        ["--db", str(db_path), "import", "csv", str(csv_file), "--dry-run"],
        env={"CRMTUI_CONFIG": str(config)},
    )
    assert "read as US (default_region): +12125550100" in result.stdout, result.stderr
    _code, out, _err = _crm(db_path, "import", "csv", str(csv_file), "--region", "GB", "-n")
    assert "read as GB (default_region)" in out


def test_salesforce_export_with_switchboards_and_countries(db_path: Path) -> None:
    code, _out, err = _crm(db_path, "import", "csv", str(DATA / "switchboard_salesforce.csv"))
    assert code == 0, err
    rows = _contacts(db_path)
    assert len(rows) == 9  # nobody merged, nobody rejected
    assert {r["country"] for r in rows.values()} == {
        "DE",
        "TR",
        "CZ",
        "KR",
        "VN",
        "US",
        "Freedonia",
    }
    assert rows["Maria Schmidt"]["phone_e164"] == rows["Jonas Weber"]["phone_e164"]
    assert rows["Min-jun Kim"]["phone_e164"] == "+8223123456"
    assert rows["Bob Stone"]["phone"] == "+1 212 555 0100 ext. 12"
    assert rows["Ann Lee"]["phone"] == "555 0100" and rows["Ann Lee"]["phone_e164"] is None


def test_android_21_commas_quoted_printable_crcrlf_photo_and_fax(db_path: Path) -> None:
    code, _out, err = _crm(db_path, "import", "vcard", str(REAL / "android_21_crcrlf.vcf"), "-n")
    assert code == 0, err
    assert _crm(db_path, "import", "vcard", str(REAL / "android_21_crcrlf.vcf"))[0] == 0
    rows = _contacts(db_path)
    jane = rows["Doe, Jane"]
    assert (jane["family_name"], jane["given_name"]) == ("Doe", "Jane")
    assert (jane["title"], jane["company"]) == ("VP, Sales", "Acme, Inc.")
    assert jane["phone"] == "+1 212 555 0100 ext. 12" and jane["phone_e164"] == "+12125550100"
    assert jane["mobile_e164"] == "+19175550123"
    assert jane["notes"] == "Met at the fair, wants a demo, call after Q3 – café meeting."
    # The fax is a phone item of its own, never the dialled one.
    faxes = sqlite3.connect(db_path).execute(
        "SELECT number, is_primary FROM contact_phone WHERE kind = 'fax' AND contact_id = ?",
        (jane["id"],),
    )
    assert faxes.fetchall() == [("+1 212 555 0199", 0)]
    assert (jane["city"], jane["country"]) == ("New York", "US")
    sean = rows["Seán O’Brien"]
    assert sean["phone_e164"] == "+35315550101"  # read in the card's own country, Ireland
    kept = " ".join(str(r["extra"]) for r in rows.values())
    assert "PHOTO (skipped) (1 card)" in err and "X-ANDROID-CUSTOM" in kept


def test_one_bad_byte_does_not_garble_a_utf8_file(db_path: Path) -> None:
    decoded = decode_file((REAL / "utf8_one_bad_line.vcf").read_bytes())
    assert decoded.encoding == "utf-8" and decoded.fallback_lines == [11]
    code, _out, err = _crm(db_path, "import", "vcard", str(REAL / "utf8_one_bad_line.vcf"))
    assert code == 0, err
    assert "lines that are not UTF-8, read as Windows-1252: lines 11" in err
    rows = _contacts(db_path)
    assert set(rows) == {"Zoë Ångström", "Jürgen Weiß"}
    assert rows["Jürgen Weiß"]["notes"] == "Grüße aus Köln"


def test_a_whole_cp1252_file_is_still_read_as_one(tmp_path: Path) -> None:
    f = tmp_path / "w.csv"
    f.write_bytes("Name;Ort\nJürgen;Köln\n".encode("cp1252"))
    source = read_csv(f)
    assert source.encoding == "cp1252" and source.records[0][1] == ["Jürgen", "Köln"]
    assert source.note is not None and "Windows-1252" in source.note


def test_a_huge_cell_rejects_its_row_only_and_skip_bad_skips_it(
    db_path: Path, tmp_path: Path
) -> None:
    f = tmp_path / "big.csv"
    with f.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["Name", "Email", "Notes"])
        w.writerow(["Ann Lee", "ann@x.example", "short"])
        w.writerow(["Bob Stone", "bob@x.example", "x" * 1_048_576])
        w.writerow(["Cy Young", "cy@x.example", "fine"])
    code, out, err = _crm(db_path, "import", "csv", str(f))
    assert code == 2
    assert (
        f"line 3: rejected: cell 'Notes' holds 1,048,576 characters (at most {MAX_CELL:,})" in out
    )
    code, out, err = _crm(db_path, "import", "csv", str(f), "--skip-bad")
    assert code == 0, err
    assert set(_contacts(db_path)) == {"Ann Lee", "Cy Young"}


def test_undecodable_lines_are_named(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_bytes(b"Name\nZo\xc3\xab\nBad\x81\n")
    with pytest.raises(CsvImportError, match="line 3: byte 0x81"):
        read_csv(f)


def test_vcard_export_keeps_the_extension_and_comes_back(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("Name,Phone\nBob Stone,+1 212 555 0100 ext. 12\n")
    assert _crm(db_path, "import", "csv", str(csv_file))[0] == 0
    out = tmp_path / "all.vcf"
    assert _crm(db_path, "export", "vcard", str(out))[0] == 0
    # International numbers go out as typed (the extension with them).
    assert "TEL;TYPE=WORK,VOICE,PREF:+1 212 555 0100 ext. 12" in out.read_text(encoding="utf-8")
    code, _out, err = _crm(db_path, "import", "vcard", str(out))
    assert code == 0 and "1 unchanged" in err, err


def test_usual_country_names_need_no_geocoder_and_rarer_ones_still_use_it() -> None:
    # phonenumbers' geocoder names take seconds to import; they are read only for a name
    # pycountry's catalogues and our colloquial list lack, and still recognised then.
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from crmtui.formats.countries import country_code\n"
        "assert [country_code(n) for n in ('Germany', 'Österreich', 'DEU', 'uk')]"
        " == ['DE', 'AT', 'DE', 'GB']\n"
        "assert 'phonenumbers.geocoder' not in sys.modules\n"
        "assert country_code('Cook Inseln') == 'CK' and country_code('St. Helena') == 'SH'\n"
        "assert 'phonenumbers.geocoder' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_and_said(codec: str) -> None:
    text = "Name\tEmail\r\nZoë Smith\tzoe@example.com\r\n"
    decoded = decode_file(text.encode(codec))
    assert decoded.text == text and decoded.encoding == codec
    assert decoded.note == f"no byte-order mark: read as {codec.upper()} (every other byte is zero)"


def test_a_binary_file_is_still_refused_for_its_nul_bytes(tmp_path: Path) -> None:
    blob = tmp_path / "photo.csv"
    blob.write_bytes(b"Name,Email\n" + b"abc,def\x00" * 100)
    with pytest.raises(CsvImportError, match="NUL byte"):
        read_csv(blob)
