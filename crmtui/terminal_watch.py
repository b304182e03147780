"""End the app when its terminal goes away, instead of running on with nobody there.

A closed terminal window, a killed tmux pane or a dropped ssh session hangs the tty
up. The kernel sends SIGHUP only to the session's foreground process group, so an
app started under `make demo` (or any parent that keeps the signal from it) never
hears of it; from then on every read of the tty returns at once with nothing, and
Textual's input thread spins a core while its writer queue grows. So the app does
both: it handles SIGHUP, and once a second it asks the tty for its settings, which
a hung-up tty refuses with EIO.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import termios
from collections.abc import Callable

HANGUP_EXIT = 128 + signal.SIGHUP
"""The exit status a shell gives a process ended by SIGHUP (129)."""

CHECK_EVERY_S = 1.0


def terminal_alive(fd: int) -> bool:
    """Whether `fd` is still a terminal that answers (False once it is hung up or closed)."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return False
    return True


def terminal_fd() -> int | None:
    """The file descriptor the app reads keys from, if it is a terminal."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


class TerminalWatch:
    """Calls `on_gone` once, on SIGHUP or when the tty stops answering."""

    def __init__(self, on_gone: Callable[[], None], fd: int) -> None:
        self._on_gone = on_gone
        self._fd = fd
        self._gone = False

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle SIGHUP on the app's loop (where the platform allows it)."""
        try:
            loop.add_signal_handler(signal.SIGHUP, self.hung_up)
        except (NotImplementedError, RuntimeError, ValueError):
            # No SIGHUP (Windows) or not the main thread: the periodic check still runs.
            return

    def check(self) -> None:
        """Called once a second: exit if the terminal no longer answers."""
        if not terminal_alive(self._fd):
            self.hung_up()

    def hung_up(self) -> None:
        """The terminal is gone: end the app once, through its normal shutdown."""
        if self._gone:
            return
        self._gone = True
        self._on_gone()
