"""`crm import`: contacts, accounts and deals from CSV and vCard, crmtui's JSONL; undo.

Every import (but a JSONL restore) is a batch: `crm import list` shows them and
`crm import undo BATCH` takes one back. Rejected rows go to a rejects file.

Exit codes: 0 imported (or a clean dry run), 1 no such batch, 2 the file or some
rows are bad and nothing was written (or the batch was undone already), 3 the
database cannot be opened.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import EXIT_USAGE, DbOption, fail, input_file, open_db
from crmtui.commands.progress import progress_bar
from crmtui.commands.writing import settings_or_exit

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from crmtui.formats.book_import import BookPlan, BookRow
    from crmtui.formats.csv_import import CsvFile, ImportPlan, Row
    from crmtui.formats.csv_profiles import HeaderMapping
    from crmtui.store.journal import RowChange, WriteTx

app = typer.Typer(
    help="Import contacts, accounts and deals (CSV, Excel .xlsx, vCard, JSONL); list and undo imports.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]
DryRun = Annotated[
    bool, typer.Option("--dry-run", "-n", help="Show what would happen; write nothing.")
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="Read numbers without +country in this country (ISO code) when a row names none "
        "(default: default_region from the config; unset, such numbers are kept as typed).",
    ),
]


ProfileOption = Annotated[
    str | None,
    typer.Option(
        help="Column names of: salesforce, hubspot, pipedrive or generic (default: guessed)."
    ),
]
ContactProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help=(
            "Column names of: salesforce, hubspot, pipedrive, google (Google Contacts),"
            " outlook or generic (default: guessed)."
        ),
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map", help='Map a column to a field: "Column=field" (repeatable; "Column=" ignores it).'
    ),
]
SkipBad = Annotated[
    bool, typer.Option("--skip-bad", help="Import the good rows even if some are rejected.")
]
EncodingOption = Annotated[
    str | None,
    typer.Option(help="Force an encoding (default: UTF-8; lines that are not, Windows-1252)."),
]


SheetOption = Annotated[
    str | None,
    typer.Option(help="An Excel workbook's sheet to read (default: the one Excel opens on)."),
]


RejectsOption = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Write rejected rows here (default: `<file>.rejects.csv` or `.vcf` next to the input).",
    ),
]


def _rejects_target(option: Path | None, source: Path, suffix: str) -> Path:
    from crmtui.formats.rejects import default_path

    return option if option is not None else default_path(source, suffix)


def write_csv_rejects(
    target: Path, source: CsvFile, rejected: Sequence[tuple[int, str]], *, dry_run: bool
) -> str | None:
    """Write a CSV import's rejected rows (not in a dry run); returns the path, or None."""
    from crmtui.formats.rejects import write_csv_rejects as write

    if not rejected:
        return None
    if dry_run:
        typer.echo(f"rejected rows would be written to {target}", err=True)
        return None
    cells = source.cells_of()
    try:
        write(target, source.headers, [(cells[line], why) for line, why in rejected],
              source.delimiter)  # fmt: skip
    except OSError as exc:
        fail(
            f"cannot write the rejected rows to {target}: {exc.strerror or exc} (nothing imported)"
        )
    typer.echo(f"rejected rows written to {target} (fix them there and import that file)", err=True)
    return str(target)


def _stop_before_writing(rejected: int, *, dry_run: bool, skip_bad: bool, unit: str) -> None:
    """Leave before writing after a dry run, or when rows were rejected without --skip-bad.

    Leaving by an exception rolls the (unused) write transaction back.
    """
    if dry_run:
        typer.echo("dry run: nothing was written", err=True)
        raise typer.Exit(EXIT_USAGE if rejected and not skip_bad else 0)
    if rejected and not skip_bad:
        fail(
            f"{rejected} {unit} rejected: nothing was imported "
            "(fix them, or use --skip-bad to import the rest)"
        )


