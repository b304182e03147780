"""Options and helpers shared by the Typer commands.

Exit codes (documented in the README): 0 success, 1 nothing matched,
2 bad input or usage, 3 the database cannot be opened or upgraded (or
is missing: see crmtui.dbfile for which commands may create it), 4 refused
by consent rules.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from crmtui.config import ConfigError
from crmtui.dbfile import Access, DbFileError, check, choose

if TYPE_CHECKING:
    from crmtui.store.database import Store

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Database file (default: CRMTUI_DB, the config, or the user data dir).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    str,
    typer.Option("--format", "-f", help="Output format: table, json or csv."),
]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error on stderr and exit with `code`."""
    typer.echo(f"crm: {message}", err=True)
    raise typer.Exit(code)


def db_path(
    ctx: typer.Context | None,
    db: Path | None,
    access: Access = "write",
    *,
    make_folders: bool = True,
) -> Path:
    """The database for this command (its own --db, the global --db, then the defaults).

    Applies the rule of `crmtui.dbfile`: exits 3 with one line when the path is
    missing and `access` may not create it, or is not a crmtui database. A file
    about to be created gets its missing folders unless `make_folders` is False.
    """
    chosen = db if db is not None or ctx is None else (ctx.obj or {}).get("db")
    try:
        choice = choose(chosen)
    except ConfigError as exc:
        fail(str(exc))
    try:
        creating = check(choice, access)
    except DbFileError as exc:
        fail(str(exc), EXIT_DATABASE)
    if creating and make_folders:
        try:
            choice.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {choice.path}: {one_line(exc)}", EXIT_DATABASE)
    return choice.path


def open_db(ctx: typer.Context | None, db: Path | None, access: Access = "write") -> Store:
    """Open the store for a command (see `db_path`), turning open/upgrade errors into exit 3."""
    from crmtui.store.database import open_store
    from crmtui.store.migrate import MigrationError

    path = db_path(ctx, db, access)
    try:
        return open_store(path)
    except (MigrationError, OSError, sqlite3.Error) as exc:
        fail(f"cannot open database {path}: {one_line(exc)}", EXIT_DATABASE)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (alembic and SQLAlchemy add SQL and links)."""
    return " ".join(str(exc).split("\n")[0].split())


def input_file(path: Path, *, folder_ok: bool = False) -> Path:
    """A file to read from: exits 2 naming it when it is missing, a folder or not a regular file."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        fail(f"{path}: no such file{' or folder' if folder_ok else ''}")
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot read it ({one_line(exc)})")
    if stat.S_ISDIR(info.st_mode):
        if folder_ok:
            return path
        fail(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        fail(f"{path}: not a regular file")
    return path


def check_format(value: str) -> str:
    """Validate a --format value."""
    if value not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {value!r}")
    return value
