"""`crm export`: take data out as CSV, JSONL (lossless), vCard or iCalendar.

Data goes to FILE, or to stdout when FILE is omitted or "-"; the summary goes to
stderr. Exit codes: 0 written, 2 bad arguments, 3 the database cannot be opened.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer

from crmtui.commands.common import DbOption, fail, open_db

app = typer.Typer(help="Export data as CSV, JSONL, vCard or iCalendar.", no_args_is_help=True)

OutArg = Annotated[
    Path | None,
    typer.Argument(help='Output file (default or "-": stdout).', show_default=False),
]


@contextmanager
def _reading(ctx: typer.Context, db: Path | None) -> Iterator[sqlite3.Connection]:
    """The raw sqlite3 connection of one read transaction (a consistent snapshot)."""
    store = open_db(ctx, db, "read")
    try:
        with store.read() as session:
            # The session's connection is inside one (deferred) transaction for the
            # whole export, so every table is read from the same snapshot.
            yield session.connection().connection.driver_connection  # type: ignore[misc]
    finally:
        store.close()


@contextmanager
def _output(target: Path | None, *, newline: str | None = None) -> Iterator[TextIO]:
    if target is None or str(target) == "-":
        yield sys.stdout
        return
    try:
        with target.open("w", encoding="utf-8", newline=newline) as out:
            yield out
    except OSError as exc:
        fail(f"cannot write {target}: {exc}")


def _run(
    ctx: typer.Context,
    db: Path | None,
    target: Path | None,
    write: Callable[[sqlite3.Connection, TextIO], str],
    *,
    newline: str | None = None,
) -> None:
    with _reading(ctx, db) as conn, _output(target, newline=newline) as out:
        summary = write(conn, out)
    typer.echo(f"exported {summary}" + (f" to {target}" if target else ""), err=True)


@app.command("csv")
def export_csv_command(
    ctx: typer.Context,
    entity: Annotated[str, typer.Argument(help="contacts, accounts, deals or activities.")],
    file: OutArg = None,
    excel: Annotated[
        bool,
        typer.Option(
            "--excel", help="Start the file with a UTF-8 BOM, so Excel reads its accents right."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Export live rows as CSV; cells a spreadsheet would run as formulas get a leading '.

    `crm import csv` recognises the file as crmtui's own and reads it back unchanged.
    """
    from crmtui.formats.exports import EXPORT_ENTITIES, export_csv

    if entity not in EXPORT_ENTITIES:
        fail(f"choose what to export: {', '.join(EXPORT_ENTITIES)} (not {entity!r})")
    _run(
        ctx,
        db,
        file,
        lambda c, o: f"{export_csv(c, entity, o, bom=excel)} {entity}",
        newline="",
    )


@app.command("jsonl")
def export_jsonl_command(ctx: typer.Context, file: OutArg = None, db: DbOption = None) -> None:
    """Export everything (all tables, deleted rows and the journal) losslessly."""
    from crmtui.formats.jsonl import export_jsonl

    def write(conn: sqlite3.Connection, out: TextIO) -> str:
        counts = export_jsonl(conn, out)
        return f"{sum(counts.values())} rows from {len(counts)} tables"

    _run(ctx, db, file, write)


@app.command("vcard")
def export_vcard_command(
    ctx: typer.Context,
    file: OutArg = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Write one `<id>.vcf` per contact into this folder."),
    ] = None,
    version: Annotated[
        str, typer.Option("--version", help="vCard version: 3.0 (most readers) or 4.0.")
    ] = "3.0",
    db: DbOption = None,
) -> None:
    """Export contacts as vCard 3.0 or 4.0 (UID = contact id, so re-importing adds no duplicates)."""
    from crmtui.formats.vcards import VCARD_VERSIONS, export_cards

    if directory is not None and file is not None:
        fail("give either FILE or --dir, not both")
    if version not in VCARD_VERSIONS:
        fail(f"--version must be {' or '.join(VCARD_VERSIONS)}, not {version!r}")
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {directory}: {exc}")
        with _reading(ctx, db) as conn:
            count = export_cards(conn, directory=directory, version=version)
        typer.echo(f"exported {count} contacts to {directory}", err=True)
        return
    _run(
        ctx,
        db,
        file,
        lambda c, o: f"{export_cards(c, out=o, version=version)} contacts",
        newline="",
    )


@app.command("ics")
def export_ics_command(ctx: typer.Context, file: OutArg = None, db: DbOption = None) -> None:
    """Export open reminders as to-dos (VTODO) and meetings as events (VEVENT).

    Times are in your zone (config `timezone`, else the system's) with a VTIMEZONE.
    """
    from datetime import UTC, datetime

    from crmtui.commands.reading import user_zone
    from crmtui.formats.icalendar_export import export_ics, export_zone

    tz = user_zone()
    if export_zone(tz) is None:
        typer.echo(
            "warning: the system's time zone has no name crm can find; times are written "
            'as floating local time. Set timezone = "Europe/Berlin" (yours) in the config.',
            err=True,
        )
    with _reading(ctx, db) as conn:
        data = export_ics(conn, tz=tz, now=datetime.now(UTC))
    if file is None or str(file) == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            file.write_bytes(data)
        except OSError as exc:
            fail(f"cannot write {file}: {exc}")
    todos, events = data.count(b"BEGIN:VTODO"), data.count(b"BEGIN:VEVENT")
    typer.echo(f"exported {todos} to-dos and {events} meetings", err=True)
