"""`crm dav`: contacts, reminders and meetings in two-way sync with a CardDAV/CalDAV server.

`setup` checks the account and finds (or makes) a "crmtui" address book and calendar,
`sync` runs one round, `status` says what is set up and linked, `deleted` lists what the
phone deleted (kept here) and `restore` puts it back. See docs/dav.md.

Exit codes: 0 done; 2 bad input (a bad URL, no setup yet, an unknown territory);
75 the server cannot be reached or failed (nothing is lost: run it again);
77 the server refused the user name or password.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import DbOption, fail, open_db

if TYPE_CHECKING:
    from crmtui.dav.client import DavError
    from crmtui.dav.run import SyncResult
    from crmtui.store.database import Store

EXIT_TEMPFAIL = 75
EXIT_NOPERM = 77

app = typer.Typer(
    help="Contacts, reminders and meetings in two-way sync with a CardDAV/CalDAV server "
    "(Radicale, Nextcloud, iCloud ...): the phone rings with the customer's name.",
    no_args_is_help=True,
)


def _fail_dav(exc: DavError) -> None:
    if exc.kind == "auth":
        fail(exc.message, EXIT_NOPERM)
    if exc.kind == "url":
        fail(exc.message)
    fail(f"{exc.message}; nothing was lost, run it again later", EXIT_TEMPFAIL)


@app.command("setup")
def setup(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The server's URL, e.g. https://dav.example.org/")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="User name.")] = None,
    password_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable holding the password."),
    ] = None,
    password_command: Annotated[
        str | None,
        typer.Option(help='A command printing the password, e.g. "pass show dav/work".'),
    ] = None,
    addressbook: Annotated[
        str | None,
        typer.Option(help="The address book's URL (default: crmtui/ under your address books)."),
    ] = None,
    calendar: Annotated[
        str | None,
        typer.Option(help="The calendar's URL (default: crmtui-calendar/ under your calendars)."),
    ] = None,
    no_contacts: Annotated[
        bool, typer.Option("--no-contacts", help="Do not sync contacts.")
    ] = False,
    no_calendar: Annotated[
        bool, typer.Option("--no-calendar", help="Do not sync reminders and meetings.")
    ] = False,
    tag: Annotated[
        str | None,
        typer.Option(help="Only contacts with this tag (a segment); default: every contact."),
    ] = None,
    territory: Annotated[
        str | None, typer.Option(help="Only contacts of this territory (name or id).")
    ] = None,
    at_sync: Annotated[
        bool, typer.Option("--at-sync", help="Also run `crm dav sync` at every `crm sync`.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Check the account and keep it for this database (no password is stored)."""
    from crmtui.dav.client import DavError, check_url
    from crmtui.dav.run import DavSettings, set_up

    if password_env and password_command:
        fail("give --password-env or --password-command, not both")
    if user and not (password_env or password_command):
        fail("a --user needs --password-env VAR or --password-command CMD (no password is stored)")
    if no_contacts and no_calendar:
        fail("--no-contacts and --no-calendar together leave nothing to sync")
    try:
        url = check_url(url)
    except DavError as exc:
        fail(exc.message)
    store = open_db(ctx, db)
    try:
        territory_id = _territory(store, territory) if territory else None
        settings = DavSettings(
            url=url,
            user=user,
            password_env=password_env,
            password_command=password_command,
            addressbook=addressbook,
            calendar=calendar,
            tag=tag,
            territory=territory_id,
            at_sync=at_sync,
        )
        try:
            done = set_up(store, settings, contacts=not no_contacts, calendar=not no_calendar)
        except DavError as exc:
            _fail_dav(exc)
        typer.echo(f"address book: {done.addressbook or 'not synced'}")
        typer.echo(f"calendar: {done.calendar or 'not synced'}")
        typer.echo("set up; run `crm dav sync`", err=True)
    finally:
        store.close()


def _territory(store: Store, ref: str) -> str:
    import sqlite3

    from crmtui.reports.scope import ScopeError, resolve_territory

    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return resolve_territory(conn, ref)[0]
    except ScopeError as exc:
        fail(str(exc))
    finally:
        conn.close()


def _print(result: SyncResult) -> None:
    cards, cal = result.cards, result.calendar
    if cards is not None:
        typer.echo(
            f"contacts: {len(cards.from_phone)} changed on the phone, {cards.to_phone} sent,"
            f" {len(cards.new_from_phone)} new from the phone, {cards.new_to_phone} new to it,"
            f" {cards.removed} removed"
        )
        for name in cards.kept_both:
            typer.echo(f"  edited on both sides (the later kept, see crm conflicts): {name}")
        for name in cards.archived:
            typer.echo(f"  deleted on the phone, archived here (crm dav restore): {name}")
        for what in cards.unreadable:
            typer.echo(f"  not read: {what}")
        for name in cards.retry:
            typer.echo(f"  changed during the sync, merged next time: {name}")
    if cal is not None:
        typer.echo(
            f"calendar: {len(cal.done_on_phone)} done on the phone,"
            f" {len(cal.moved_on_phone)} moved, {len(cal.renamed_on_phone)} renamed,"
            f" {cal.to_phone} sent, {cal.new_to_phone} new to it, {cal.removed} removed"
        )
        for name in cal.deleted_on_phone:
            typer.echo(f"  deleted on the phone, still open here (crm dav restore): {name}")
        for name in cal.kept_ours:
            typer.echo(f"  changed on the phone, crmtui's kept: {name}")
        for what in cal.unreadable:
            typer.echo(f"  not read: {what}")
        if cal.not_ours:
            typer.echo(f"  {cal.not_ours} to-do(s) or event(s) not made by crmtui: left alone")


