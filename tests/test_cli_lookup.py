"""`crm find`, `crm who`, `crm show` through Typer's CliRunner and a real `crm` process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui import output
from crmtui.cli import app
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store

HIT_KEYS = {"id", "name", "company", "email", "phone", "city"}
CRM = Path(sys.executable).parent / "crm"


@pytest.fixture
def book(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A small database file and the ids of its contacts."""
    path = tmp_path / "book.db"
    store = open_store(path)
    ids: dict[str, str] = {}
    with store.write() as tx:
        for name, company, phone, city, dnc in (
            ("John Smith", "Acme GmbH", "+49 151 12345678", "Berlin", True),
            ("Jon Smith", "Globex", "+49 30 901820", "Hamburg", False),
            ("Anna Müller", None, "0171 9876 5432", "München", False),
        ):
            data = ContactCreate(
                name=name, company=company, phone=phone, city=city, do_not_call=dnc
            )
            ids[name] = create_contact(tx=tx, data=data, region="DE").id
    store.close()
    return path, ids


def _crm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script the way a shell would."""
    command = [str(CRM)] if CRM.exists() else [sys.executable, "-m", "crmtui.entry"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


# ----------------------------------------------------------------------- real process


def test_process_find_table(book) -> None:
    path, _ = book
    result = _crm("find", "smyth", "--db", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "COMPANY"]
    assert any(line.startswith("John Smith") for line in lines[1:])
    assert result.stderr == ""


def test_process_find_json_and_global_db(book) -> None:
    path, ids = book
    result = _crm("--db", str(path), "find", "muller", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows[0]["id"] == ids["Anna Müller"]
    assert set(rows[0]) >= HIT_KEYS
    assert rows[0]["name"] == "Anna Müller"


def test_process_find_csv(book) -> None:
    path, ids = book
    result = _crm("find", "smith", "-f", "csv", env={"CRMTUI_DB": str(path)})
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) >= HIT_KEYS
    assert {r["id"] for r in rows} == {ids["John Smith"], ids["Jon Smith"]}


def test_process_who(book) -> None:
    path, ids = book
    for typed in ("+49 151 12345678", "0151 1234 5678", "2345678"):
        result = _crm("who", typed, "--db", str(path), "--format", "json")
        assert result.returncode == 0, (typed, result.stderr)
        assert json.loads(result.stdout)[0]["id"] == ids["John Smith"]


def test_process_exit_codes(book, tmp_path: Path) -> None:
    path, _ = book
    nothing = _crm("find", "qqxxzz", "--db", str(path))
    assert nothing.returncode == 1
    assert nothing.stdout == "" and "qqxxzz" in nothing.stderr
    assert _crm("who", "+1 999 000 1111", "--db", str(path)).returncode == 1
    bad_format = _crm("find", "smith", "--format", "xml", "--db", str(path))
    assert bad_format.returncode == 2 and "xml" in bad_format.stderr
    assert _crm("find", "--db", str(path)).returncode == 2  # no query
    assert _crm("who", "12", "--db", str(path)).returncode == 2  # not a phone
    missing = tmp_path / "nowhere" / "crm.db"
    gone = _crm("find", "smith", "--db", str(missing))
    assert gone.returncode == 3
    assert str(missing) in gone.stderr and "crm demo --db" in gone.stderr
    assert not missing.exists()  # a lookup never creates a database


def test_process_find_upgrades_a_database_behind(tmp_path: Path) -> None:
    """A file with no schema yet is migrated by the slow fallback, then answered."""
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    result = _crm("find", "smith", "--db", str(path))
    assert result.returncode == 1, result.stderr  # migrated, and empty
    assert "no contact matches" in result.stderr


def test_fast_path_imports_nothing_heavy(book) -> None:
    path, _ = book
    code = (
        "import sys\n"
        "from crmtui.fastcli import run\n"
        f"code = run(['find', 'smith', '--db', {str(path)!r}])\n"
        "assert code == 0, code\n"
        "heavy = {'sqlmodel', 'sqlalchemy', 'textual', 'rich', 'typer', 'alembic', "
        "'phonenumbers', 'pydantic'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_entry_point_find_imports_nothing_heavy(book) -> None:
    path, _ = book
    code = (
        "import sys\n"
        "from crmtui.entry import main\n"
        "try:\n"
        f"    main(['find', 'smith', '--db', {str(path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = {'sqlmodel', 'sqlalchemy', 'textual', 'rich', 'typer', 'alembic', "
        "'phonenumbers'}\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "[]"
    assert "John Smith" in result.stdout


# ----------------------------------------------------------------------- CliRunner


def test_runner_find_and_who(book) -> None:
    path, ids = book
    runner = CliRunner()
    result = runner.invoke(app, ["find", "jon", "--db", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["id"] == ids["Jon Smith"]
    result = runner.invoke(app, ["--db", str(path), "who", "030 901820", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert next(csv.DictReader(io.StringIO(result.stdout)))["id"] == ids["Jon Smith"]
    result = runner.invoke(app, ["find", "--limit", "1", "smith", "--db", str(path), "-f", "json"])
    assert len(json.loads(result.stdout)) == 1


def test_runner_exit_codes(book, tmp_path: Path) -> None:
    path, _ = book
    runner = CliRunner()
    assert runner.invoke(app, ["find", "qqxxzz", "--db", str(path)]).exit_code == 1
    assert runner.invoke(app, ["find", "smith", "-f", "yaml", "--db", str(path)]).exit_code == 2
    assert runner.invoke(app, ["find", "smith", "--db", str(tmp_path / "no.db")]).exit_code == 3


def test_runner_help_documents_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    for command in ("find", "who", "show"):
        assert command in top.stdout
    show_help = runner.invoke(app, ["show", "--help"])
    assert "several contacts" in show_help.stdout


def test_show_card_by_name_and_id(book) -> None:
    path, ids = book
    runner = CliRunner()
    result = runner.invoke(app, ["show", "john smith", "--db", str(path)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.splitlines()[0] == "John Smith"
    assert "DO NOT CALL" in text.splitlines()[1]  # consent comes right after the name
    assert "Acme GmbH" in text
    assert text.count("none yet") == 3  # activities, ticklers, deals
    result = runner.invoke(app, ["show", ids["Anna Müller"], "--db", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["contact"]["id"] == ids["Anna Müller"]
    assert card["account"] is None and card["activities"] == []
    assert "none yet" in runner.invoke(app, ["show", ids["Anna Müller"], "--db", str(path)]).stdout


def test_show_ambiguous_name_lists_candidates(book) -> None:
    path, ids = book
    result = CliRunner().invoke(app, ["show", "smith", "--db", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert ids["John Smith"] in result.stderr and ids["Jon Smith"] in result.stderr
    assert CliRunner().invoke(app, ["show", "nobody-at-all", "--db", str(path)]).exit_code == 1


def test_table_fits_width_and_keeps_ids() -> None:
    rows = [{"name": "A" * 80, "company": "B" * 50, "id": "0" * 36}]
    lines = output.format_table(rows, ("name", "company", "id"), width=70)
    assert all(len(line) <= 70 for line in lines)
    assert lines[1].endswith("0" * 36)
    assert "…" in lines[1]


def test_who_does_not_even_import_rapidfuzz(book) -> None:
    path, _ = book
    code = (
        "import sys\n"
        "from crmtui.fastcli import run\n"
        f"assert run(['who', '0151 1234 5678', '--db', {str(path)!r}]) == 0\n"
        "sys.stderr.write(repr('rapidfuzz' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "False"
