"""`crm import`: bring contacts in from CSV, vCard and crmtui's own JSONL export.

Exit codes: 0 imported (or a clean dry run), 2 the file or some rows are bad and
nothing was written, 3 the database cannot be opened.
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
    from crmtui.formats.csv_import import ImportPlan, Row

app = typer.Typer(
    help="Import contacts from CSV, vCard or a crmtui JSONL export.", no_args_is_help=True
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


def _print_plan(plan: ImportPlan, *, verbose: bool) -> None:
    """The preview: mapping, then every row that is not a plain new one (all with --dry-run).

    Each matched row names whom it matched and why; with --dry-run every guess,
    value kept as typed and near miss (a shared phone only) is listed under its row.
    """
    err = sys.stderr
    src, mapping = plan.source, plan.mapping
    if src is not None and mapping is not None:
        print(
            f"read {len(src.records)} rows ({src.encoding}, delimiter {src.delimiter!r}, "
            f"profile {mapping.profile})",
            file=err,
        )
        for line in mapping.describe(src.headers):
            print(f"  column {line}", file=err)
        for header, field in mapping.fuzzy:
            print(f"  (matched {header!r} to {field} by similarity)", file=err)
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
            fields = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in row.changes.items())
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
    guesses = sum(1 for r in plan.rows if r.notes and r.action != "rejected")
    if guesses and not verbose:
        print(f"{guesses} rows with guesses or values kept as typed (see --dry-run)", file=err)
    for note in plan.file_notes + ([f"note: {src.note}"] if src and src.note else []):
        print(note if note.startswith("note: ") else f"note: {note}", file=err)
    dropped = list(plan.dropped.items())
    if mapping is not None and mapping.ignored:
        print(f"not imported: columns {', '.join(mapping.ignored)}", file=err)
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
    profile: Annotated[
        str | None,
        typer.Option(
            help="Column names of: salesforce, hubspot, pipedrive or generic (default: guessed)."
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help='Map a column to a field: "Column=field" (repeatable; "Column=" ignores it).',
        ),
    ] = None,
    dry_run: DryRun = False,
    update_existing: Annotated[
        bool,
        typer.Option(
            "--update-existing", help="Change contacts that a row matches (email, phone, id)."
        ),
    ] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows even if some are rejected.")
    ] = False,
    skip_duplicates: Annotated[
        bool,
        typer.Option("--skip-duplicates", help="Leave out rows named like an existing contact."),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="Force an encoding (default: UTF-8; lines that are not, Windows-1252)."),
    ] = None,
    region: RegionOption = None,
    db: DbOption = None,
) -> None:
    """Import contacts from a CSV export (Salesforce, HubSpot, Pipedrive or any spreadsheet).

    Every row is checked first; if any row is rejected, nothing is imported (unless
    --skip-bad) and each bad row is listed with its line number and reason.
    """
    from crmtui.formats.csv_import import CsvImportError, apply_import, plan_import, read_csv
    from crmtui.formats.csv_profiles import PROFILES, parse_overrides

    if profile is not None and profile not in PROFILES:
        fail(f"--profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    try:
        overrides = parse_overrides(map_ or [])
    except ValueError as exc:
        fail(str(exc))
    input_file(file)
    phone_region = _region(region)
    try:
        source = read_csv(file, encoding=encoding)
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
            rejected = plan.counts()["rejected"]
            if dry_run:
                typer.echo("dry run: nothing was written", err=True)
                # Leaving by an exception rolls the (unused) write transaction back.
                raise typer.Exit(EXIT_USAGE if rejected and not skip_bad else 0)
            if rejected and not skip_bad:
                fail(
                    f"{rejected} rows rejected: nothing was imported "
                    "(fix them, or use --skip-bad to import the rest)"
                )
            result = apply_import(
                tx,
                plan,
                source_label=f"import:{plan.mapping.profile if plan.mapping else 'csv'}",
                progress=progress,
            )
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
    db: DbOption = None,
) -> None:
    """Import vCards (3.0, 4.0; Apple, Google, Outlook, Nextcloud); broken cards are listed.

    A card matches an existing contact by UID (an earlier `crm export vcard`),
    email or phone, so importing the same cards twice adds nobody twice.
    """
    from crmtui.formats.csv_import import ImportPlan, apply_import, plan_records
    from crmtui.formats.vcards import read_cards

    input_file(path, folder_ok=True)
    phone_region = _region(region)
    file_notes: list[str] = []
    try:
        cards = read_cards(path, file_notes)
    except (OSError, ValueError) as exc:  # ValueError: an undecodable line, named
        fail(f"{path}: {exc}")
    if not cards:
        fail(f"{path}: no vCards found (nothing was imported)")
    store = open_db(ctx, db, "create")
    try:
        with progress_bar("importing") as progress, store.write() as tx:
            rows = plan_records(
                tx,
                ((n, fields) for n, (_f, _c, _l, fields) in enumerate(cards, 1)),
                total=len(cards),
                region=phone_region,
                update_existing=update_existing,
                progress=progress,
                unit="card",
            )
            for row, (file, number, line, _fields) in zip(rows, cards, strict=True):
                row.where = f"card {number} of {file} (line {line})"
            plan = ImportPlan(rows, unit="card", file_notes=file_notes)
            for _f, _c, _l, fields in cards:
                if isinstance(fields, dict) and "_dropped" in fields:
                    plan.count_dropped(fields["_dropped"].split("\n"))
            typer.echo(f"read {len(cards)} cards", err=True)
            _print_plan(plan, verbose=dry_run)
            rejected = plan.counts()["rejected"]
            if dry_run:
                typer.echo("dry run: nothing was written", err=True)
                raise typer.Exit(EXIT_USAGE if rejected and not skip_bad else 0)
            if rejected and not skip_bad:
                fail(
                    f"{rejected} cards rejected: nothing was imported "
                    "(fix them, or use --skip-bad to import the rest)"
                )
            result = apply_import(tx, plan, source_label="import:vcard", progress=progress)
    finally:
        store.close()
    typer.echo(
        f"imported {result.created} new contacts ({result.accounts} new accounts), "
        f"updated {result.updated}",
        err=True,
    )
