"""One-key dialling from a contact's card: `c` dials, a timer runs, `c` again ends and logs.

The dial command (config `dial_command`, crmtui.domain.dialling) is started in a
worker and not waited for: a `tel:` handler returns at once and a softphone's CLI
may block for the whole call, so neither can say when the call ended. The rep does,
with the same key; the quick log then opens with the call's length filled in.
A do-not-call contact is not dialled (the card says why).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from typing import Any, cast

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.quick_log import Chosen, QuickLogResult, QuickLogScreen

DIAL_KEY = (
    "c",
    "Call",
    "Dial the contact's phone (dial_command); c again ends the call and logs it",
)
TIMER_ID = "call-timer"


def dial_binding(prefix: str) -> Binding:
    """The `c` key (listed by `?` and the palette, not in the footer)."""
    key, what, tip = DIAL_KEY
    return Binding(key, "dial", what, id=f"{prefix}.dial", tooltip=tip, show=False)


def call_timer() -> Static:
    """The line that shows a running call (hidden otherwise)."""
    timer = Static(id=TIMER_ID)
    timer.display = False
    return timer


def number_to_dial(phones: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The dialled phone (the primary), else the first that is not a fax."""
    usable = [p for p in phones if p.get("kind") != "fax"]
    return next((p for p in usable if p.get("is_primary")), usable[0] if usable else None)


class DialKeys:
    """Mixed into the contact card: `dial_subject` says whom and what number."""

    _db: sqlite3.Connection
    _call_started: float | None = None
    _call_timer: Timer | None = None

    class DialFailed(Message):
        """The dial command could not be started; the call timer stops."""

        def __init__(self, problem: str) -> None:
            super().__init__()
            self.problem = problem

    def dial_subject(self) -> tuple[Chosen, dict[str, Any] | None, bool] | None:
        """(the contact, its phone to dial, do-not-call), or None before the card is loaded."""
        raise NotImplementedError

    @property
    def _dial_screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def action_dial(self) -> None:
        """Dial and start the timer; pressed again, stop it and open the quick log."""
        screen = self._dial_screen
        subject = self.dial_subject()
        if subject is None:
            return
        chosen, phone, do_not_call = subject
        if self._call_started is not None:
            seconds = int(time.monotonic() - self._call_started)
            self._stop_timer()

            def logged(result: QuickLogResult | None) -> None:
                if result is not None:
                    screen.notify(result.summary, title="Logged")

            screen.app.push_screen(
                QuickLogScreen(self._db, contact=chosen, kind="call", duration_s=seconds), logged
            )
            return
        if do_not_call:
            screen.notify(f"{chosen.name} is do-not-call", title="Not dialled", severity="error")
            return
        if phone is None:
            screen.notify(
                f"{chosen.name} has no phone to dial", title="Not dialled", severity="error"
            )
            return
        self._call_started = time.monotonic()
        self._call_timer = screen.set_interval(1, self._show_timer)
        self._show_timer()
        self._run_dial(str(phone.get("e164") or phone["number"]), phone.get("extension"))

    @work(thread=True, exit_on_error=False, group="dial")
    def _run_dial(self, number: str, extension: str | None) -> None:
        """Start the dial command (never waited for; its output is not read)."""
        from crmtui.domain.dialling import DialError, dial_argv

        screen = self._dial_screen
        command = cast(DailyApp, screen.app).daily.settings().dial_command
        if not command:
            screen.post_message(
                self.DialFailed(
                    'no dial_command in the config (e.g. dial_command = "xdg-open {tel}")'
                )
            )
            return
        try:
            argv = dial_argv(command, number, extension)
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except (DialError, OSError) as exc:
            screen.post_message(self.DialFailed(f"{command!r}: {exc}"))

    def on_dial_keys_dial_failed(self, event: DialFailed) -> None:
        """The command could not start: no call, no timer."""
        self._stop_timer()
        self._dial_screen.notify(event.problem, title="Not dialled", severity="error")

    def _show_timer(self) -> None:
        from crmtui.domain.dialling import call_length

        if self._call_started is None:
            return
        line = self._dial_screen.query_one(f"#{TIMER_ID}", Static)
        line.display = True
        length = call_length(time.monotonic() - self._call_started)
        line.update(
            Text.assemble(
                ("On the call ", "bold"), (length, "bold"), ("  · c ends it and logs", "dim")
            )
        )

    def _stop_timer(self) -> None:
        self._call_started = None
        if self._call_timer is not None:
            self._call_timer.stop()
            self._call_timer = None
        self._dial_screen.query_one(f"#{TIMER_ID}", Static).display = False
