"""Shared fixtures: every test runs with its own config, data dirs and database path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.store.database import Store, open_store


@pytest.fixture(autouse=True)
def _isolate_user_files(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read or write the real user's config or database."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("CRMTUI_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("CRMTUI_DB", str(home / "crm.db"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database path (the file does not exist yet)."""
    return tmp_path / "crm.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An opened, migrated, empty store."""
    s = open_store(db_path)
    yield s
    s.close()