def _skipped_footers(source: CsvFile) -> None:
    if source.preamble:
        first, last = source.preamble[0][0], source.preamble[-1][0]
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        typer.echo(
            f"note: {where} above the header skipped (text, not rows): "
            f"{source.preamble[0][1][:60]!r}",
            err=True,
        )
    for line, text in source.skipped:
        typer.echo(
            f"note: line {line}: report footer or summary row skipped: {text[:80]}", err=True
        )


def record(
    tx: WriteTx,
    *,
    file: Path,
    kind: str,
    profile: str | None,
    created: Sequence[tuple[str, str]],
    changes: Sequence[RowChange],
    rejected: int,
    rejects: str | None,
) -> None:
    """Record the import as a batch in its own transaction and name it."""
    from crmtui.services.upkeep.import_batches import record_batch

    batch = record_batch(
        tx, file=str(file), kind=kind, profile=profile, created=created, changes=changes,
        rejected=rejected, rejects_path=rejects,
    )  # fmt: skip
    typer.echo(f"batch {batch.id} (undo with: crm import undo {batch.id})", err=True)


def _region(option: str | None) -> str | None:
    """The region for numbers without a country code: --region, then the config, else none."""
    if option is None:
        return settings_or_exit().import_region
    from crmtui.formats.countries import country_code

    code = country_code(option)
    if code is None:
        fail(f"--region {option!r} is not a country name or ISO code")
    return code


def _where(plan: ImportPlan, row: Row) -> str:
    return row.where or f"{plan.unit} {row.line}"


def _print_mapping(src: CsvFile, mapping: HeaderMapping) -> None:
    """How the file was read and which column fills which field (stderr)."""
    err = sys.stderr
    how = (
        f"Excel sheet {src.sheet!r}"
        if src.sheet is not None
        else f"{src.encoding}, delimiter {src.delimiter!r}"
    )
    print(f"read {len(src.records)} rows ({how}, profile {mapping.profile})", file=err)
    for line in mapping.describe(src.headers):
        print(f"  column {line}", file=err)
    for header, field in mapping.fuzzy:
        print(f"  (matched {header!r} to {field} by similarity)", file=err)


def _print_guesses(rows: Sequence[Row | BookRow], *, verbose: bool) -> None:
    """Without --dry-run, how many rows carry guesses or notes (the dry run lists them)."""
    guesses = sum(1 for r in rows if r.notes and r.action != "rejected")
    if guesses and not verbose:
        typer.echo(
            f"{guesses} rows with guesses, notes or values kept as typed (see --dry-run)",
            err=True,
        )


def _print_plan(plan: ImportPlan, *, verbose: bool) -> None:
    """The preview: mapping, then every row that is not a plain new one (all with --dry-run).

    Each matched row names whom it matched and why; with --dry-run every guess,
    value kept as typed and near miss (a shared phone only) is listed under its row.
    """
    err = sys.stderr
    src, mapping = plan.source, plan.mapping
    if src is not None and mapping is not None:
        _print_mapping(src, mapping)
    out = sys.stdout
    for row in plan.rows:
        name = row.values.get("name", "")
        where = _where(plan, row)
        if row.action == "new" and row.reason:
            print(f"{where}: probable duplicate: {name} ({row.reason})", file=out)
        elif row.action == "new" and verbose:
            print(f"{where}: new: {name}", file=out)
        elif row.action in ("update", "matched", "unchanged") and (
            row.action != "unchanged" or verbose
        ):
            fields = ", ".join(
                [
                    f"{k}: {old!r} -> {new!r}" if k != "extra" else "kept properties updated"
                    for k, (old, new) in row.changes.items()
                ]
                + row.describe_adds()
            )
            label = {"update": "update", "unchanged": "unchanged"}.get(
                row.action, "matches (use --update-existing)"
            )
            print(
                f"{where}: {label}: {name} = {row.matched_name} [{row.contact_id}] "
                f"({row.reason}){' ' + fields if fields else ''}",
                file=out,
            )
        elif row.action == "duplicate":
            print(f"{where}: duplicate, skipped: {name} ({row.reason})", file=out)
        elif row.action == "rejected":
            print(f"{where}: rejected: {row.reason}", file=out)
        if verbose and row.action != "rejected":
            for note in row.notes:
                print(f"{where}:   note: {note}", file=out)
    counts = plan.counts()
    print(
        f"{counts['new']} new, {counts['probable']} probable duplicates (imported), "
        f"{counts['update']} to update, {counts['matched']} matched but not updated, "
        f"{counts['unchanged']} unchanged, {counts['duplicate']} duplicates skipped, "
        f"{counts['rejected']} rejected",
        file=err,
    )
    _print_guesses(plan.rows, verbose=verbose)
    for note in plan.file_notes + ([f"note: {src.note}"] if src and src.note else []):
        print(note if note.startswith("note: ") else f"note: {note}", file=err)
    dropped = list(plan.dropped.items())
    kept = mapping.kept_headers(src.headers, src.records) if mapping and src else []
    if kept:
        print(
            f"kept, not modelled: {', '.join(kept)} (on each contact; crm show lists them)",
            file=err,
        )
    dropped_columns = [h for h in mapping.ignored if h not in kept] if mapping else []
    if dropped_columns:
        print(f"not imported: columns {', '.join(dropped_columns)}", file=err)
    if dropped:
        print(
            "not imported: "
            + ", ".join(f"{what} ({n} {plan.unit}{'s' if n > 1 else ''})" for what, n in dropped),
            file=err,
        )


