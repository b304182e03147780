"""`crm sync` and `crm conflicts`: push and pull with the team's server, settle conflicts.

Exit codes beyond the common ones: 65 the sync finished but held back pulled values
that do not fit their field (quarantined, listed by `crm conflicts`); 75 the server
could not be reached (everything stays pending, try again later); 76 the server and
this crmtui speak sync protocols that do not work together (the message says which
to upgrade); 77 the server does not know this device (pending
work written to a rescue file, nothing discarded without --discard).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import (
    EXIT_USAGE,
    DbOption,
    FormatOption,
    check_format,
    db_path,
    fail,
    open_db,
)

if TYPE_CHECKING:
    from crmtui.services.consent import CallCap
    from crmtui.store.database import Store
    from crmtui.sync.client import SyncReport

EXIT_QUARANTINED = 65
"""The sync finished but held back pulled values that do not fit their field (EX_DATAERR)."""
EXIT_TEMPFAIL = 75
EXIT_PROTOCOL = 76
"""The server and this crmtui speak sync protocols that do not work together (EX_PROTOCOL)."""
EXIT_UNKNOWN_DEVICE = 77

app = typer.Typer(help="Sync with the team's server.", invoke_without_command=True)
rescue_app = typer.Typer(help="Rescue files: edits the server has not taken, kept as JSON lines.")
app.add_typer(rescue_app, name="rescue")
conflicts_app = typer.Typer(
    help="Conflicts, and edits of yours overwritten or refused by sync.",
    invoke_without_command=True,
)


def _meta(store: Store, key: str) -> str | None:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT value FROM local_meta WHERE key = ?", (key,)).first()
    return row[0] if row else None


def _set_meta(store: Store, key: str, value: str) -> None:
    # Connection settings are local bookkeeping, not domain data: no journal op.
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO local_meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _progress(phase: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{phase:5} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()


def _summary(report: SyncReport) -> None:
    from crmtui.output import format_table, terminal_width

    if sys.stderr.isatty():
        sys.stderr.write("\n")
    row = {
        k: v
        for k, v in asdict(report).items()
        if k not in ("reasons", "held", "set_aside", "reseeded")
    }
    for line in format_table([row], list(row), width=terminal_width()):
        typer.echo(line)
    for reason in report.reasons:
        typer.echo(f"rejected: {reason}", err=True)
    for line in report.held:
        typer.echo(f"quarantined: {line}", err=True)
    if report.reseeded:
        typer.echo(f"reseeded: {report.reseeded} record(s) sent back to the server", err=True)
    for line in report.set_aside:
        typer.echo(f"moved away: {line} (your edit is listed by `crm conflicts`)", err=True)


def _duplicates_note(store: Store) -> None:
    """Say how many probable duplicates the contacts that came in make (reviewed in F7)."""
    from crmtui.quality.dedupe import new_pairs

    with store.read() as session:
        conn = session.connection().connection.driver_connection
        found, _ = new_pairs(conn)  # type: ignore[arg-type]
    if found:
        n = len(found)
        typer.echo(
            f"{n} possible duplicate{'' if n == 1 else 's'} to review (F7, or crm dedupe scan --new)",
            err=True,
        )


def _cap_of_settings() -> CallCap:
    from crmtui.commands.writing import settings_or_exit
    from crmtui.services.consent import CallCap

    settings = settings_or_exit()
    return CallCap(settings.call_cap, settings.call_cap_days)


def _claims_note(store: Store) -> None:
    """Tell this rep which of their claims another rep's earlier claim beat (team calling)."""
    from datetime import UTC, datetime

    from crmtui.commands.writing import settings_or_exit
    from crmtui.reports.calls import over_cap
    from crmtui.services.follow_ups.call_claims import claim_name, lost_claims, me_on

    with store.read() as session:
        conn = session.connection().connection.driver_connection
        me = me_on(conn, settings_or_exit().rep_name)  # type: ignore[arg-type]
        lost = lost_claims(conn, me, datetime.now(UTC))  # type: ignore[arg-type]
        for mine, winner in lost:
            rep = conn.execute(  # type: ignore[union-attr]
                "SELECT name FROM rep WHERE id = ?", (winner.rep_id,)
            ).fetchone()
            name = claim_name(conn, mine.contact_id)  # type: ignore[arg-type]
            typer.echo(
                f"claim lost: {name} is {rep[0] if rep else 'another rep'}'s to call"
                " (claimed first); the call list leaves it out",
                err=True,
            )
        now = datetime.now(UTC)
        over = over_cap(conn, now=now, cap=_cap_of_settings())  # type: ignore[arg-type]
        if over:
            typer.echo(
                f"call cap exceeded without an override for {len(over)} contact(s)"
                " (reps calling offline): see `crm calls --over-cap`",
                err=True,
            )


