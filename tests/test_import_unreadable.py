"""One unreadable field never costs the whole row (TARGETS.md, import of real files).

A number, an address, a birthday or a label we cannot read is kept as text, named in
the dry run, and the person is imported; only a value that is not a person's field at
all (a cell of another column's text, far too long) still refuses the row.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app

HEADER = "First Name,Last Name,Email,Phone,Mobile,Birthday,Tags,Country\n"


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _people(db: Path) -> dict[str, dict[str, object]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute(
            "SELECT name, email, phone, phone_e164, mobile, mobile_e164, birthday, tags, extra"
            " FROM contact"
        ).fetchall()
    finally:
        con.close()
    return {r["name"]: dict(r) for r in rows}


def test_each_unreadable_field_is_kept_and_named(db_path: Path, tmp_path: Path) -> None:
    long_label = "Strategic Accounts Europe Middle East and Africa"
    csv = tmp_path / "crm.csv"
    csv.write_text(
        HEADER
        + "Ada,Lovelace,ada at example,+49 30 1234567,,,,Germany\n"
        + "Grace,Hopper,grace@example.com,ask reception,+1 (212) 204-34456,,,United States\n"
        + "Alan,Turing,alan@example.com,,,3/4/1912,,United Kingdom\n"
        + "Edsger,Dijkstra,edsger@example.com,,,25/05/1930,"
        + f'"vip, {long_label}",Netherlands\n',
        encoding="utf-8",
    )
    code, out, err = _crm(db_path, "import", "csv", "--dry-run", str(csv))
    assert code == 0, err
    assert "4 new" in err and "0 rejected" in err
    assert "line 2:   note: email 'ada at example' is not an address we can write to" in out
    assert "line 3:   note: phone 'ask reception' cannot be read as a number: kept as typed" in out
    assert "line 3:   note: mobile '+1 (212) 204-34456' cannot be read as a number" in out
    assert "line 4:   note: birthday '3/4/1912' is not one date we can be sure of" in out
    assert "line 5:   note: birthday '25/05/1930' read as 1930-05-25" in out
    assert f"line 5:   note: label '{long_label}' is longer than a tag" in out

    code, out, err = _crm(db_path, "import", "csv", str(csv))
    assert code == 0, err
    people = _people(db_path)
    ada = people["Ada Lovelace"]
    assert ada["email"] is None and ada["phone_e164"] == "+49301234567"
    assert json.loads(str(ada["extra"]))["csv"] == {"Email (not an address)": "ada at example"}
    grace = people["Grace Hopper"]
    assert (grace["phone"], grace["phone_e164"]) == ("ask reception", None)
    assert (grace["mobile"], grace["mobile_e164"]) == ("+1 (212) 204-34456", None)
    alan = people["Alan Turing"]
    assert alan["birthday"] is None
    assert json.loads(str(alan["extra"]))["csv"] == {"Birthday (as written)": "3/4/1912"}
    edsger = people["Edsger Dijkstra"]
    assert edsger["birthday"] == "1930-05-25"
    assert json.loads(str(edsger["tags"])) == ["vip"]
    assert json.loads(str(edsger["extra"]))["csv"] == {"Tags (too long for a tag)": long_label}
    # The card shows what was kept, and that the number it holds cannot be dialled.
    code, out, err = _crm(db_path, "show", "Grace Hopper")
    assert code == 0, err
    assert "ask reception  (marked, cannot be dialled)" in out
    code, out, err = _crm(db_path, "show", "Ada Lovelace")
    assert code == 0, err
    assert "Email (not an address): ada at example" in out


def test_a_cell_of_another_columns_text_still_refuses_the_row(
    db_path: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "shifted.csv"
    paragraph = "Met at the fair; wants a quote for 40 units before the end of the quarter."
    csv.write_text(HEADER + f'Ada,Lovelace,ada@example.com,"{paragraph}",,,,\n', encoding="utf-8")
    code, out, err = _crm(db_path, "import", "csv", str(csv))
    assert code == 2
    assert "line 2: rejected: phone:" in out and "is not a phone number" in out
    assert "nothing was imported" in err


def test_salesforce_birthdate_and_department_fill_the_model(db_path: Path, tmp_path: Path) -> None:
    csv = tmp_path / "report.csv"
    csv.write_text(
        '"First Name","Last Name","Account Name","Department","Birthdate","Email","Contact ID"\n'
        '"Rosa","Parks","Acme","Purchasing","12/25/1979","rosa@acme.example","0031000001"\n'
        '"Ida","Wells","Acme","Legal","4/3/1962","ida@acme.example","0031000002"\n',
        encoding="utf-8",
    )
    code, out, err = _crm(db_path, "import", "csv", "--dry-run", str(csv))
    assert code == 0, err
    assert "column 'Birthdate' -> birthday" in err and "column 'Department' -> department" in err
    assert "line 3:   note: birthday '4/3/1962' is not one date we can be sure of" in out
    assert _crm(db_path, "import", "csv", str(csv))[0] == 0
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute(
            "SELECT name, department, birthday FROM contact ORDER BY name"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("Ida Wells", "Legal", None), ("Rosa Parks", "Purchasing", "1979-12-25")]
    # The next export moved Ida to another department and gave her birthday in full:
    # an update changes the person fields too, as it changes the title.
    csv.write_text(
        '"First Name","Last Name","Account Name","Department","Birthdate","Email","Contact ID"\n'
        '"Ida","Wells","Acme","Compliance","1962-07-16","ida@acme.example","0031000002"\n',
        encoding="utf-8",
    )
    code, out, err = _crm(db_path, "import", "csv", "--dry-run", "--update-existing", str(csv))
    assert code == 0, err
    assert "department: 'Legal' -> 'Compliance'" in out
    assert _crm(db_path, "import", "csv", "--update-existing", str(csv))[0] == 0
    con = sqlite3.connect(db_path)
    try:
        ida = con.execute(
            "SELECT department, birthday FROM contact WHERE name = 'Ida Wells'"
        ).fetchone()
    finally:
        con.close()
    assert ida == ("Compliance", "1962-07-16")
