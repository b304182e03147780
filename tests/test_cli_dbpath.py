"""`--db` is never guessed: every command, given a directory, a missing file or a file
that is not a database, says so in one line and exits 3 (README "Exit codes")."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_commands import CREATORS, Command, all_commands, base_args, run, write_input_files

ENTRY = "import sys; from crmtui.entry import main; main(sys.argv[1:])"
COMMANDS = all_commands()


def _run(args: list[str]) -> tuple[int, str, str, BaseException | None]:
    ran = run(args)
    return ran.code, ran.out, ran.err, ran.error


def _bad_paths(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("this is not a database\n" * 20, encoding="utf-8")
    foreign = tmp_path / "other-app.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE songs (title TEXT)")
    con.commit()
    con.close()
    return {"directory": folder, "text file": text, "foreign SQLite": foreign}


def test_every_command_is_enumerated() -> None:
    names = {c.name for c in COMMANDS}
    # A few from each group: if the walk breaks, this fails rather than testing nothing.
    assert {"find", "contact add", "export csv", "server assign", "sync", "(crm)"} <= names
    assert len(COMMANDS) > 60


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_a_path_that_is_not_a_database_is_refused_in_one_line(
    command: Command, tmp_path: Path
) -> None:
    files = tmp_path / "inputs"
    write_input_files(files)
    for label, bad in _bad_paths(tmp_path).items():
        before = bad.read_bytes() if bad.is_file() else None
        code, out, err, exc = _run([*base_args(command, files), "--db", str(bad)])
        assert exc is None, f"{command.name} with a {label}: {exc!r}"
        assert code == 3, f"{command.name} with a {label}: exit {code}: {err}"
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0], (label, err)
        assert "Traceback" not in out + err and out == ""
        assert (bad.read_bytes() if bad.is_file() else None) == before  # left untouched


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c.name not in CREATORS], ids=lambda c: c.name
)
def test_a_missing_explicit_path_is_not_created(command: Command, tmp_path: Path) -> None:
    files = tmp_path / "inputs"
    write_input_files(files)
    missing = tmp_path / "typo" / "crm.db"
    code, out, err, exc = _run([*base_args(command, files), "--db", str(missing)])
    assert exc is None, repr(exc)
    assert code == 3, err
    assert err.strip() == (
        f"crm: no database at {missing} (create one with `crm demo --db {missing}` "
        f"or `crm db upgrade --db {missing}`)"
    ) or err.strip().startswith(f"crm: no server database at {missing}")
    assert out == ""
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    "words",
    [["import", "csv"], ["import", "jsonl"], ["import", "vcard"], ["db", "upgrade"]],
)
def test_commands_that_create_data_create_a_missing_explicit_path(
    words: list[str], tmp_path: Path
) -> None:
    files = tmp_path / "inputs"
    write_input_files(files)
    command = next(c for c in COMMANDS if list(c.words) == words)
    target = tmp_path / "new" / "crm.db"
    code, _, err, exc = _run([*base_args(command, files), "--db", str(target)])
    assert exc is None and code == 0, err
    assert sqlite3.connect(target).execute("SELECT count(*) FROM alembic_version").fetchone()[0]


def test_env_path_follows_the_same_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "env.db"
    monkeypatch.setenv("CRMTUI_DB", str(missing))
    code, _, err, _ = _run(["export", "csv", "contacts"])
    assert code == 3 and f"no database at {missing}" in err
    code, _, err, _ = _run(["contact", "add", "Jo"])
    assert code == 3 and not missing.exists()
    code, _, err, _ = _run(["--db", str(tmp_path), "due"])  # the global option
    assert code == 3 and "is a directory" in err


def test_the_default_database_is_created_by_writes_but_not_by_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMTUI_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = tmp_path / "data" / "crmtui" / "crm.db"
    code, _, err, _ = _run(["export", "csv", "contacts"])
    assert code == 3 and f"no database at {default}" in err and not default.exists()
    code, out, err, _ = _run(["contact", "add", "Jo Bloggs"])  # a new laptop: first write
    assert code == 0, err
    assert default.is_file()
    code, out, _, _ = _run(["export", "csv", "contacts"])
    assert code == 0 and "Jo Bloggs" in out


def test_sync_login_on_a_new_laptop_creates_the_default_database_only_when_the_server_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMTUI_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = tmp_path / "data" / "crmtui" / "crm.db"
    code, _, err, _ = _run(["sync", "login", "--server", "http://127.0.0.1:9", "--token", "t"])
    assert code == 75, err
    assert not default.exists()  # nothing to enrol: no file left behind


def test_the_fast_path_follows_the_rule(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    for bad, words in (
        (tmp_path, "is a directory"),
        (tmp_path / "missing.db", "no database at"),
    ):
        for command in (["find", "smith"], ["who", "0151"]):
            done = subprocess.run(
                [sys.executable, "-c", ENTRY, *command, "--db", str(bad)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            assert done.returncode == 3, done.stderr
            assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
            assert "Traceback" not in done.stderr
    assert not (tmp_path / "missing.db").exists()
