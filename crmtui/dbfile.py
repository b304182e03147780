"""Which database file a command uses, and whether it may create it: the one rule.

- The default database (`db` in the config, else the user data folder) may be
  created by any command that writes.
- A path given explicitly (`--db` or `CRMTUI_DB`) that does not exist is created
  only by commands that create data (`crm demo`, `crm import ...`, `crm db upgrade`,
  `crm sync login`, the app's first start after a confirmation).
- Nothing else creates a file: the command says "no database at PATH" and exits 3.
- A directory, a special file, or a file that is not a crmtui SQLite database is
  refused the same way, before SQLite or alembic see it.

Kept free of heavy imports: the shell fast path (`crm find`) uses it too.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

Access = Literal["read", "write", "create"]
"""What a command does with the database: only reads it, writes to it, or creates data."""

SQLITE_HEADER = b"SQLite format 3\x00"


class DbFileError(Exception):
    """The database path cannot be used; the message is one line for the user (exit 3)."""


@dataclass(frozen=True)
class DbChoice:
    """A database path and whether the user named it (`--db`, `CRMTUI_DB`)."""

    path: Path
    explicit: bool


def choose(cli_value: str | Path | None) -> DbChoice:
    """The database to use: --db, then CRMTUI_DB, then the config, then the default.

    Raises `crmtui.config.ConfigError` when the config file has to be read and is bad.
    """
    if cli_value is not None and str(cli_value) != "":
        return DbChoice(Path(cli_value).expanduser(), explicit=True)
    env = os.environ.get("CRMTUI_DB")
    if env:
        return DbChoice(Path(env).expanduser(), explicit=True)
    from crmtui.config import resolve_db_path

    return DbChoice(resolve_db_path(None), explicit=False)


def ro_uri(path: Path) -> str:
    """A read-only sqlite3 URI for `path` (quoted: `?` and `#` are legal in file names)."""
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def _no_database(path: Path) -> DbFileError:
    return DbFileError(
        f"no database at {path} (create one with `crm demo --db {path}` or "
        f"`crm db upgrade --db {path}`)"
    )


def check(choice: DbChoice, access: Access, *, version_table: str = "alembic_version") -> bool:
    """Apply the rule to `choice`; True when the file is missing and may be created.

    `version_table` marks a database of ours (the sync server's has its own name).
    Raises DbFileError (one line, exit 3) when the path cannot be used for `access`.
    """
    path = choice.path
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as exc:  # NUL bytes, unencodable names, too long, no access
        raise DbFileError(f"cannot use database path {str(path)!r}: {_reason(exc)}") from None
    if info is None:
        may_create = access == "create" or (access == "write" and not choice.explicit)
        if not may_create:
            raise _no_database(path)
        _check_parent(path)
        return True
    if stat.S_ISDIR(info.st_mode):
        raise DbFileError(f"{path} is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise DbFileError(f"{path} is not a regular file, so it cannot be a database")
    _check_contents(path, info.st_size, version_table)
    return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _check_parent(path: Path) -> None:
    """A file about to be created: its folder must be a folder (missing folders are made)."""
    for parent in path.parents:
        try:
            info = parent.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DbFileError(f"cannot create {path}: {_reason(exc)}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise DbFileError(f"cannot create {path}: {parent} is not a directory")
        return


def _check_contents(path: Path, size: int, version_table: str) -> None:
    """An existing file must be empty or a SQLite file that is a crmtui database."""
    if size == 0:
        return  # an empty file is an empty SQLite database: it gets the schema
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DbFileError(f"cannot read {path}: {_reason(exc)}") from None
    if header != SQLITE_HEADER:
        raise DbFileError(f"{path} is not a crmtui database (not an SQLite file)")
    try:
        con = sqlite3.connect(ro_uri(path), uri=True, timeout=10)
        try:
            tables = {
                row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise DbFileError(f"cannot read {path} as a database: {exc}") from None
    # A SQLite file of some other program: migrating it would write our tables into it.
    if tables and version_table not in tables:
        raise DbFileError(f"{path} is an SQLite file but not a crmtui database")
