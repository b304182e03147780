"""Unknown CSV columns are kept, not dropped (issue 15): stored on the contact
(`Contact.extra`, beside a vCard's unknown properties), listed once in the summary,
shown by `crm show`, and brought back by re-importing our own CSV export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.kept import kept_lines, merged, with_columns

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _extras(db_path: Path) -> dict[str, dict[str, object]]:
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute("SELECT name, extra FROM contact WHERE deleted_at IS NULL").fetchall()
    finally:
        db.close()
    return {name: json.loads(extra) if extra else {} for name, extra in rows}


def test_salesforce_columns_no_field_takes_are_kept_and_shown(db_path: Path) -> None:
    code, _out, err = _crm(db_path, "import", "csv", str(DATA / "salesforce_contacts.csv"))
    assert code == 0, err
    kept = [line for line in err.splitlines() if line.startswith("kept, not modelled:")]
    assert kept == ["kept, not modelled: Contact Owner (on each contact; crm show lists them)"]
    assert "not imported: columns" not in err
    assert _extras(db_path)["Anna Müller"] == {"csv": {"Contact Owner": "Jane Rep"}}
    # The mailing street, state and postcode are modelled: parts of the address item.
    db = sqlite3.connect(db_path)
    assert db.execute(
        "SELECT street, city, region, postcode, country FROM contact_address "
        "WHERE city IN ('Hamburg', 'Madrid') ORDER BY city"
    ).fetchall() == [
        ("Hafenstraße 12", "Hamburg", None, "20457", "DE"),
        ("Calle Mayor 5", "Madrid", "Madrid", "28013", "ES"),
    ]
    db.close()
    code, out, _ = _crm(db_path, "find", "Anna Müller", "--format", "json")
    contact_id = json.loads(out)[0]["id"]
    code, out, err = _crm(db_path, "show", contact_id)
    assert code == 0, err
    assert "kept, not modelled (from an import)" in out
    assert "  Contact Owner: Jane Rep" in out
    assert "Hafenstraße 12, 20457 Hamburg, DE" in out  # the address item, in full


def test_hubspot_lead_status_is_kept_and_map_can_drop_it(db_path: Path, tmp_path: Path) -> None:
    source = str(DATA / "hubspot_contacts_cp1252.csv")
    code, _out, err = _crm(db_path, "import", "csv", source, "--dry-run")
    assert code == 0, err
    assert "kept, not modelled: Lead Status" in err
    code, _out, err = _crm(db_path, "import", "csv", source, "--map", "Lead Status=", "--dry-run")
    assert code == 0, err
    assert "not imported: columns Lead Status" in err and "kept, not modelled" not in err
    code, _out, err = _crm(db_path, "import", "csv", source)
    assert code == 0, err
    assert _extras(db_path)["Jürgen Schäfer"] == {"csv": {"Lead Status": "Open"}}


def test_our_csv_export_brings_kept_columns_back(db_path: Path, tmp_path: Path) -> None:
    assert _crm(db_path, "import", "csv", str(DATA / "salesforce_contacts.csv"))[0] == 0
    exported = tmp_path / "out.csv"
    code, out, err = _crm(db_path, "export", "csv", "contacts")
    assert code == 0, err
    exported.write_text(out, encoding="utf-8")
    other = tmp_path / "other.db"
    code, _out, err = _crm(other, "import", "csv", str(exported))
    assert code == 0, err
    assert "kept, not modelled" not in err  # our own columns are fields, not kept ones
    assert _extras(other) == _extras(db_path)


def test_update_existing_merges_kept_columns(db_path: Path, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("Record ID,First Name,Last Name,Lead Status,Shoe Size\n7,Ann,Lee,New,38\n")
    assert _crm(db_path, "import", "csv", str(first), "--profile", "hubspot")[0] == 0
    second = tmp_path / "b.csv"
    second.write_text("Record ID,First Name,Last Name,Lead Status\n7,Ann,Lee,Customer\n")
    code, _out, err = _crm(
        db_path, "import", "csv", str(second), "--profile", "hubspot", "--update-existing"
    )
    assert code == 0, err
    assert _extras(db_path)["Ann Lee"] == {"csv": {"Lead Status": "Customer", "Shoe Size": "38"}}


def test_a_broken_extra_column_names_its_row(db_path: Path, tmp_path: Path) -> None:
    f = tmp_path / "ours.csv"
    f.write_text(
        "id,name,phone_e164,mobile_e164,account_id,updated_at,extra\nx1,Ann Lee,,,,,not json\n"
    )
    code, out, _err = _crm(db_path, "import", "csv", str(f), "--dry-run")
    assert code != 0
    assert "line 2: rejected: extra: is not a JSON object" in out


def test_kept_properties_merge_and_read() -> None:
    vcard = json.dumps({"vcard": ["X-FOO:bar"]})
    both = with_columns(vcard, {"Lead Status": "Open"})
    assert kept_lines(both) == ["Lead Status: Open", "X-FOO:bar"]
    again = merged(both, json.dumps({"csv": {"Lead Status": "Won"}, "vcard": ["X-BAZ:1"]}))
    assert kept_lines(again) == ["Lead Status: Won", "X-FOO:bar", "X-BAZ:1"]
    assert merged(None, None) is None and kept_lines(None) == []
