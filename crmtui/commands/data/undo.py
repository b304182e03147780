"""`crm undo`: reverse a recent write made in the app or by a `crm` command (`crm undo --list`).

Exit codes: 0 undone (or listed), 1 no undo record has that id, 2 nothing to undo
or the record changed since (nothing is written then).
"""

from __future__ import annotations

from typing import Annotated

import typer

from crmtui.commands.common import DbOption, FormatOption, check_format, open_db
from crmtui.commands.writing import run_write

LIST_COLUMNS = ("id", "made", "change")


def undo(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="The change to undo (id or prefix from --list); the latest if left out."
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the changes that can be undone, latest first.")
    ] = False,
    limit: Annotated[int, typer.Option(help="With --list: at most this many.")] = 20,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Undo a recent change (made in the app or by a `crm` command): its rows go back as they were, journaled for sync.

    Refused, writing nothing, when a record it touched was changed since.
    """
    from crmtui.services.upkeep.undo import kept_steps, undo_kept

    if list_:
        check_format(fmt)
        from crmtui.output import write_records

        store = open_db(ctx, db, "read")
        try:
            with store.read() as session:
                rows = [
                    {"id": r.id, "made": r.made_at.strftime("%Y-%m-%d %H:%M"), "change": r.label}
                    for r in kept_steps(session, limit=limit)
                ]
        finally:
            store.close()
        if not rows and fmt == "table":
            typer.echo("nothing to undo", err=True)
            return
        write_records(rows, fmt, columns=LIST_COLUMNS)
        return
    step = run_write(ctx, db, lambda tx: undo_kept(tx=tx, ref=ref))
    typer.echo(f"undone: {step.label}", err=True)


def register(root: typer.Typer) -> None:
    """Add `crm undo` to the root app."""
    root.command("undo")(undo)
