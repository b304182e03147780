"""`crm script ...`: call scripts from the shell.

`add` publishes a script file (a new version when it changed), `list` and `show`
read the catalogue, `for` names the script a call to a contact follows now (and
the questions it asks), `answers` lists the answers logged on calls (`crm log call
WHO --answer KEY=ANSWER` stores them).

Exit codes: 0 done, 1 nothing matched (no such script or contact), 2 bad input
(a bad script file: the message names the file, the line and the field), 3 database
problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from crmtui import output
from crmtui.commands.common import (
    EXIT_NOT_FOUND,
    DbOption,
    FormatOption,
    check_format,
    fail,
)
from crmtui.commands.everyday.daily import _reading, pick_contact
from crmtui.commands.writing import publish_file, settings_or_exit

app = typer.Typer(help="Call scripts: questions with branching answers, kept on the call.")

ScriptArg = Annotated[str, typer.Argument(help="Script name (or id).")]


def _questions(script: Any) -> list[dict[str, Any]]:
    return [
        {
            "n": n,
            "key": q.key,
            "text": q.text,
            "answers": list(q.answers),
            "next": dict(q.next),
        }
        for n, q in enumerate(script.questions, 1)
    ]


@app.command("add")
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A script file (TOML; see docs/calling.md).")],
    db: DbOption = None,
) -> None:
    """Add a call script, or a new version of it when the file changed; prints its id."""
    from crmtui.domain.call_scripts import ScriptFileError
    from crmtui.services.follow_ups.call_scripts import check_script_text, publish_script

    row, created = publish_file(
        ctx,
        db,
        file,
        check=lambda text, source: check_script_text(text, source=source),
        refused=ScriptFileError,
        publish=lambda tx, text, source: publish_script(tx=tx, text=text, source=source),
    )
    typer.echo(row.id)
    state = "added" if created else "is unchanged"
    typer.echo(f"script {row.name} version {row.version} {state}", err=True)


@app.command("list")
def list_scripts(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """List the call scripts: newest version and number of questions."""
    from crmtui.services.follow_ups.call_scripts import script_names

    check_format(fmt)
    with _reading(ctx, db) as conn:
        rows = [
            {
                "name": s.name,
                "version": s.version,
                "questions": len(s.script.questions),
                "description": s.script.description,
                "id": s.id,
            }
            for s in script_names(conn)
        ]
    if not rows and fmt == "table":
        typer.echo("no call scripts yet: add one with `crm script add FILE`", err=True)
        return
    output.write_records(rows, fmt, columns=("name", "version", "questions", "description", "id"))


@app.command("show")
def show(
    ctx: typer.Context,
    script: ScriptArg,
    version: Annotated[int | None, typer.Option(help="A given version (default newest).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Show a script's questions, their answers and where each answer leads."""
    from crmtui.services.follow_ups.call_scripts import find_script

    check_format(fmt)
    with _reading(ctx, db) as conn:
        found = find_script(conn, script, version)
    if found is None:
        what = f"{script!r} version {version}" if version is not None else repr(script)
        fail(f"no call script {what} (see `crm script list`)", EXIT_NOT_FOUND)
    questions = _questions(found.script)
    if fmt == "json":
        record = {
            "name": found.name,
            "version": found.version,
            "id": found.id,
            "description": found.script.description,
            "questions": questions,
        }
        json.dump(record, typer.get_text_stream("stdout"), indent=2, ensure_ascii=False)
        typer.echo()
        return
    flat = [
        {
            **q,
            "answers": " / ".join(q["answers"]) or "(free text)",
            "next": ", ".join(f"{a}->{k}" for a, k in q["next"].items()),
        }
        for q in questions
    ]
    if fmt == "table":
        typer.echo(f"{found.name} v{found.version}")
    output.write_records(flat, fmt, columns=("n", "key", "text", "answers", "next"))


@app.command("for")
def for_contact(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="A contact: ID, name, phone, email ...")],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The script a call to WHO follows now (its plan step's, else the campaign's)."""
    from crmtui.services.follow_ups.call_scripts import script_for_contact

    check_format(fmt)
    contact_id = pick_contact(ctx, db, who, create=False)
    assert contact_id is not None
    with _reading(ctx, db) as conn:
        found = script_for_contact(conn, contact_id, campaign=settings_or_exit().call_script)
    if found is None:
        fail(
            "no call script for this contact (no plan step names one, no call_script setting)",
            EXIT_NOT_FOUND,
        )
    if fmt == "json":
        record = {
            "name": found.name,
            "version": found.version,
            "id": found.id,
            "why": found.why,
            "questions": _questions(found.script),
        }
        json.dump(record, typer.get_text_stream("stdout"), indent=2, ensure_ascii=False)
        typer.echo()
        return
    if fmt == "table":
        typer.echo(f"{found.name} v{found.version} ({found.why})")
    rows = [
        {**q, "answers": " / ".join(q["answers"]) or "(free text)"}
        for q in _questions(found.script)
    ]
    output.write_records(rows, fmt, columns=("key", "text", "answers"))


@app.command("answers")
def answers(
    ctx: typer.Context,
    script: Annotated[str | None, typer.Argument(help="Only this script's (name).")] = None,
    who: Annotated[str | None, typer.Option(help="Only calls to this contact.")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The answers logged on calls, newest first (one row per call; CSV for a spreadsheet)."""
    check_format(fmt)
    contact_id = pick_contact(ctx, db, who, create=False) if who else None
    sql = (
        "SELECT a.id, a.occurred_at, c.name, s.name, s.version, a.outcome, a.script_answers"
        " FROM activity a JOIN call_script s ON s.id = a.script_id"
        " LEFT JOIN contact c ON c.id = a.contact_id WHERE a.deleted_at IS NULL"
    )
    params: list[Any] = []
    if script is not None:
        sql += " AND lower(s.name) = lower(?)"
        params.append(script.strip())
    if contact_id is not None:
        sql += " AND a.contact_id = ?"
        params.append(contact_id)
    sql += " ORDER BY a.occurred_at DESC, a.id DESC"
    with _reading(ctx, db) as conn:
        found = conn.execute(sql, params).fetchall()
    rows = [
        {
            "at": r[1],
            "contact": r[2] or "",
            "script": f"{r[3]} v{r[4]}",
            "outcome": r[5] or "",
            "answers": json.loads(r[6] or "{}"),
            "activity": r[0],
        }
        for r in found
    ]
    if fmt == "json":
        output.write_records(rows, fmt)
        return
    if not rows and fmt == "table":
        typer.echo("no answered scripts yet", err=True)
        return
    flat = [{**r, "answers": "; ".join(f"{k}={v}" for k, v in r["answers"].items())} for r in rows]
    output.write_records(
        flat, fmt, columns=("at", "contact", "script", "outcome", "answers", "activity")
    )