def run_now(ctx: typer.Context, db: Path | None, *, accept_deletes: bool = False) -> None:
    """One sync round with the database's DAV account; exits per the module's codes."""
    from crmtui.commands.reading import user_zone
    from crmtui.commands.writing import settings_or_exit
    from crmtui.dav.client import DavError
    from crmtui.dav.run import MassDelete, load_settings, run_sync

    region = settings_or_exit().default_region
    tz = user_zone()
    store = open_db(ctx, db)
    try:
        settings = load_settings(store)
        if settings is None:
            fail("no DAV account yet: run `crm dav setup URL --user NAME --password-env VAR`")
        try:
            result = run_sync(
                store,
                settings,
                region=region,
                tz=tz,
                now=_clock(tz),
                accept_deletes=accept_deletes,
            )
        except DavError as exc:
            _fail_dav(exc)
        except MassDelete as exc:
            fail(
                f"{exc}; nothing was changed. If that is meant, `crm dav sync --accept-deletes`"
                " archives those contacts (they stay restorable)"
            )
        _print(result)
    finally:
        store.close()


def _clock(tz: tzinfo) -> Callable[[], datetime]:
    return lambda: datetime.now(tz)


@app.command("sync")
def sync(
    ctx: typer.Context,
    accept_deletes: Annotated[
        bool,
        typer.Option(
            "--accept-deletes",
            help="Archive the contacts even when many cards vanished at once (asked otherwise).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """One two-way round: the phone's edits come in (journaled), crmtui's go out."""
    run_now(ctx, db, accept_deletes=accept_deletes)


def at_sync(ctx: typer.Context, db: Path | None) -> None:
    """With `crm dav setup --at-sync`: run a round; a DAV problem never stops `crm sync`."""
    from crmtui.dav.run import load_settings

    store = open_db(ctx, db)
    try:
        settings = load_settings(store)
    finally:
        store.close()
    if settings is None or not settings.at_sync:
        return
    try:
        run_now(ctx, db)
    except typer.Exit as exc:
        if exc.exit_code:
            typer.echo("crm: dav: not synced (see above); syncing on", err=True)


@app.command("status")
def status(ctx: typer.Context, db: DbOption = None) -> None:
    """The account, the collections and how many records are linked."""
    from sqlmodel import func, select

    from crmtui.dav.run import load_settings
    from crmtui.store.dav_state import DavLink

    store = open_db(ctx, db, "read")
    try:
        settings = load_settings(store)
        if settings is None:
            fail("no DAV account yet: run `crm dav setup URL`")
        with store.read() as s:
            counts = s.exec(
                select(DavLink.kind, DavLink.state, func.count()).group_by(
                    DavLink.kind, DavLink.state
                )
            ).all()
    finally:
        store.close()
    how = (
        f"env {settings.password_env}"
        if settings.password_env
        else "command"
        if settings.password_command
        else "none"
    )
    typer.echo(f"server: {settings.url} (user {settings.user or '-'}, password: {how})")
    typer.echo(f"address book: {settings.addressbook or 'not synced'}")
    typer.echo(f"calendar: {settings.calendar or 'not synced'}")
    scope = [f"tag {settings.tag}"] if settings.tag else []
    scope += [f"territory {settings.territory}"] if settings.territory else []
    typer.echo(f"contacts synced: {' and '.join(scope) or 'every contact on this laptop'}")
    typer.echo(f"at crm sync: {'yes' if settings.at_sync else 'no'}")
    for kind, state, n in counts:
        typer.echo(f"{kind}\t{state}\t{n}")


@app.command("deleted")
def deleted(ctx: typer.Context, db: DbOption = None) -> None:
    """What the phone deleted: kept here (contacts archived, reminders open), not put back."""
    from crmtui.dav.calendar import deleted_on_phone

    store = open_db(ctx, db, "read")
    try:
        links = deleted_on_phone(store)
    finally:
        store.close()
    if not links:
        typer.echo("nothing deleted on the phone", err=True)
        raise typer.Exit(1)
    for link in links:
        typer.echo(f"{link.kind}\t{link.record_key}\t{link.synced_at:%Y-%m-%d %H:%M}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    record: Annotated[
        str | None, typer.Argument(help="The record id (or its start) from `crm dav deleted`.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Everything the phone deleted.")] = False,
    db: DbOption = None,
) -> None:
    """Put back on the phone at the next sync what it deleted (a contact is unarchived)."""
    from crmtui.dav.calendar import restore as put_back

    if not record and not all_:
        fail("name a record from `crm dav deleted`, or --all")
    store = open_db(ctx, db)
    try:
        done = put_back(store, "" if all_ else (record or ""))
    finally:
        store.close()
    if not done:
        fail(f"nothing deleted on the phone matches {record!r}", 1)
    if len(done) > 1 and not all_:
        typer.echo(f"{len(done)} records matched {record!r}; all put back", err=True)
    typer.echo(f"{len(done)} record(s) go back to the phone at the next `crm dav sync`")
