"""Options and helpers shared by the Typer commands.

Exit codes (documented in the README): 0 success, 1 nothing matched,
2 bad input or usage, 3 the database cannot be opened or upgraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from crmtui.config import ConfigError, resolve_db_path

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


def db_path(ctx: typer.Context, db: Path | None) -> Path:
    """The database for this command: its own --db, the global --db, then the defaults."""
    chosen = db or (ctx.obj or {}).get("db") if ctx is not None else db
    try:
        return resolve_db_path(chosen)
    except ConfigError as exc:
        fail(str(exc))


def open_db(ctx: typer.Context, db: Path | None) -> Store:
    """Open the store for a command, turning open/upgrade errors into exit 3."""
    from crmtui.store.database import open_store
    from crmtui.store.migrate import MigrationError

    path = db_path(ctx, db)
    try:
        return open_store(path)
    except (MigrationError, OSError) as exc:
        fail(f"cannot open database {path}: {exc}", EXIT_DATABASE)


def check_format(value: str) -> str:
    """Validate a --format value."""
    if value not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {value!r}")
    return value
