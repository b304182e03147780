"""`crm demo`: create a database full of realistic sample data to try crmtui with."""

from __future__ import annotations

from typing import Annotated

import typer

from crmtui.commands.common import EXIT_DATABASE, EXIT_USAGE, DbOption, db_path, fail
from crmtui.commands.progress import progress_bar

ContactsOption = Annotated[
    int, typer.Option("--contacts", "-n", help="How many contacts to make (at least 1).")
]
SeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace the database file if it already holds data.")
]


MAX_DEMO_CONTACTS = 2_000_000
"""The largest demo (the benchmarks use 1M)."""


def demo(
    ctx: typer.Context,
    db: DbOption = None,
    contacts: ContactsOption = 2000,
    seed: SeedOption = 1,
    force: ForceOption = False,
) -> None:
    """Create a demo database with sample territories, reps, contacts, deals and reminders."""
    if contacts < 1:
        fail(f"--contacts must be at least 1, not {contacts}", EXIT_USAGE)
    if contacts > MAX_DEMO_CONTACTS:
        # A typo of a few digits would otherwise fill the disk for hours.
        fail(f"--contacts must be at most {MAX_DEMO_CONTACTS:,}, not {contacts:,}", EXIT_USAGE)
    path = db_path(ctx, db, "create")
    if path.exists() and path.stat().st_size > 0 and not force:
        fail(f"{path} already holds data; use --force to replace it with the demo", EXIT_USAGE)

    from crmtui.demo.generator import DemoError, seed_demo
    from crmtui.store.migrate import MigrationError

    try:
        with progress_bar("seeding contacts") as progress:
            summary = seed_demo(path, contacts=contacts, seed=seed, progress=progress, force=force)
    except DemoError as exc:
        fail(str(exc), EXIT_USAGE)
    except (MigrationError, OSError) as exc:
        fail(f"cannot create the demo database {path}: {exc}", EXIT_DATABASE)
    typer.echo(f"{path}: {summary.line()}", err=True)
