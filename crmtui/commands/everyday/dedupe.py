"""`crm dedupe scan` and `crm merge`: find duplicate contacts, merge them, undo a merge.

Exit codes: 0 done (a scan that finds nothing is still 0), 1 a contact or merge
id matches nothing, 2 bad input or a merge that cannot be done or undone.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import (
    EXIT_NOT_FOUND,
    DbOption,
    FormatOption,
    check_format,
    fail,
    open_db,
)
from crmtui.commands.writing import run_write

if TYPE_CHECKING:
    from crmtui.store.database import Store
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Find duplicate contacts.", no_args_is_help=True)

SCAN_COLUMNS = ("score", "a_name", "b_name", "evidence", "a_id", "b_id")


@app.command("scan")
def scan_command(
    ctx: typer.Context,
    threshold: Annotated[
        int,
        typer.Option(help="Lowest score (0-100) to list; 70 finds most, 90 only the sure ones."),
    ] = 70,
    limit: Annotated[int, typer.Option(help="List at most this many pairs.")] = 200,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help="Only pairs with a contact that arrived by sync since the last review "
            "(this scan is the review: the next --new lists only later arrivals).",
        ),
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List pairs of contacts that are probably one person, with a score and the evidence."""
    from crmtui.output import write_records
    from crmtui.quality.dedupe import load_people, new_pairs, scan

    check_format(fmt)
    if not 0 <= threshold <= 100:
        fail("--threshold must be between 0 and 100")
    store = open_db(ctx, db, "read")
    try:
        with store.read() as session:
            conn = session.connection().connection.driver_connection
            if new:
                found, reviewed = new_pairs(conn, threshold=threshold)  # type: ignore[arg-type]
            else:
                found = scan(load_people(conn), threshold=threshold)  # type: ignore[arg-type]
        if new:
            _mark_reviewed(store, reviewed)
    finally:
        store.close()
    write_records([c.as_dict() for c in found[:limit]], fmt, columns=SCAN_COLUMNS)
    more = f" (showing {limit})" if len(found) > limit else ""
    arrived = ""
    if new:
        arrived = " involving contacts new since the last review" + (
            "" if reviewed is None else f" ({len(reviewed)} arrived)"
        )
    typer.echo(
        f"{len(found)} probable duplicate pairs{arrived}{more}; "
        "merge one with: crm merge A_ID B_ID",
        err=True,
    )


def _mark_reviewed(store: Store, reviewed: set[str] | None) -> None:
    """Take the scanned arrivals off the list (local bookkeeping, one transaction)."""
    from crmtui.store.arrivals import take_reviewed

    if reviewed is not None and not reviewed:
        return
    with store.write() as tx:
        take_reviewed(tx.db, reviewed)


def _parse_fields(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, side = item.partition("=")
        if not sep:
            fail(f'--field {item!r}: expected "field=A" or "field=B"')
        out[name.strip()] = side.strip().upper()
    return out


def _ask(ctx: typer.Context, db: object, a_ref: str, b_ref: str) -> dict[str, str]:
    """Ask, field by field, which side to keep where the two contacts differ."""
    from crmtui.services.upkeep.merge import CHOOSABLE
    from crmtui.store.models import Contact
    from crmtui.store.resolve import get_live

    store = open_db(ctx, db, "read")  # type: ignore[arg-type]
    try:
        with store.read() as session:
            a, b = get_live(session, Contact, a_ref), get_live(session, Contact, b_ref)
    finally:
        store.close()
    chosen: dict[str, str] = {}
    for name in CHOOSABLE:
        va, vb = getattr(a, name), getattr(b, name)
        if va is not None and vb is not None and va != vb:
            answer = typer.prompt(f"{name}: [A] {va}  [B] {vb}", default="A", err=True)
            chosen[name] = answer.strip().upper()[:1] or "A"
    return chosen


def merge(
    ctx: typer.Context,
    a: Annotated[str | None, typer.Argument(help="The contact that stays (id or prefix).")] = None,
    b: Annotated[str | None, typer.Argument(help="The contact merged into A and deleted.")] = None,
    prefer: Annotated[
        str | None, typer.Option(help="Whose values win where both have one: A (default) or B.")
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help='Pick a side for one field: "name=B".')
    ] = None,
    undo: Annotated[
        str | None, typer.Option("--undo", help="Undo the merge with this id instead.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Merge contact B into A: fields chosen (asked on a terminal), tags united, history moved.

    Prints the merge id; `crm merge --undo MERGE_ID` puts both contacts back.
    """
    from crmtui.services.upkeep.merge import MergeError, undo_merge
    from crmtui.services.upkeep.undo import record_merge

    try:
        if undo is not None:
            if a or b:
                fail("give either A B, or --undo MERGE_ID")
            record = run_write(ctx, db, lambda tx: undo_merge(tx=tx, merge_id=undo))
            typer.echo(f"undone: merge {record.id}; both contacts are back", err=True)
            return
        if not a or not b:
            fail("give the two contacts: crm merge A B (A stays, B is merged into it)")
        fields = _parse_fields(field or [])
        side = (prefer or "A").upper()
        if prefer is None and not fields and sys.stdin.isatty() and sys.stderr.isatty():
            fields = _ask(ctx, db, a, b)
        record = run_write(
            ctx,
            db,
            lambda tx: record_merge(
                tx,
                f"Merge {_name(tx, b)} into {_name(tx, a)}",
                survivor_id=a,
                merged_id=b,
                prefer=side,
                fields=fields,
            )[0],
        )
    except MergeError as exc:
        fail(str(exc))
    typer.echo(record.id)
    typer.echo(f"merged; undo with: crm merge --undo {record.id}", err=True)


def _name(tx: WriteTx, contact_id: str) -> str:
    """A contact's name, for the recent actions list."""
    from crmtui.store.models import Contact
    from crmtui.store.resolve import get_live

    return get_live(tx, Contact, contact_id).name


def warn_duplicates(
    ctx: typer.Context,
    db: object,
    *,
    name: str,
    email: str | None,
    phones: list[str | None],
    region: str,
    allow: bool,
) -> None:
    """Before a contact is added: show probable duplicates; confirm on a terminal, else exit 1.

    Runs offline on the local database. Values that do not validate are skipped
    here: the save itself reports them.
    """
    from crmtui.quality.dedupe import duplicates_of, typed_person

    person = typed_person(name, email, phones, region=region)
    store = open_db(ctx, db)  # type: ignore[arg-type]
    try:
        with store.read() as session:
            conn = session.connection().connection.driver_connection
            found = duplicates_of(conn, person)  # type: ignore[arg-type]
    finally:
        store.close()
    if not found:
        return
    typer.echo(f"possible duplicate of {len(found)} contact(s):", err=True)
    for c in found[:5]:
        typer.echo(
            f"  {c.b.name} [{c.b.id}] score {c.score:.0f}: {'; '.join(c.evidence)}", err=True
        )
    if allow:
        return
    if sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm("Add anyway?", default=False, err=True):
            return
        fail("not added", EXIT_NOT_FOUND)
    fail(
        "not added: use --allow-duplicate to add anyway, or merge later with crm merge",
        EXIT_NOT_FOUND,
    )
