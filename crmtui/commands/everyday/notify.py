"""`crm notify`: due reminders as desktop notifications, each shown once.

Desktop notifications go through `notify-send` (libnotify, the freedesktop
notification service on the session bus) when it is installed and a session
bus is there; otherwise, or with `--via terminal`, each reminder is one line on
stdout with a terminal bell when stdout is a terminal. Run it from a systemd
user timer, cron or a launchd agent (docs/reminders.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import DbOption, fail
from crmtui.commands.writing import run_write

if TYPE_CHECKING:
    from crmtui.reports.agenda import AgendaItem

VIA = ("auto", "desktop", "terminal")


def _desktop_ready() -> bool:
    return shutil.which("notify-send") is not None and bool(
        os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("XDG_RUNTIME_DIR")
    )


def _body(item: AgendaItem, when: str) -> str:
    body = f"{item.about} · due {when}" if item.about else f"due {when}"
    return body + (f" · {item.contact_phone}" if item.contact_phone else "")


def _desktop_one(title: str, body: str) -> bool:
    """Show one notification with notify-send; False when it could not."""
    command = ["notify-send", "--app-name=crmtui", "--urgency=normal", title, body]
    try:
        done = subprocess.run(command, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def notify(
    ctx: typer.Context,
    via: Annotated[
        str, typer.Option(help="auto (desktop when possible), desktop or terminal.")
    ] = "auto",
    most: Annotated[
        int,
        typer.Option("--max", help="At most this many notifications; one summary for the rest."),
    ] = 5,
    db: DbOption = None,
) -> None:
    """Show the reminders that are due now and were not shown yet (desktop or terminal).

    Each reminder is shown once per due time (a deferred one again at its new
    time); the record is kept in the database, so a timer can run this every
    few minutes.
    """
    from crmtui.commands.everyday.daily import _now, _reading, _show
    from crmtui.reports.agenda import open_ticklers
    from crmtui.services.consent import format_timestamp
    from crmtui.services.follow_ups.notices import mark_notified, not_yet_notified

    if most < 1:
        fail("--max must be at least 1")
    if via not in VIA:
        fail(f"--via must be one of {', '.join(VIA)}, not {via!r}")
    now = _now()
    tz = now.tzinfo
    assert tz is not None
    path = db if db is not None else (ctx.obj or {}).get("db")
    with _reading(ctx, path) as conn:
        due = open_ticklers(conn, now=now, start=None, end=now)
        keys = {(i.tickler_id, format_timestamp(i.due_at)): i for i in due}
        fresh = not_yet_notified(conn, keys)
    items = [item for key, item in keys.items() if key in fresh]
    if not items:
        return
    desktop = via == "desktop" or (via == "auto" and _desktop_ready())
    if via == "desktop" and not _desktop_ready():
        fail("no desktop notifications here (notify-send and a session bus are needed)")
    bell = "\a" if sys.stdout.isatty() else ""
    shown = [k for k in keys if k in fresh]
    # The newest first: after a week away, what just fell due matters more than the backlog.
    for item in [keys[k] for k in reversed(shown)][:most]:
        when = _show(item.due_at, tz)
        if not (desktop and _desktop_one(f"Reminder: {item.text}", _body(item, when))):
            about = f" ({item.about})" if item.about else ""
            typer.echo(f"{bell}reminder due {when}: {item.text}{about}  [{item.tickler_id}]")
            bell = ""  # one bell per run is enough
    rest = len(shown) - most
    if rest > 0:
        summary = f"{rest} more reminder(s) due: run `crm due`"
        if not (desktop and _desktop_one("crmtui", summary)):
            typer.echo(summary)
    run_write(ctx, path, lambda tx: mark_notified(tx=tx, keys=shown))
    typer.echo(f"{len(shown)} reminder(s) shown", err=True)


def register(app: typer.Typer) -> None:
    """Add `crm notify` to the root app."""
    app.command("notify")(notify)