@app.command("csv")
def import_csv(
    ctx: typer.Context,
    file: FileArg,
    profile: ContactProfileOption = None,
    map_: MapOption = None,
    dry_run: DryRun = False,
    update_existing: Annotated[
        bool,
        typer.Option(
            "--update-existing", help="Change contacts that a row matches (email, phone, id)."
        ),
    ] = False,
    skip_bad: SkipBad = False,
    skip_duplicates: Annotated[
        bool,
        typer.Option("--skip-duplicates", help="Leave out rows named like an existing contact."),
    ] = False,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    region: RegionOption = None,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Import contacts from a CSV or Excel (.xlsx) export (Salesforce, HubSpot, Pipedrive,
    Google Contacts, Outlook, Thunderbird, LinkedIn or any spreadsheet).

    A Google Contacts, Outlook or Thunderbird export keeps every phone, email and address
    of a person, each with its kind (work, home, mobile, fax, other).

    Every row is checked first. A value that cannot be read (a number typed as words,
    an address without "@", a birthday that could be two days) is kept as written and
    named in the dry run. A row with no name or a cell far too long is rejected: then
    nothing is imported (unless --skip-bad), each such row is listed with its line
    number and reason, and written to a rejects file to fix and import. Undo an import
    with `crm import undo`.
    """
    from crmtui.formats.address_books.layout import LAYOUTS
    from crmtui.formats.csv_import import CsvImportError, apply_import, plan_import, read_csv
    from crmtui.formats.csv_profiles import PROFILES, parse_overrides

    if profile is not None and profile not in PROFILES and profile not in LAYOUTS:
        fail(f"--profile must be one of {', '.join([*PROFILES, *LAYOUTS])}, not {profile!r}")
    try:
        overrides = parse_overrides(map_ or [])
    except ValueError as exc:
        fail(str(exc))
    input_file(file)
    phone_region = _region(region)
    try:
        source = read_csv(file, encoding=encoding, sheet=sheet)
    except (CsvImportError, LookupError) as exc:
        fail(f"{file}: {exc} (nothing was imported)")
    store = open_db(ctx, db, "create")
    try:
        with progress_bar("importing") as progress, store.write() as tx:
            try:
                plan = plan_import(
                    tx,
                    source,
                    region=phone_region,
                    profile=profile,
                    overrides=overrides,
                    update_existing=update_existing,
                    skip_duplicates=skip_duplicates,
                    progress=progress,
                )
            except CsvImportError as exc:
                fail(f"{file}: {exc} (nothing was imported)")
            _print_plan(plan, verbose=dry_run)
            _skipped_footers(source)
            rejected = plan.counts()["rejected"]
            written = write_csv_rejects(
                _rejects_target(rejects, file, ".csv"),
                source,
                [(r.line, r.reason) for r in plan.by_action("rejected")],
                dry_run=dry_run,
            )
            _stop_before_writing(rejected, dry_run=dry_run, skip_bad=skip_bad, unit="rows")
            profile_name = plan.mapping.profile if plan.mapping else "csv"
            changes: list[RowChange] = []
            tx.recorder = changes
            try:
                result = apply_import(
                    tx, plan, source_label=f"import:{profile_name}", progress=progress
                )
            finally:
                tx.recorder = None
            record(
                tx, file=file, kind="csv contacts", profile=profile_name,
                created=result.created_ids, changes=changes, rejected=rejected, rejects=written,
            )  # fmt: skip
    finally:
        store.close()
    typer.echo(
        f"imported {result.created} new contacts ({result.accounts} new accounts), "
        f"updated {result.updated}",
        err=True,
    )


@app.command("jsonl")
def import_jsonl_command(ctx: typer.Context, file: FileArg, db: DbOption = None) -> None:
    """Restore a `crm export jsonl` file into a new, empty database (all or nothing)."""
    from crmtui.formats.jsonl import JsonlError, import_jsonl

    input_file(file)
    store = open_db(ctx, db, "create")
    try:
        with file.open(encoding="utf-8") as lines, store.write() as tx:
            try:
                counts = import_jsonl(tx, lines)
            except (JsonlError, UnicodeDecodeError) as exc:
                fail(f"{file}: {exc} (nothing was imported)")
    finally:
        store.close()
    typer.echo(f"restored {sum(counts.values())} rows from {len(counts)} tables", err=True)


def _card_rejects(target: Path, cards: list[tuple[str, str]], *, dry_run: bool) -> str | None:
    """Write rejected cards (not in a dry run); returns the path, or None."""
    from crmtui.formats.rejects import write_card_rejects

    if not cards:
        return None
    if dry_run:
        typer.echo(f"rejected cards would be written to {target}", err=True)
        return None
    try:
        write_card_rejects(target, cards)
    except OSError as exc:
        fail(
            f"cannot write the rejected cards to {target}: {exc.strerror or exc} (nothing imported)"
        )
    typer.echo(
        f"rejected cards written to {target} (fix them there and import that file)", err=True
    )
    return str(target)


def _note_groups(cards: Sequence[tuple[str, int, int, object]], kinds: list[str | None]) -> None:
    from crmtui.formats.vcards import GROUP

    for (file, number, line, _fields), kind in zip(cards, kinds, strict=True):
        if kind == GROUP:
            typer.echo(
                f"note: card {number} of {file} (line {line}) is a contact group, "
                "not a person or an organisation: skipped",
                err=True,
            )


def _plan_cards(
    tx: WriteTx,
    cards: list[tuple[str, int, int, dict[str, str] | str]],
    kinds: list[str | None],
    file_notes: list[str],
    *,
    region: str | None,
    update_existing: bool,
    progress: Callable[[int, int], None] | None,
) -> tuple[ImportPlan, list[BookRow], list[int]]:
    """People's cards planned as contacts, organisations' as accounts (groups left out).

    Returns the contacts' plan, the accounts' rows (each `line` is its card's index)
    and the index of each person's card.
    """
    from crmtui.formats.book_import import plan_account_records
    from crmtui.formats.csv_import import ImportPlan, plan_records
    from crmtui.formats.vcards import ORG

    people = [i for i, k in enumerate(kinds) if k is None]
    orgs = [i for i, k in enumerate(kinds) if k == ORG]
    rows = plan_records(
        tx,
        ((n, cards[i][3]) for n, i in enumerate(people, 1)),
        total=len(people),
        region=region,
        update_existing=update_existing,
        progress=progress,
        unit="card",
    )
    for row, i in zip(rows, people, strict=True):
        file, number, line, _fields = cards[i]
        row.where = f"card {number} of {file} (line {line})"
    plan = ImportPlan(rows, unit="card", file_notes=file_notes)
    for i in people:
        fields = cards[i][3]
        if isinstance(fields, dict) and "_dropped" in fields:
            plan.count_dropped(fields["_dropped"].split("\n"))
    org_rows = plan_account_records(
        tx,
        ((i, _card_account(f)) for i in orgs if isinstance(f := cards[i][3], dict)),
        region=region,
        update_existing=update_existing,
    )
    typer.echo(
        f"read {len(cards)} cards ({len(people)} people, {len(orgs)} organisations)", err=True
    )
    return plan, org_rows, people


def _card_account(fields: dict[str, str]) -> dict[str, str]:
    """An organisation card's fields as account cells (what an account has no place for
    is kept in the notes, not dropped)."""
    cells: dict[str, str] = {k: fields[k] for k in ("name", "phone", "city", "country", "tags", "external_id")
             if k in fields}  # fmt: skip
    extra = [f"{k}: {fields[k]}" for k in ("email", "mobile", "title") if k in fields]
    cells["notes"] = " / ".join(filter(None, [fields.get("notes"), *extra]))
    return cells


@app.command("vcard")
def import_vcard_command(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A .vcf file (one or many cards) or a folder of them.")
    ],
    dry_run: DryRun = False,
    update_existing: Annotated[
        bool, typer.Option("--update-existing", help="Change contacts that a card matches.")
    ] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good cards even if some are broken.")
    ] = False,
    region: RegionOption = None,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Import vCards (2.1, 3.0, 4.0: phones, Apple, Google, Outlook, Nextcloud); broken cards
    are listed.

    A card matches an existing contact by UID (an earlier `crm export vcard`),
    email or phone, so importing the same cards twice adds nobody twice. An
    organisation's card (KIND:org, Apple's company cards) becomes an account;
    a contact group's card is skipped. A value that cannot be read (a number
    typed as words) is kept as written and named in the dry run; a card with
    no name at all is listed and written to the rejects file.
    """
    from crmtui.formats.book_import import BookResult, apply_account_rows
    from crmtui.formats.csv_import import apply_import
    from crmtui.formats.vcards import read_cards

    input_file(path, folder_ok=True)
    phone_region = _region(region)
    file_notes: list[str] = []
    texts: list[str] = []
    try:
        cards = read_cards(path, file_notes, texts)
    except (OSError, ValueError) as exc:  # ValueError: an undecodable line, named
        fail(f"{path}: {exc}")
    if not cards:
        fail(f"{path}: no vCards found (nothing was imported)")
    kinds = [c[3].get("_kind") if isinstance(c[3], dict) else None for c in cards]
    _note_groups(cards, kinds)
    store = open_db(ctx, db, "create")
    try:
        with progress_bar("importing") as progress, store.write() as tx:
            plan, org_rows, people = _plan_cards(
                tx, cards, kinds, file_notes, region=phone_region,
                update_existing=update_existing, progress=progress,
            )  # fmt: skip
            _print_plan(plan, verbose=dry_run)
            for org in org_rows:
                file, number, line, _fields = cards[org.line]
                where = f"card {number} of {file} (line {line})"
                _print_book_row(where, org, "account", verbose=dry_run)
            rejected_cards = [
                (texts[people[n]], f"{row.where}: {row.reason}")
                for n, row in enumerate(plan.rows)
                if row.action == "rejected"
            ] + [
                (
                    texts[org.line],
                    f"card {cards[org.line][1]} of {cards[org.line][0]}: {org.reason}",
                )
                for org in org_rows
                if org.action == "rejected"
            ]
            rejected = len(rejected_cards)
            written = _card_rejects(
                _rejects_target(rejects, path, ".vcf"), rejected_cards, dry_run=dry_run
            )
            _stop_before_writing(rejected, dry_run=dry_run, skip_bad=skip_bad, unit="cards")
            changes: list[RowChange] = []
            tx.recorder = changes
            try:
                orgs_done = BookResult()
                apply_account_rows(tx, org_rows, orgs_done)
                result = apply_import(tx, plan, source_label="import:vcard", progress=progress)
            finally:
                tx.recorder = None
            record(
                tx, file=path, kind="vcard", profile=None,
                created=orgs_done.created_ids + result.created_ids, changes=changes,
                rejected=rejected, rejects=written,
            )  # fmt: skip
    finally:
        store.close()
    typer.echo(
        f"imported {result.created} new contacts ({result.accounts + orgs_done.created} "
        f"new accounts), updated {result.updated + orgs_done.updated}",
        err=True,
    )


def _print_book_row(where: str, row: BookRow, what: str, *, verbose: bool) -> None:
    """One account or deal row of the preview: whom it matched and why, its notes."""
    name = row.values.get("name", "")
    out = sys.stdout
    if row.action == "rejected":
        print(f"{where}: rejected: {row.reason}", file=out)
        return
    if row.action == "new" and verbose:
        stage = f" ({row.stage.name})" if row.stage is not None else ""
        print(f"{where}: new {what}: {name}{stage}", file=out)
    elif row.action in ("update", "matched") or (row.action == "unchanged" and verbose):
        fields = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in row.changes.items())
        label = {"update": "update", "unchanged": "unchanged"}.get(
            row.action, "matches (use --update-existing)" if what == "account" else "matches"
        )
        matched = f" = {row.matched_name}" if row.matched_name else ""
        print(
            f"{where}: {label}: {name}{matched} [{row.target_id}] ({row.reason})"
            f"{' ' + fields if fields else ''}",
            file=out,
        )
    elif row.action == "duplicate":
        print(f"{where}: duplicate, skipped: {name} ({row.reason})", file=out)
    if verbose:
        for note in row.notes:
            print(f"{where}:   note: {note}", file=out)


