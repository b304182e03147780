"""The call timer: started when the app dials a contact, stopped when the rep says the call ended.

A `tel:` handler returns at once and a softphone's command line says nothing about
the call, so the app cannot tell when a call ends: the rep does, with `c` again
(the quick log opens with the contact and the length) or by logging the outcome on
the call list. While a call runs the header of every screen shows who and how long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from crmtui.domain.dialling import timer_text


@dataclass(frozen=True)
class RunningCall:
    """The call being timed: whom, which number, and when it started (monotonic seconds)."""

    contact_id: str
    name: str
    number: str
    started: float


class CallTimer:
    """At most one running call; `show` is told what the header should say (None: nothing)."""

    def __init__(
        self, show: Callable[[str | None], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._show = show
        self.clock = clock
        """Monotonic seconds; the Pilot tests set a clock they move by hand."""
        self.running: RunningCall | None = None

    def start(self, contact_id: str, name: str, number: str) -> RunningCall:
        """Start timing a call (a call already running is replaced)."""
        self.running = RunningCall(contact_id, name, number, self.clock())
        self.tick()
        return self.running

    def elapsed(self) -> float:
        """Seconds since the running call started (0 when none runs)."""
        return 0.0 if self.running is None else self.clock() - self.running.started

    def tick(self) -> None:
        """Called once a second: the header's text."""
        if self.running is None:
            self._show(None)
            return
        # The time first: at 80 columns the header cuts the end of its title, and the
        # card's title already names the contact.
        self._show(f"☎ {timer_text(self.elapsed())} {self.running.name} · c ends the call")

    def stop(self, contact_id: str | None = None) -> tuple[RunningCall, int] | None:
        """End the running call (only if it is `contact_id`'s, when given): it and its seconds."""
        call = self.running
        if call is None or (contact_id is not None and call.contact_id != contact_id):
            return None
        seconds = int(self.elapsed())
        self.running = None
        self._show(None)
        return call, seconds
