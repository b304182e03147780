"""`crm notify`: due reminders as desktop notifications, each shown once.

Desktop notifications go to the freedesktop notification service
(org.freedesktop.Notifications: GNOME, KDE, dunst, mako, xfce4-notifyd ...) over
the session bus, spoken with jeepney (pure Python, no libnotify needed), when a
session bus is there; otherwise, or with `--via terminal`, each reminder is one
line on stdout with a terminal bell when stdout is a terminal. A notification
the service refuses falls back to that line, never lost. Run it from a systemd
user timer, cron or a launchd agent (docs/reminders.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import DbOption, fail
from crmtui.commands.writing import run_write

if TYPE_CHECKING:
    from crmtui.reports.agenda import AgendaItem

VIA = ("auto", "desktop", "terminal")


NOTIFY_TIMEOUT_S = 10


def _desktop_ready() -> bool:
    """Whether a session bus is there to reach (its address, or the systemd user bus socket)."""
    if sys.platform != "linux":
        return False
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and Path(runtime, "bus").exists()


class _Desktop:
    """One session-bus connection for a run's notifications (opened on the first)."""

    def __init__(self) -> None:
        self._conn: Any = None
        self.problem: str | None = None

    def show(self, title: str, body: str) -> bool:
        """Show one notification; False (with `problem` said once) when the service refused."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        service = DBusAddress(
            "/org/freedesktop/Notifications",
            bus_name="org.freedesktop.Notifications",
            interface="org.freedesktop.Notifications",
        )
        # Notify(app_name, replaces_id, icon, summary, body, actions, hints, expire_timeout)
        call = new_method_call(
            service, "Notify", "susssasa{sv}i", ("crmtui", 0, "", title, body, [], {}, -1)
        )
        try:
            if self._conn is None:
                self._conn = open_dbus_connection(bus="SESSION")
            unwrap_msg(self._conn.send_and_get_reply(call, timeout=NOTIFY_TIMEOUT_S))
        except (OSError, TimeoutError, DBusErrorResponse, KeyError, ValueError) as exc:
            # KeyError/ValueError: jeepney on an unset or unreadable bus address.
            if self.problem is None:
                self.problem = f"desktop notifications failed ({exc}); shown here instead"
            return False
        return True

    def close(self) -> None:
        """Close the bus connection, if one was opened."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _body(item: AgendaItem, when: str) -> str:
    body = f"{item.about} · due {when}" if item.about else f"due {when}"
    return body + (f" · {item.contact_phone}" if item.contact_phone else "")


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
        fail("no desktop notifications here (a D-Bus session bus is needed)")
    bell = "\a" if sys.stdout.isatty() else ""
    shown = [k for k in keys if k in fresh]
    screen = _Desktop()
    try:
        # The newest first: after a week away, what just fell due matters more than the backlog.
        for item in [keys[k] for k in reversed(shown)][:most]:
            when = _show(item.due_at, tz)
            if not (desktop and screen.show(f"Reminder: {item.text}", _body(item, when))):
                about = f" ({item.about})" if item.about else ""
                typer.echo(f"{bell}reminder due {when}: {item.text}{about}  [{item.tickler_id}]")
                bell = ""  # one bell per run is enough
        rest = len(shown) - most
        if rest > 0:
            summary = f"{rest} more reminder(s) due: run `crm due`"
            if not (desktop and screen.show("crmtui", summary)):
                typer.echo(summary)
    finally:
        screen.close()
    if screen.problem:
        typer.echo(f"crm: {screen.problem}", err=True)
    run_write(ctx, path, lambda tx: mark_notified(tx=tx, keys=shown))
    typer.echo(f"{len(shown)} reminder(s) shown", err=True)


def register(app: typer.Typer) -> None:
    """Add `crm notify` to the root app."""
    app.command("notify")(notify)