def _book_summary(plan: BookPlan, *, verbose: bool) -> None:
    err = sys.stderr
    src, mapping = plan.source, plan.mapping
    _print_mapping(src, mapping)
    what = "account" if plan.kind == "accounts" else "deal"
    for row in plan.rows:
        _print_book_row(f"line {row.line}", row, what, verbose=verbose)
    counts = plan.counts()
    print(
        f"{counts['new']} new, {counts['update']} to update, {counts['matched']} matched "
        f"(not imported again), {counts['unchanged']} unchanged, {counts['duplicate']} "
        f"duplicates skipped, {counts['rejected']} rejected",
        file=err,
    )
    _print_guesses(plan.rows, verbose=verbose)
    if src.note:
        print(f"note: {src.note}", file=err)
    if mapping.ignored:
        print(f"not imported: columns {', '.join(mapping.ignored)}", file=err)
    _skipped_footers(src)


def _import_book(
    ctx: typer.Context,
    kind: str,
    file: Path,
    *,
    profile: str | None,
    map_: list[str] | None,
    dry_run: bool,
    skip_bad: bool,
    update_existing: bool,
    encoding: str | None,
    sheet: str | None,
    rejects: Path | None,
    db: Path | None,
    region: str | None = None,
    pipeline: str | None = None,
    stage_map: list[str] | None = None,
    currency: str | None = None,
) -> None:
    """`crm import accounts` and `crm import deals`: read, plan, show, write, record."""
    from crmtui.domain.validate import InvalidInput
    from crmtui.formats.book_import import apply_book
    from crmtui.formats.csv_import import CsvImportError, read_csv
    from crmtui.formats.csv_profiles import KINDS, parse_overrides

    profiles = KINDS[kind][0]
    if profile is not None and profile not in profiles:
        fail(f"--profile must be one of {', '.join(profiles)}, not {profile!r}")
    try:
        overrides = parse_overrides(map_ or [], kind)
        stages = _stage_map(stage_map or [])
    except ValueError as exc:
        fail(str(exc))
    input_file(file)
    phone_region = _region(region) if kind == "accounts" else None
    try:
        source = read_csv(file, encoding=encoding, sheet=sheet)
    except (CsvImportError, LookupError) as exc:
        fail(f"{file}: {exc} (nothing was imported)")
    store = open_db(ctx, db, "create")
    try:
        with store.write() as tx:
            plan = _plan_book(
                tx, kind, file, source, profile=profile, overrides=overrides, region=phone_region,
                update_existing=update_existing, pipeline=pipeline, stage_map=stages,
                currency=currency,
            )  # fmt: skip
            _book_summary(plan, verbose=dry_run)
            rejected = plan.counts()["rejected"]
            written = write_csv_rejects(
                _rejects_target(rejects, file, ".csv"),
                source,
                [(r.line, r.reason) for r in plan.rows if r.action == "rejected"],
                dry_run=dry_run,
            )
            _stop_before_writing(rejected, dry_run=dry_run, skip_bad=skip_bad, unit="rows")
            changes: list[RowChange] = []
            tx.recorder = changes
            try:
                result = apply_book(tx, plan)
            except InvalidInput as exc:
                fail(f"{file}: {exc} (nothing was imported)")
            finally:
                tx.recorder = None
            record(
                tx, file=file, kind=f"csv {kind}", profile=plan.mapping.profile,
                created=result.created_ids, changes=changes, rejected=rejected, rejects=written,
            )  # fmt: skip
    finally:
        store.close()
    extra = f" ({result.accounts} new accounts)" if kind == "deals" else ""
    typer.echo(f"imported {result.created} new {kind}{extra}, updated {result.updated}", err=True)


