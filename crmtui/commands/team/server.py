"""`crm server`: run the sync server and administer reps, territories and devices."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from crmtui.commands.common import EXIT_DATABASE, EXIT_NOT_FOUND, EXIT_USAGE, fail, one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from crmtui.server.admin import AlreadyThere

app = typer.Typer(help="Run and administer the team's sync server.", no_args_is_help=True)

DEFAULT_DB = "crmtui-server.db"
DbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="CRMTUI_SERVER_DB",
        help="A SQLite file or postgresql+psycopg://user@host/db (env CRMTUI_SERVER_DB).",
    ),
]


def _engine(url: str, *, create: bool = False) -> Engine:
    """The server database, upgraded; only `init` and `run` may create a SQLite file.

    A missing, foreign or unusable file, or a database that cannot be reached,
    is one line and exit 3 (as for `--db` of the local commands).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from crmtui.server.db import make_server_engine, upgrade_server

    _check_path(url, create=create)
    try:
        engine = make_server_engine(url)
        upgrade_server(engine)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        fail(f"cannot open the server database {_safe(url)}: {one_line(exc)}", EXIT_DATABASE)
    return engine


def _check_path(url: str, *, create: bool) -> None:
    """A SQLite `--db` that is missing (unless `create`), foreign or unusable: one line, exit 3."""
    from crmtui.dbfile import DbChoice, DbFileError, check
    from crmtui.server.db import is_sqlite, normalise_url

    if is_sqlite(url):
        path = Path(normalise_url(url).removeprefix("sqlite:///"))
        try:
            creating = check(
                DbChoice(path, explicit=True),
                "create" if create else "read",
                version_table="crmtui_server_version",
            )
        except DbFileError as exc:
            message = str(exc)
            if message.startswith("no database at"):
                message = (
                    f"no server database at {path} (create it with `crm server init --db {path}`)"
                )
            fail(message, EXIT_DATABASE)
        if creating:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                fail(f"cannot create {path}: {one_line(exc)}", EXIT_DATABASE)


def _refuse(exc: Exception) -> NoReturn:
    """Exit with an admin error: 1 when a name matched nothing (or several), else 2."""
    from crmtui.server.admin import AdminNotFound

    fail(str(exc), EXIT_NOT_FOUND if isinstance(exc, AdminNotFound) else EXIT_USAGE)


def _already(exc: AlreadyThere) -> None:
    """A second run of an add: the existing id on stdout (as the first run), a note, exit 0."""
    typer.echo(exc.existing_id)
    typer.echo(f"{exc}: nothing changed", err=True)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True) if "://" in url else url
    except (ArgumentError, ValueError):
        return "(the --db URL)"


@app.command()
def init(db: DbUrl = DEFAULT_DB) -> None:
    """Create or upgrade the server's database."""
    from crmtui.server.db import current_server_revision

    engine = _engine(db, create=True)
    typer.echo(f"server schema at {current_server_revision(engine)}", err=True)
    engine.dispose()


@app.command()
def run(
    db: DbUrl = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    workers: Annotated[
        int, typer.Option(help="Worker processes (PostgreSQL only; SQLite has one writer).")
    ] = 1,
    intake_only: Annotated[
        bool,
        typer.Option(
            "--intake-only",
            help="Serve only the web lead intake (POST /v1/intake/FORM), not the sync API.",
        ),
    ] = False,
    replica: Annotated[
        str | None,
        typer.Option(
            envvar="CRMTUI_SERVER_REPLICA_DB",
            help="A hot standby of the --db PostgreSQL database to serve pulls from.",
        ),
    ] = None,
) -> None:
    """Serve the sync API and the web lead intake (uvicorn); --intake-only: the intake alone."""
    import os

    import uvicorn

    from crmtui.server.db import is_sqlite

    if workers > 1 and is_sqlite(db):
        fail("several workers need PostgreSQL; SQLite runs with one", EXIT_USAGE)
    _engine(db, create=True).dispose()  # migrate once, before the workers start
    if replica and is_sqlite(db):
        fail("a replica needs PostgreSQL", EXIT_USAGE)
    from crmtui.server.ratelimit import DEFAULT, ENV, RateLimit

    os.environ.setdefault(ENV, DEFAULT)  # the per-device request limit, read by each worker
    try:
        RateLimit.from_env()
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    os.environ["CRMTUI_SERVER_DB"] = db
    if replica:
        os.environ["CRMTUI_SERVER_REPLICA_DB"] = replica
    target = "crmtui.server.asgi:intake_app" if intake_only else "crmtui.server.asgi:app"
    uvicorn.run(target, host=host, port=port, workers=workers, proxy_headers=True)