def _rescue_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("crmtui")) / "rescue"


@app.callback()
def sync(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be pushed.")] = False,
    discard: Annotated[
        bool,
        typer.Option("--discard", help="After writing the rescue file, drop the pending changes."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Push pending changes, then pull the team's; prints a summary table."""
    if ctx.invoked_subcommand is not None:
        return
    import httpx

    from crmtui.sync.client import (
        NetworkError,
        ProtocolMismatch,
        SyncClient,
        SyncError,
        UnknownDevice,
        device_id,
        pending_by_entity,
        pending_count,
        pending_records,
        write_rescue,
    )
    from crmtui.sync.credentials import load_token

    store = open_db(ctx, db)
    try:
        if dry_run:
            # Changed records, as the app's header counts them (a new contact with its
            # phones is one), then the field operations they come to.
            counts = pending_records(store)
            for entity, n in sorted(counts.items()):
                typer.echo(f"{entity}\t{n}")
            typer.echo(
                f"{sum(counts.values())} changed record(s) would be pushed"
                f" ({sum(pending_by_entity(store).values())} field operations)",
                err=True,
            )
            return
        server = _meta(store, "sync_server")
        token = load_token(device_id(store))
        if not server or not token:
            fail("not enrolled: run `crm sync login --server URL --token TOKEN` first")
        from crmtui.commands.everyday.mail import at_sync

        at_sync(ctx, db)  # before the push, so the mail it logs travels in this sync
        from crmtui.commands.everyday.dav import at_sync as dav_at_sync

        dav_at_sync(ctx, db)  # the phone's edits are journaled, so they travel in this push
        with httpx.Client(
            base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            try:
                report = SyncClient(store, http, rescue_dir=_rescue_dir()).sync(_progress)
            except NetworkError as exc:
                fail(f"{exc}; every change stays pending, try again later", EXIT_TEMPFAIL)
            except ProtocolMismatch as exc:
                fail(f"{exc}; every change stays pending", EXIT_PROTOCOL)
            except UnknownDevice as exc:
                waiting = pending_count(store)
                path = write_rescue(store, _rescue_dir())
                if discard:
                    with store.engine.begin() as conn:
                        conn.exec_driver_sql(
                            "UPDATE journal SET pushed_at = created_at WHERE pushed_at IS NULL"
                        )
                        conn.exec_driver_sql("DELETE FROM local_meta WHERE key = 'sync_cursor'")
                    fail(
                        f"{exc}; {waiting} pending op(s) saved to {path} and discarded",
                        EXIT_UNKNOWN_DEVICE,
                    )
                fail(
                    f"{exc}; {waiting} pending op(s) saved to {path} (still pending: nothing"
                    " is discarded without --discard)",
                    EXIT_UNKNOWN_DEVICE,
                )
            except SyncError as exc:
                fail(str(exc), EXIT_TEMPFAIL)
        _summary(report)
        _duplicates_note(store)
        _claims_note(store)
        if report.quarantined:
            fail(
                f"{report.quarantined} pulled value(s) did not fit their field and were held"
                " back (listed by `crm conflicts`); everything else is synced",
                EXIT_QUARANTINED,
            )
    finally:
        store.close()


@app.command()
def login(
    ctx: typer.Context,
    server: Annotated[str, typer.Option(help="The server's URL, e.g. https://crm.example:8765")],
    token: Annotated[str, typer.Option(help="The token printed by `crm server issue-token`.")],
    db: DbOption = None,
) -> None:
    """Enrol this database with a server (checks the token, then keeps it safely)."""
    import httpx

    from crmtui.services.territories import ENROLLED_REP_ID_KEY, ENROLLED_REP_KEY
    from crmtui.sync.client import (
        SERVER_ID,
        ProtocolMismatch,
        check_protocol,
        device_id,
        protocol_headers,
    )
    from crmtui.sync.credentials import save_token
    from crmtui.sync.wire import SERVER_HEADER

    # The server is asked first (after the path is checked): a wrong URL or token
    # leaves no new database behind.
    db_path(ctx, db, "create", make_folders=False)
    if not token.isascii() or not token.isprintable() or not token.strip():
        fail("--token must be the printable text `crm server issue-token` gave")
    try:
        with httpx.Client(base_url=server, timeout=30) as http:
            answer = http.get(
                "/v1/whoami", headers={"Authorization": f"Bearer {token}", **protocol_headers()}
            )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        fail(f"cannot reach {server}: {exc}", EXIT_TEMPFAIL)
    try:
        check_protocol(answer)
    except ProtocolMismatch as exc:
        fail(str(exc), EXIT_PROTOCOL)
    if answer.status_code != 200:
        fail(f"the server refused the token ({answer.status_code})", EXIT_UNKNOWN_DEVICE)
    try:
        who = answer.json()
        rep_name, role, rep_id = str(who["rep_name"]), str(who["role"]), str(who["rep_id"])
    except (ValueError, KeyError, TypeError):
        fail(f"{server} did not answer like a crmtui server", EXIT_TEMPFAIL)
    store = open_db(ctx, db, "create")
    try:
        where = save_token(device_id(store), token)
        _set_meta(store, "sync_server", server.rstrip("/"))
        # Who "me" is on this laptop when no rep name is configured (activities).
        _set_meta(store, ENROLLED_REP_KEY, rep_name)
        # The server's id of the rep is its `rep` record's id on every laptop.
        _set_meta(store, ENROLLED_REP_ID_KEY, rep_id)
        typer.echo(f"enrolled as {rep_name} ({role}); token kept in {where}", err=True)
        identity = answer.headers.get(SERVER_HEADER)
        known = _meta(store, SERVER_ID)
        if identity and known is None:
            _set_meta(store, SERVER_ID, identity)
        elif identity and known != identity:
            # Not stored: `crm sync` must still see that this server needs a reseed.
            typer.echo(
                "this server is not the one this database synced with (reset or replaced):"
                " `crm sync` sends back everything this laptop holds once the admin has run"
                " `crm server allow-reseed`",
                err=True,
            )
    finally:
        store.close()


@app.command()
def status(ctx: typer.Context, db: DbOption = None) -> None:
    """Pending changes, the last sync and the server."""
    from crmtui.domain.hlc import HLC
    from crmtui.sync.client import pending_records

    store = open_db(ctx, db, "read")
    try:
        last = _meta(store, "sync_last")
        when = "never"
        if last:
            from datetime import UTC, datetime

            when = datetime.fromtimestamp(HLC.decode(last).millis / 1000, UTC).isoformat(
                timespec="seconds"
            )
        typer.echo(f"server\t{_meta(store, 'sync_server') or '(not enrolled)'}")
        # Changed records, the app header's number (not field operations).
        typer.echo(f"pending\t{sum(pending_records(store).values())}")
        typer.echo(f"last sync\t{when}")
    finally:
        store.close()


@conflicts_app.callback()
def conflicts(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved ones.")] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List conflicts (both values) and your edits overwritten elsewhere or refused by the server."""
    if ctx.invoked_subcommand is not None:
        return
    from crmtui.output import write_records
    from crmtui.sync.conflicts import list_conflicts

    check_format(fmt)
    store = open_db(ctx, db, "read")
    try:
        rows = [asdict(r) for r in list_conflicts(store, include_resolved=all_)]
    finally:
        store.close()
    columns = ["id", "kind", "entity", "row_id", "field", "mine", "theirs", "resolved"]
    write_records(rows, fmt, columns=columns)


@conflicts_app.command()
def resolve(
    ctx: typer.Context,
    conflict_id: Annotated[str, typer.Argument(help="Conflict id (or a unique prefix).")],
    keep: Annotated[str, typer.Option(help="mine or theirs")],
    db: DbOption = None,
) -> None:
    """Keep one of the two values; the choice syncs like any edit."""
    from crmtui.sync.conflicts import ConflictError
    from crmtui.sync.conflicts import resolve as do_resolve

    store = open_db(ctx, db)
    try:
        row = do_resolve(store, conflict_id, keep)
    except ConflictError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        store.close()
    typer.echo(f"{row.entity} {row.row_id} {row.field}: kept {keep}", err=True)


@conflicts_app.command()
def restore(
    ctx: typer.Context,
    conflict_id: Annotated[str, typer.Argument(help="Id (or unique prefix) from `crm conflicts`.")],
    db: DbOption = None,
) -> None:
    """Put back a value of yours that another device overwrote or the server refused."""
    from crmtui.sync.conflicts import ConflictError
    from crmtui.sync.conflicts import restore as do_restore

    store = open_db(ctx, db)
    try:
        row = do_restore(store, conflict_id)
    except ConflictError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        store.close()
    typer.echo(f"{row.entity} {row.row_id} {row.field}: restored", err=True)


@rescue_app.command()
def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A rescue file (`rescue-<hlc>.jsonl`).")],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the field changes that would be sent; send nothing."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Send a rescue file's changes again through the normal push (a second run changes nothing)."""
    import httpx

    from crmtui.sync.client import (
        NetworkError,
        ProtocolMismatch,
        SyncClient,
        SyncError,
        SyncReport,
        UnknownDevice,
        device_id,
    )
    from crmtui.sync.credentials import load_token
    from crmtui.sync.rescue import RescueError, check_owner, read_rescue_file

    try:
        rescue = read_rescue_file(file)
    except RescueError as exc:
        fail(str(exc), EXIT_USAGE)
    store = open_db(ctx, db)
    try:
        me = device_id(store)
        with store.engine.connect() as conn:
            try:
                check_owner(rescue, file, conn.connection.driver_connection, me)  # type: ignore[arg-type]
            except RescueError as exc:
                fail(str(exc), EXIT_USAGE)
        if dry_run:
            for op in rescue.ops:
                typer.echo(f"{op.entity}\t{op.row_id}\t{op.op}\t{op.field or ''}")
            typer.echo(f"{len(rescue.ops)} field change(s) would be sent", err=True)
            return
        if not rescue.ops:
            typer.echo(f"{file} holds no changes: nothing to replay", err=True)
            return
        server = _meta(store, "sync_server")
        token = load_token(me)
        if not server or not token:
            fail("not enrolled: run `crm sync login --server URL --token TOKEN` first")
        from crmtui.commands.everyday.mail import at_sync

        at_sync(ctx, db)  # before the push, so the mail it logs travels in this sync
        from crmtui.commands.everyday.dav import at_sync as dav_at_sync

        dav_at_sync(ctx, db)  # the phone's edits are journaled, so they travel in this push
        report = SyncReport()
        with httpx.Client(
            base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            try:
                SyncClient(store, http, rescue_dir=_rescue_dir()).replay(rescue.ops, report)
            except NetworkError as exc:
                fail(f"{exc}; nothing lost, run it again later", EXIT_TEMPFAIL)
            except ProtocolMismatch as exc:
                fail(str(exc), EXIT_PROTOCOL)
            except UnknownDevice as exc:
                fail(f"{exc}; the file is unchanged", EXIT_UNKNOWN_DEVICE)
            except SyncError as exc:
                fail(str(exc), EXIT_TEMPFAIL)
        _summary(report)
    finally:
        store.close()
