"""Applies alembic migrations on open, with a `VACUUM INTO` backup before an upgrade."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from crmtui.store.schema_version import SCHEMA_HEAD

if TYPE_CHECKING:
    from alembic.config import Config


class MigrationError(RuntimeError):
    """The database could not be brought to the schema this code needs."""


def migrations_dir() -> Path:
    """Where alembic's env.py and versions/ live (shipped as `crmtui.migrations`)."""
    return Path(str(files("crmtui.migrations")))


def current_revision(path: Path) -> str | None:
    """The revision stamped in a database file, read with plain sqlite3 (cheap)."""
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: a new or foreign SQLite file
        return None
    except sqlite3.DatabaseError as exc:
        raise MigrationError(f"{path} is not a SQLite database ({exc})") from exc
    finally:
        db.close()
    return row[0] if row else None


def backup(path: Path, target: Path) -> Path:
    """Write a consistent copy of the database to `target` with VACUUM INTO."""
    if target.exists():
        raise MigrationError(f"backup target already exists: {target}")
    db = sqlite3.connect(path)
    try:
        db.execute("VACUUM INTO ?", (str(target),))
    finally:
        db.close()
    return target


def _alembic_config(path: Path) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    return config


def upgrade(path: Path, revision: str = "head") -> Path | None:
    """Upgrade a database file to `revision`; returns the backup made, if any.

    An existing database that is behind is copied first, so a failed or unwanted
    upgrade can always be undone by hand.
    """
    from alembic import command

    from crmtui.store.engine import make_engine

    before = current_revision(path)
    made: Path | None = None
    if path.exists() and path.stat().st_size > 0 and before != revision:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        made = backup(path, path.with_name(f"{path.name}.bak-{before or 'none'}-{stamp}"))
    engine = make_engine(path)
    try:
        config = _alembic_config(path)
        with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except Exception as exc:  # re-raised with the backup's location for the user
        hint = f" (a backup was written to {made})" if made else ""
        raise MigrationError(f"upgrading {path} failed: {exc}{hint}") from exc
    finally:
        engine.dispose()
    return made


def needs_upgrade(path: Path) -> bool:
    """Tell whether the file is missing or behind the schema this code expects."""
    return current_revision(path) != SCHEMA_HEAD


def head_revision() -> str:
    """The head revision according to alembic's scripts (slow: imports alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(Path("unused.db"))).get_current_head()
    if head is None:
        raise MigrationError("no migrations found")
    return head