@app.command("add-territory")
def add_territory(
    name: Annotated[str, typer.Argument(help="The territory's name.")],
    parent: Annotated[str | None, typer.Option(help="The parent territory's name.")] = None,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Add a territory (published to every device on its next sync)."""
    from crmtui.server.admin import AdminError, AlreadyThere
    from crmtui.server.admin import add_territory as do_add

    try:
        typer.echo(do_add(_engine(db), name, parent))
    except AlreadyThere as exc:
        _already(exc)
    except AdminError as exc:
        _refuse(exc)


@app.command("add-rep")
def add_rep(
    name: Annotated[str, typer.Argument(help="The rep's name.")],
    role: Annotated[str, typer.Option(help="rep, manager or admin")] = "rep",
    territory: Annotated[
        list[str] | None, typer.Option(help="Territory name (repeat for several).")
    ] = None,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Add a rep with a role and territories."""
    from crmtui.server.admin import AdminError, AlreadyThere
    from crmtui.server.admin import add_rep as do_add

    try:
        typer.echo(do_add(_engine(db), name, role, territory or []))
    except AlreadyThere as exc:
        _already(exc)
    except AdminError as exc:
        _refuse(exc)


@app.command()
def assign(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    territory: Annotated[str, typer.Argument(help="The territory's name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Assign one more territory to a rep."""
    from crmtui.server.admin import AdminError
    from crmtui.server.admin import assign as do_assign

    try:
        added = do_assign(_engine(db), rep, territory)
    except AdminError as exc:
        _refuse(exc)
    typer.echo(f"{rep} {'now covers' if added else 'already covers'} {territory}", err=True)


@app.command("issue-token")
def issue_token(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    device: Annotated[str, typer.Option(help="A name for the device, e.g. ann-laptop.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Enrol a device; prints its token once (only a hash is stored)."""
    from crmtui.server.admin import AdminError
    from crmtui.server.admin import issue_token as do_issue

    try:
        issued = do_issue(_engine(db), rep, device)
    except AdminError as exc:
        _refuse(exc)
    typer.echo(issued.token)
    typer.echo(
        f"device {issued.device_id}: give the token to its owner; it is not shown again", err=True
    )


@app.command("revoke-token")
def revoke_token(
    device: Annotated[str, typer.Argument(help="Device id (or a name only one live device has).")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Revoke a device's token at once."""
    from crmtui.server.admin import AdminError
    from crmtui.server.admin import revoke_token as do_revoke

    try:
        done = do_revoke(_engine(db), device)
    except AdminError as exc:
        _refuse(exc)
    typer.echo(f"{device} {'revoked' if done else 'was revoked already'}", err=True)


@app.command()
def devices(db: DbUrl = DEFAULT_DB) -> None:
    """List enrolled devices, their reps, last contact and revocation."""
    from crmtui.output import format_table, terminal_width
    from crmtui.server.admin import devices as list_devices

    rows = list_devices(_engine(db))
    columns = ["id", "name", "rep", "role", "created_at", "last_seen_at", "revoked_at"]
    for line in format_table(rows, columns, width=terminal_width()):
        typer.echo(line)


def _table(rows: list[dict[str, object]], columns: list[str]) -> None:
    from crmtui.output import format_table, terminal_width

    for line in format_table(rows, columns, width=terminal_width()):
        typer.echo(line)


def _change(db: str, action: Callable[[Engine], bool], done: str, already: str) -> None:
    """Run an idempotent admin change; say what happened (or that it had happened)."""
    from crmtui.server.admin import AdminError

    engine = _engine(db)
    try:
        changed = action(engine)
    except AdminError as exc:
        _refuse(exc)
    finally:
        engine.dispose()
    typer.echo(done if changed else already, err=True)


@app.command()
def territories(db: DbUrl = DEFAULT_DB) -> None:
    """List territories: parent, reps and how many records each holds."""
    from crmtui.server.admin import territories as list_territories

    _table(list_territories(_engine(db)), ["id", "name", "parent", "reps", "records"])  # type: ignore[arg-type]


@app.command()
def reps(db: DbUrl = DEFAULT_DB) -> None:
    """List reps: role, territories and live devices."""
    from crmtui.server.admin import reps as list_reps

    _table(list_reps(_engine(db)), ["id", "name", "role", "territories", "devices"])  # type: ignore[arg-type]


@app.command("rename-territory")
def rename_territory(
    old: Annotated[str, typer.Argument(help="The territory's name now.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Rename a territory (published to every device on its next sync)."""
    from crmtui.server.admin import rename_territory as do

    _change(
        db,
        lambda e: do(e, old, new),
        f"territory {old} is now {new}",
        f"territory is {new} already",
    )


@app.command("remove-territory")
def remove_territory(
    name: Annotated[str, typer.Argument(help="The territory's name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Remove a territory that holds no records (refused until they are moved)."""
    from crmtui.server.admin import remove_territory as do

    _change(db, lambda e: do(e, name), f"removed {name}", f"no territory {name}: nothing to remove")


@app.command("rename-rep")
def rename_rep(
    old: Annotated[str, typer.Argument(help="The rep's name now.")],
    new: Annotated[str, typer.Argument(help="Their new name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Rename a rep."""
    from crmtui.server.admin import rename_rep as do

    _change(db, lambda e: do(e, old, new), f"rep {old} is now {new}", f"rep is {new} already")


@app.command("remove-rep")
def remove_rep(
    name: Annotated[str, typer.Argument(help="The rep's name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Remove a rep with no live device and no records they own."""
    from crmtui.server.admin import remove_rep as do

    _change(db, lambda e: do(e, name), f"removed {name}", f"no rep {name}: nothing to remove")


@app.command("set-role")
def set_role(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    role: Annotated[str, typer.Argument(help="rep, manager or admin")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Change a rep's role."""
    from crmtui.server.admin import set_role as do

    _change(db, lambda e: do(e, rep, role), f"{rep} is now {role}", f"{rep} is {role} already")


@app.command()
def unassign(
    rep: Annotated[str, typer.Argument(help="The rep's name.")],
    territory: Annotated[str, typer.Argument(help="The territory's name.")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Take a territory from a rep."""
    from crmtui.server.admin import unassign as do

    _change(
        db,
        lambda e: do(e, rep, territory),
        f"{rep} no longer covers {territory}",
        f"{rep} did not cover {territory}",
    )


@app.command("allow-reseed")
def allow_reseed(
    hours: Annotated[
        float, typer.Option(min=0.1, max=24 * 14, help="How long the window stays open.")
    ] = 24,
    close: Annotated[bool, typer.Option("--close", help="Close the window now.")] = False,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """After a server reset: let the laptops send back everything they hold.

    Re-create the territories (same names) and reps, issue tokens, then open the
    window: each laptop's next `crm sync` reseeds the server with its full state.
    """
    from crmtui.server.reseed import allow_reseed as do_allow
    from crmtui.server.reseed import close_reseed

    engine = _engine(db)
    try:
        if close:
            closed = close_reseed(engine)
            typer.echo("reseed window closed" if closed else "no reseed window was open", err=True)
            return
        until = do_allow(engine, hours)
    finally:
        engine.dispose()
    typer.echo(until)
    typer.echo(
        f"reseed window open until {until}: every laptop's next `crm sync` sends back"
        " everything it holds",
        err=True,
    )


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (replaced if there).")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Write one consistent copy of the server database (SQLite backup API or pg_dump)."""
    from crmtui.server.backup import BackupError
    from crmtui.server.backup import backup as do_backup

    _check_path(db, create=False)
    if file.is_dir():  # "" reads as ".": a folder is no place for one file
        fail(f"{file} is a folder: give the file to write the backup to", EXIT_USAGE)
    try:
        done = do_backup(db, file)
    except BackupError as exc:
        fail(str(exc), EXIT_DATABASE)
    except OSError as exc:
        fail(f"cannot write {file}: {one_line(exc)}", EXIT_DATABASE)
    head = f", feed at {done.head}, {done.devices} live device(s)" if done.head >= 0 else ""
    typer.echo(f"backed up {_safe(db)} to {file} ({done.store}{head})", err=True)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `crm server backup`.")],
    db: DbUrl = DEFAULT_DB,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds a server.")
    ] = False,
    reseed_hours: Annotated[
        float,
        typer.Option(min=0.1, max=24 * 14, help="How long the laptops' reseed window stays open."),
    ] = 72,
) -> None:
    """Put a backup back (stop the server first); the laptops then reseed what came after it.

    The restored server takes a new identity and opens a reseed window: each
    laptop's next `crm sync` sends back everything it holds and pulls from the start.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from crmtui.server.backup import BackupError, BadBackupFile, LiveDatabase
    from crmtui.server.backup import restore as do_restore

    _check_path(db, create=True)  # a missing SQLite file is made from the backup
    try:
        done = do_restore(db, file, force=force, reseed_hours=reseed_hours)
    except (LiveDatabase, BadBackupFile) as exc:
        fail(str(exc), EXIT_USAGE)
    except BackupError as exc:
        fail(str(exc), EXIT_DATABASE)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot restore into {_safe(db)}: {one_line(exc)}", EXIT_DATABASE)
    typer.echo(
        f"restored {file} into {_safe(db)} (feed at {done.head}, {done.devices} live device(s));"
        f" new server identity, reseed window open for {reseed_hours:g} h: every laptop's next"
        " `crm sync` sends back what it holds. Devices enrolled after the backup need new tokens.",
        err=True,
    )


def _decide(db: str, deal: str, decision: str, manager: str, reason: str | None) -> None:
    from crmtui.server.admin import AdminError
    from crmtui.server.approvals import decide
    from crmtui.services.sales.approvals import explain

    engine = _engine(db)
    try:
        state = decide(engine, deal, decision, manager=manager, reason=reason)
    except AdminError as exc:
        _refuse(exc)
    finally:
        engine.dispose()
    typer.echo(f"{explain(state)}; the rep's laptop gets it at its next sync", err=True)


ManagerOption = Annotated[
    str, typer.Option("--as", help="The manager (or admin) deciding, by name.")
]


@app.command("approve")
def approve(
    deal: Annotated[str, typer.Argument(help="Deal id (or a unique prefix).")],
    manager: ManagerOption,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown to the rep).")] = None,
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Approve a deal's discounts on its lines as the server holds them now.

    Exit codes: 0 ok, 1 no such deal or manager, 2 not a manager or nothing to decide.
    """
    _decide(db, deal, "approved", manager, reason)


@app.command("refuse")
def refuse(
    deal: Annotated[str, typer.Argument(help="Deal id (or a unique prefix).")],
    manager: ManagerOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the rep).")],
    db: DbUrl = DEFAULT_DB,
) -> None:
    """Refuse a deal's discounts on its lines as the server holds them now.

    Exit codes: 0 ok, 1 no such deal or manager, 2 not a manager or nothing to decide.
    """
    _decide(db, deal, "refused", manager, reason)


def _join_intake() -> None:
    """The intake's commands (`form`, `rep`, `assignments`) under `crm server`."""
    from crmtui.commands.team import server_intake

    app.add_typer(server_intake.form_app, name="form")
    app.add_typer(server_intake.rep_app, name="rep")
    app.command("assignments")(server_intake.assignments)


_join_intake()
