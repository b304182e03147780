"""`crm server form ...`, `crm server rep ...` and `crm server assignments`: web lead intake.

Forms are files (TOML, see docs/intake.md); their key is printed once when a form is
added or its key rotated. Reps' leave and capacity steer the round-robin; the
assignment log says who got each web lead and why.

Exit codes as for `crm server`: 0 done (a second identical run too), 1 a name that
matches nothing, 2 refused (a bad form file names the file and the field), 3 database.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui import output
from crmtui.commands.common import (
    EXIT_NOT_FOUND,
    FormatOption,
    check_format,
    fail,
    input_file,
    one_line,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

form_app = typer.Typer(help="Web forms whose posts become leads.", no_args_is_help=True)
rep_app = typer.Typer(help="Reps' leave and capacity for lead routing.", no_args_is_help=True)

FORM_COLUMNS = ("name", "territory", "plan", "rate", "leads", "duplicates", "bots", "id")


def _engine(db: str) -> Engine:
    from crmtui.commands.team.server import _engine as server_engine

    return server_engine(db)


def _refuse(exc: Exception) -> None:
    from crmtui.commands.team.server import _refuse as refuse

    refuse(exc)


DbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="CRMTUI_SERVER_DB",
        help="A SQLite file or postgresql+psycopg://user@host/db (env CRMTUI_SERVER_DB).",
    ),
]
DEFAULT_DB = "crmtui-server.db"


@form_app.command("add")
def form_add(
    file: Annotated[Path, typer.Argument(help="A form file (TOML; see docs/intake.md).")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Publish a web form (or change its settings); prints its id, and its key once."""
    from crmtui.server.admin import AdminError, AlreadyThere
    from crmtui.server.intake import newest_plan
    from crmtui.server.intake_forms import add_form, parse_form

    path = input_file(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it ({one_line(exc)})")
    engine = _engine(db)
    try:
        spec = parse_form(text, source=str(path))
        added = add_form(engine, text, source=str(path))
    except AlreadyThere as exc:
        typer.echo(exc.existing_id)
        typer.echo(f"{exc}: nothing changed", err=True)
        return
    except AdminError as exc:
        _refuse(exc)
        return
    typer.echo(added.id)
    if added.key is not None:
        typer.echo(f"form {spec.name} added; its key (shown once): {added.key}", err=True)
    else:
        typer.echo(f"form {spec.name} changed; its key stays", err=True)
    if spec.plan:
        with engine.connect() as conn:
            if newest_plan(conn, spec.plan) is None:
                typer.echo(
                    f"warning: no plan {spec.plan!r} on the server yet: publish it from an admin"
                    " laptop (crm plan add FILE; crm sync); until then leads are not enrolled",
                    err=True,
                )


@form_app.command("list")
def form_list(fmt: FormatOption = "table", db: DbUrl = DEFAULT_DB) -> None:
    """List the web forms with their posts: leads, duplicates and bots."""
    from crmtui.server.intake_forms import forms

    check_format(fmt)
    rows = [{k: v for k, v in f.items() if k != "source"} for f in forms(_engine(db))]
    if fmt == "table":
        for row in rows:
            row["plan"] = row["plan"] or ""
    output.write_records(rows, fmt, columns=FORM_COLUMNS)


@form_app.command("show")
def form_show(
    name: Annotated[str, typer.Argument(help="The form's name.")],
    fmt: FormatOption = "table",
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Show a form: its settings, fields, post counts and its file."""
    from crmtui.server.intake_forms import forms

    check_format(fmt)
    found = next((f for f in forms(_engine(db)) if f["name"] == name), None)
    if found is None:
        fail(f"no form named {name!r}", EXIT_NOT_FOUND)
    if fmt == "json":
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for key in ("name", "territory", "plan", "honeypot", "rate", "leads", "duplicates", "bots"):
        typer.echo(f"{key:11} {found[key] if found[key] is not None else ''}")
    typer.echo(f"{'fields':11} {', '.join(found['fields'])}")  # type: ignore[arg-type]
    typer.echo(f"{'url':11} POST /v1/intake/{name}")


@form_app.command("rotate-key")
def form_rotate_key(
    name: Annotated[str, typer.Argument(help="The form's name.")], db: DbUrl = DEFAULT_DB
) -> None:
    """Give a form a new key (printed once); the old key stops working at once."""
    from crmtui.server.admin import AdminError
    from crmtui.server.intake_forms import rotate_key

    try:
        typer.echo(rotate_key(_engine(db), name))
    except AdminError as exc:
        _refuse(exc)


@rep_app.command("leave")
def rep_leave(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day away (YYYY-MM-DD).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day away (YYYY-MM-DD).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Back: no leave.")] = False,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Mark a rep on leave between two dates (inclusive): routing skips them."""
    from crmtui.server.admin import AdminError
    from crmtui.server.intake_forms import set_leave

    def day(text: str | None, option: str) -> date | None:
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            fail(f"{option} must be a date YYYY-MM-DD, not {text!r}")
            raise

    if clear and (start or end):
        fail("--clear takes no --from or --to")
    if not clear and not (start and end):
        fail("give --from and --to (or --clear)")
    try:
        set_leave(_engine(db), rep, day(start, "--from"), day(end, "--to"))
    except AdminError as exc:
        _refuse(exc)
    typer.echo(f"{rep} is back" if clear else f"{rep} on leave {start} to {end}", err=True)


@rep_app.command("capacity")
def rep_capacity(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    max_open: Annotated[
        int | None, typer.Argument(help="Open leads at most (leave out for no cap).")
    ] = None,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Cap the open leads routing gives a rep (converted and disqualified ones do not count)."""
    from crmtui.server.admin import AdminError
    from crmtui.server.intake_forms import set_capacity

    try:
        set_capacity(_engine(db), rep, max_open)
    except AdminError as exc:
        _refuse(exc)
    typer.echo(
        f"{rep}: " + (f"at most {max_open} open leads" if max_open is not None else "no cap"),
        err=True,
    )


@rep_app.command("routing")
def rep_routing(fmt: FormatOption = "table", db: DbUrl = DEFAULT_DB) -> None:
    """Every rep's open leads, capacity and leave."""
    from crmtui.server.intake_forms import routing_settings

    check_format(fmt)
    output.write_records(
        routing_settings(_engine(db)),
        fmt,
        columns=("rep", "role", "open_leads", "capacity", "leave_from", "leave_to"),
    )


def assignments(
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    fmt: FormatOption = "table",
    db: DbUrl = DEFAULT_DB,
) -> None:
    """The assignment log: who got each web lead, and why."""
    from crmtui.server.routing import assignments as read

    check_format(fmt)
    with _engine(db).connect() as conn:
        rows = read(conn, limit)
    if fmt != "json":
        for row in rows:
            why = row["why"]
            assert isinstance(why, dict)
            skipped = "; ".join(f"{s['rep']} {s['why']}" for s in why.get("skipped", []))
            row["why"] = f"{why.get('territory', '')}; rotation {why.get('rotation', '-')}" + (
                f"; skipped {skipped}" if skipped else ""
            )
    output.write_records(rows, fmt, columns=("at", "rep", "territory", "by", "why", "lead_id"))
