"""`crm contact add/edit` with typed phones, emails and addresses; `crm show` lists them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.migrate import upgrade

runner = CliRunner()


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_edit_and_show_items(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    upgrade(db)
    code, out, err = _crm(
        db, "contact", "add", "Ben Ode",
        "--phone", "work:+49 30 1234567;ext=12", "--phone", "fax:+49 30 1234599",
        "--phone", "mobile:+49 151 7654321;primary", "--email", "home:ben@example.org",
        "--address", "work:street=Hauptstr. 1;postcode=10115;city=Berlin;country=DE",
        "--birthday", "1980-04-15", "--department", "Einkauf",
    )  # fmt: skip
    assert code == 0, err
    cid = out.strip()
    con = sqlite3.connect(db)
    assert con.execute("SELECT phone, mobile, email, city FROM contact").fetchone() == (
        None,
        "+49 151 7654321",
        "ben@example.org",
        "Berlin",
    )
    code, _, err = _crm(
        db, "contact", "edit", cid, "--add-phone", "home:+49 30 5555555",
        "--remove-phone", "fax", "--primary-phone", "work",
    )  # fmt: skip
    assert code == 0, err
    assert con.execute("SELECT phone FROM contact").fetchone() == ("+49 30 1234567",)
    kinds = con.execute(
        "SELECT kind FROM contact_phone WHERE deleted_at IS NULL ORDER BY kind"
    ).fetchall()
    assert kinds == [("home",), ("mobile",), ("work",)]
    code, out, err = _crm(db, "show", cid)
    assert code == 0, err
    assert "+49 30 1234567 ext. 12  (dialled)" in out
    assert "ben@example.org" in out and "Hauptstr. 1, 10115 Berlin" in out
    assert "1980-04-15" in out and "Einkauf" in out


def test_bad_options_exit_2_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    upgrade(db)
    for args in (
        ("--phone", "pager:+49 30 1234567"),
        ("--birthday", "15.04.1980"),
        ("--address", "work:town=Berlin"),
        ("--phone", "fax:+49 30 1234599;primary"),
    ):
        code, _, err = _crm(db, "contact", "add", "Cy", *args)
        assert code == 2, (args, err)
        assert err.startswith("crm: ") and err.count("\n") == 1, err
    assert sqlite3.connect(db).execute("SELECT count(*) FROM contact").fetchone() == (0,)
    code, _, err = _crm(db, "contact", "add", "Dee", "--phone", "+49 30 1111111")
    assert code == 0
