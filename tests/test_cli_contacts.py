"""`crm contact`, `crm account` and `crm db` through the Typer app."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(db_path: Path) -> None:
    """Commands other than demo/import/db upgrade never create a --db file: make it first."""
    open_store(db_path).close()


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_contact_add_prints_the_id_and_stores_normalised_values(db_path: Path) -> None:
    code, out, err = crm(
        "contact",
        "add",
        "Jon Smith",
        "--company",
        "Acme",
        "--phone",
        "+49 151 12345678",
        "--email",
        "jon@acme.example",
        "--tag",
        "vip",
        "--db",
        str(db_path),
    )
    assert code == 0, err
    contact_id = out.strip()
    row = (
        sqlite3.connect(db_path)
        .execute("SELECT name, phone_e164, email, tags FROM contact WHERE id = ?", (contact_id,))
        .fetchone()
    )
    assert row == ("Jon Smith", "+4915112345678", "jon@acme.example", '["vip"]')
    assert "added Jon Smith" in err


def test_bad_input_exits_2_naming_the_field_and_writes_nothing(db_path: Path) -> None:
    code, out, err = crm(
        "contact", "add", "Jon Smith", "--company", "Acme", "--email", "nope", "--db", str(db_path)
    )
    assert code == 2
    assert out == ""
    assert "invalid email" in err and "nothing was saved" in err
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM account").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == 0


def test_global_db_option_and_env_are_honoured(tmp_path: Path, monkeypatch) -> None:
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("CRMTUI_DB", str(env_db))
    assert crm("contact", "add", "Env Person")[0] == 3  # a named file is never guessed into being
    assert crm("db", "upgrade")[0] == 0
    assert crm("contact", "add", "Env Person")[0] == 0
    assert env_db.exists()
    flag_db = tmp_path / "flag.db"
    assert crm("--db", str(flag_db), "db", "upgrade")[0] == 0
    assert crm("--db", str(flag_db), "contact", "add", "Flag Person")[0] == 0
    assert (
        sqlite3.connect(flag_db).execute("SELECT name FROM contact").fetchone()[0] == "Flag Person"
    )


def test_edit_tag_archive_delete_restore(db_path: Path) -> None:
    db = ["--db", str(db_path)]
    contact_id = crm("contact", "add", "Jon Smith", *db)[1].strip()
    code, _, err = crm("contact", "edit", contact_id[:10], "--city", "Köln", "--do-not-call", *db)
    assert code == 0, err
    assert "city" in err and "do_not_call" in err
    assert crm("contact", "edit", contact_id, *db)[0] == 2  # nothing to change
    assert crm("contact", "edit", "ffffffffff", "--city", "X", *db)[0] == 1
    code, out, _ = crm("contact", "tag", contact_id, "a", "b", *db)
    assert (code, out.split()) == (0, ["a", "b"])
    assert crm("contact", "tag", contact_id, "--remove", "a", *db)[1].split() == ["b"]
    assert crm("contact", "archive", contact_id, *db)[0] == 0
    code, _, err = crm("contact", "delete", contact_id, *db)
    assert code == 0 and f"crm contact restore {contact_id}" in err
    assert crm("contact", "restore", contact_id, *db)[0] == 0
    row = (
        sqlite3.connect(db_path)
        .execute("SELECT city, do_not_call, archived_at IS NOT NULL, deleted_at FROM contact")
        .fetchone()
    )
    assert row == ("Köln", 1, 1, None)


def test_account_add_refuses_a_duplicate_name(db_path: Path) -> None:
    db = ["--db", str(db_path)]
    assert crm("account", "add", "Acme", "--country", "de", *db)[0] == 0
    code, _, err = crm("account", "add", "ACME", *db)
    assert code == 2 and "exists already" in err
    account_id = sqlite3.connect(db_path).execute("SELECT id FROM account").fetchone()[0]
    assert crm("account", "edit", account_id, "--city", "Bonn", *db)[0] == 0


def test_db_current_backup_and_upgrade(db_path: Path, tmp_path: Path) -> None:
    db = ["--db", str(db_path)]
    assert crm("db", "current", "--db", str(tmp_path / "none.db"))[0] == 3  # no file
    crm("contact", "add", "Jon Smith", *db)
    code, out, _ = crm("db", "current", *db)
    assert code == 0 and "up to date" in out
    target = tmp_path / "copy.db"
    assert crm("db", "backup", str(target), *db)[0] == 0
    assert sqlite3.connect(target).execute("SELECT count(*) FROM contact").fetchone()[0] == 1
    assert crm("db", "backup", str(target), *db)[0] == 2  # never overwrites
    assert crm("db", "upgrade", *db)[0] == 0


def test_a_broken_config_file_is_reported(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("default_region = 5\n")
    monkeypatch.setenv("CRMTUI_CONFIG", str(cfg))
    code, _, err = crm("contact", "add", "Jon Smith")
    assert code == 2 and "default_region" in err
