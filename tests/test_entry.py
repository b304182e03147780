"""The `crm` script's routing: fast lookups, the app, and the Typer commands."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crmtui import entry, launch
from crmtui.store.schema_version import SCHEMA_HEAD


def test_split_global_db() -> None:
    assert entry._split_global_db(["--db", "x.db", "find", "a"]) == (
        ["--db", "x.db"],
        ["find", "a"],
    )
    assert entry._split_global_db(["--db=x.db"]) == (["--db=x.db"], [])
    assert entry._split_global_db(["find", "--db", "x"]) == ([], ["find", "--db", "x"])


def test_find_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str]) -> int:
        seen.append(argv)
        return 0

    import crmtui.fastcli

    monkeypatch.setattr(crmtui.fastcli, "run", fake_run)
    with pytest.raises(SystemExit) as done:
        entry.main(["--db", "a.db", "find", "smith"])
    assert done.value.code == 0
    assert seen == [["find", "smith", "--db", "a.db"]]


@pytest.mark.parametrize("argv", [[], ["tui"], ["--db", "x.db"], ["--db=x.db", "tui"]])
def test_bare_crm_opens_the_app(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    opened: list[str | None] = []
    monkeypatch.setattr(launch, "open_app", lambda db: opened.append(db) or 0)
    with pytest.raises(SystemExit):
        entry.main(argv)
    assert opened == ["x.db" if argv and "x.db" in "".join(argv) else None]


def test_open_app_creates_and_migrates_a_new_database(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Path] = []

    class FakeApp:
        return_code: int | None = None  # as an App that ended normally

        def __init__(self, path: Path) -> None:
            self.path = path

        def run(self) -> None:
            started.append(self.path)

    import crmtui.app

    monkeypatch.setattr(crmtui.app, "make_app", lambda *, db_path: FakeApp(db_path))
    monkeypatch.delenv("CRMTUI_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(db_path.parent))
    db_path = db_path.parent / "crmtui" / "crm.db"  # the default location: first run
    assert launch.open_app(None) == 0
    assert started == [db_path]
    version = sqlite3.connect(db_path).execute("SELECT version_num FROM alembic_version").fetchone()
    assert version == (SCHEMA_HEAD,)


def test_open_app_refuses_a_missing_explicit_path(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "typo.db"
    assert launch.open_app(str(missing)) == 3
    assert not missing.exists()
    assert "crm demo --db" in capsys.readouterr().err


def test_open_app_reports_an_unusable_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    assert launch.open_app(str(bad)) == 3


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "pipe.db"
    code = (
        "from crmtui.store.database import open_store\n"
        "from crmtui.services.address_book.contacts import ContactCreate, create_contact\n"
        f"s = open_store({str(db)!r})\n"
        "with s.write() as tx:\n"
        "    for i in range(300):\n"
        "        create_contact(tx=tx, data=ContactCreate(name=f'Jon Smith{i}'), region='DE')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    script = (
        f"{sys.executable} -c 'from crmtui.entry import main; main()' find smith --limit 300 "
        f"--db {db} | head -1"
    )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("NAME")