def _plan_book(
    tx: WriteTx,
    kind: str,
    file: Path,
    source: CsvFile,
    *,
    profile: str | None,
    overrides: dict[str, str],
    region: str | None,
    update_existing: bool,
    pipeline: str | None,
    stage_map: dict[str, str],
    currency: str | None,
) -> BookPlan:
    """Plan an account or deal import; a bad file or option exits 2."""
    from crmtui.domain.validate import InvalidInput
    from crmtui.formats.book_import import plan_accounts, plan_deals
    from crmtui.formats.csv_import import CsvImportError
    from crmtui.store.resolve import NotFound

    try:
        if kind == "accounts":
            return plan_accounts(
                tx, source, region=region, profile=profile, overrides=overrides,
                update_existing=update_existing,
            )  # fmt: skip
        return plan_deals(
            tx, source, profile=profile, overrides=overrides, pipeline=pipeline,
            stage_map=stage_map, currency=currency,
        )  # fmt: skip
    except CsvImportError as exc:
        fail(f"{file}: {exc} (nothing was imported)")
    except (InvalidInput, NotFound) as exc:
        fail(f"{exc} (nothing was imported)")


def _stage_map(items: list[str]) -> dict[str, str]:
    """`--stage-map "Their stage=Our stage"` options as a dict; raises ValueError."""
    out: dict[str, str] = {}
    for item in items:
        theirs, sep, ours = item.rpartition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise ValueError(f'--stage-map {item!r}: expected "Their stage=Our stage"')
        out[theirs.strip()] = ours.strip()
    return out


