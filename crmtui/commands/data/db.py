"""`crm db`: schema upgrades, the current revision, backups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmtui.commands.common import EXIT_DATABASE, DbOption, db_path, fail, one_line

app = typer.Typer(help="Manage the local database file.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Bring the database to the newest schema (a backup is written first)."""
    from crmtui.store.migrate import MigrationError, needs_upgrade
    from crmtui.store.migrate import upgrade as run_upgrade

    path = db_path(ctx, db, "create")
    if not needs_upgrade(path):
        typer.echo(f"{path}: already at the newest schema", err=True)
        return
    try:
        made = run_upgrade(path)
    except MigrationError as exc:
        fail(one_line(exc), EXIT_DATABASE)
    if made:
        typer.echo(f"backup written to {made}", err=True)
    typer.echo(f"{path}: upgraded", err=True)


@app.command()
def current(ctx: typer.Context, db: DbOption = None) -> None:
    """Print the schema revision of the database and the newest one this crm knows."""
    from crmtui.store.migrate import current_revision
    from crmtui.store.schema_version import SCHEMA_HEAD

    path = db_path(ctx, db, "read")
    rev = current_revision(path)
    state = "up to date" if rev == SCHEMA_HEAD else f"behind (newest is {SCHEMA_HEAD})"
    typer.echo(f"{rev or 'none'}\t{state}")


@app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="File to write the copy to (must not exist).")],
    db: DbOption = None,
) -> None:
    """Write a consistent copy of the database (safe while the app is open)."""
    import sqlite3

    from crmtui.store.migrate import MigrationError, backup

    path = db_path(ctx, db, "read")
    try:
        backup(path, target)
    except MigrationError as exc:
        fail(str(exc))
    except (sqlite3.Error, ValueError) as exc:  # a target in a missing folder, a NUL in its name
        fail(f"cannot write the backup to {target}: {one_line(exc)}")
    typer.echo(f"backup written to {target}", err=True)