@app.command("accounts")
def import_accounts_command(
    ctx: typer.Context,
    file: FileArg,
    profile: ProfileOption = None,
    map_: MapOption = None,
    dry_run: DryRun = False,
    update_existing: Annotated[
        bool,
        typer.Option("--update-existing", help="Change accounts a row matches (id or name)."),
    ] = False,
    skip_bad: SkipBad = False,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    region: RegionOption = None,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Import accounts (organisations, companies) from a Salesforce, HubSpot or Pipedrive CSV
    or Excel (.xlsx) export.

    A row matches a stored account by its source id, else by name (any case).
    Import accounts before deals and contacts, so their account ids resolve.
    """
    _import_book(
        ctx, "accounts", file, profile=profile, map_=map_, dry_run=dry_run, skip_bad=skip_bad,
        update_existing=update_existing, encoding=encoding, sheet=sheet, rejects=rejects, db=db,
        region=region,
    )  # fmt: skip


@app.command("deals")
def import_deals_command(
    ctx: typer.Context,
    file: FileArg,
    profile: ProfileOption = None,
    map_: MapOption = None,
    pipeline: Annotated[
        str | None, typer.Option(help="The pipeline the deals go into (default: the default one).")
    ] = None,
    stage_map: Annotated[
        list[str] | None,
        typer.Option(
            "--stage-map",
            help='Their stage to a stage of the pipeline: "Needs Analysis=Qualified" (repeatable).',
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(help="Currency of amounts that name none (default: EUR, shown per row)."),
    ] = None,
    dry_run: DryRun = False,
    skip_bad: SkipBad = False,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Import deals (opportunities) from a Salesforce, HubSpot or Pipedrive CSV or .xlsx.

    Stages are mapped to the pipeline's (--stage-map, the same name, or a vendor's
    standard stage); a row with an unknown stage is rejected, listing the stages.
    Won and lost deals are imported closed. Report footers are skipped.
    """
    _import_book(
        ctx, "deals", file, profile=profile, map_=map_, dry_run=dry_run, skip_bad=skip_bad,
        update_existing=False, encoding=encoding, sheet=sheet, rejects=rejects, db=db, pipeline=pipeline,
        stage_map=stage_map, currency=currency,
    )  # fmt: skip


@app.command("list")
def list_batches_command(ctx: typer.Context, db: DbOption = None) -> None:
    """List import batches, newest first: id, when, file, kind, counts, undone or not."""
    from crmtui.services.upkeep.import_batches import list_batches

    store = open_db(ctx, db, "read")
    try:
        with store.write() as tx:
            batches = list_batches(tx)
            lines = [
                f"{b.id}  {b.created_at:%Y-%m-%d %H:%M}  {b.kind:<13} created {b.created}, "
                f"changed {b.changed}, rejected {b.rejected}  "
                f"{'undone ' + format(b.undone_at, '%Y-%m-%d %H:%M') if b.undone_at else '-'}"
                f"  {b.file}"
                for b in batches
            ]
    finally:
        store.close()
    if not lines:
        typer.echo("no imports yet", err=True)
        return
    typer.echo("id  when (UTC)  kind  counts  undone  file", err=True)
    for line in lines:
        typer.echo(line)


_PART_WORDS = {"contact": "phone/email/address item", "deal": "stage change", "account": "part"}


@app.command("undo")
def undo_batch_command(
    ctx: typer.Context,
    batch: Annotated[
        str, typer.Argument(help="The batch id (or a unique prefix) from `crm import list`.")
    ],
    dry_run: DryRun = False,
    db: DbOption = None,
) -> None:
    """Take an import back: remove what it created, restore what it changed (synced).

    A field changed since the import (here or by a colleague) is left as it is,
    and a created record that was edited or linked since is kept; each is listed.
    """
    from crmtui.commands.common import EXIT_NOT_FOUND
    from crmtui.services.upkeep.import_batches import BatchUndone, removed_records, undo_batch
    from crmtui.store.resolve import NotFound

    store = open_db(ctx, db, "write")
    try:
        with store.write() as tx:
            try:
                report = undo_batch(tx, batch, dry_run=dry_run)
            except NotFound as exc:
                fail(str(exc), EXIT_NOT_FOUND)
            except BatchUndone as exc:
                fail(f"{exc.message} (nothing was written)")
            records = removed_records(tx, report.removed)
            for gone in records:
                word = _PART_WORDS.get(gone.entity, "part") + ("s" if gone.parts > 1 else "")
                with_parts = f" (with {gone.parts} {word})" if gone.parts else ""
                typer.echo(
                    f"remove {gone.entity.replace('_', ' ')} {gone.name} [{gone.row_id}]{with_parts}"
                )
            for entity, row_id, column in report.restored:
                typer.echo(f"restore {entity} {row_id} {column}")
            for entity, row_id, maybe, why in report.kept:
                what = f"{entity} {row_id}" + (f" {maybe}" if maybe else "")
                typer.echo(f"kept {what}: {why}")
            parts = sum(r.parts for r in records)
            summary = (
                f"{len(records)} records removed"
                + (f" (with {parts} of their phones, emails, addresses or stages)" if parts else "")
                + f", {len(report.restored)} fields restored, {len(report.kept)} left as they"
                " are (changed since)"
            )
            if dry_run:
                typer.echo(f"dry run: would be {summary}; nothing was written", err=True)
                raise typer.Exit(0)
    finally:
        store.close()
    typer.echo(f"undone batch {report.batch.id}: {summary}", err=True)
