"""The call timer: started when the app dials a contact, stopped when the rep says the call ended.

A `tel:` handler returns at once and a softphone's command line says nothing about
the call, so the app cannot tell when a call ends: the rep does, with `c` again
(the quick log opens with the contact and the length) or by logging the outcome on
the call list. While a call runs the header of every screen shows who and how long.

A call ended with `c` whose log is closed unsaved (Esc) is kept as "ended, not
logged" with its length: the header keeps saying so, `c` offers its log again (or to
forget it), and an outcome logged for that contact on the call list takes its
length. Only a saved log or "forget it" lets it go.
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
        self.ended: tuple[RunningCall, int] | None = None
        """The call ended with `c` and not logged yet, and its seconds."""

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
            if self.ended is not None:
                call, seconds = self.ended
                self._show(f"☎ ended {timer_text(seconds)} {call.name} · c logs it")
            else:
                self._show(None)
            return
        # The time first: at 80 columns the header cuts the end of its title, and the
        # card's title already names the contact.
        self._show(f"☎ {timer_text(self.elapsed())} {self.running.name} · c ends the call")

    def stop(self, contact_id: str | None = None) -> tuple[RunningCall, int] | None:
        """The call being logged now, and its seconds: the running call, else the one ended
        and not logged (only if it is `contact_id`'s, when given). Nothing is kept after."""
        call = self.running
        if call is None:
            if self.ended is None or (
                contact_id is not None and self.ended[0].contact_id != contact_id
            ):
                return None
            taken, self.ended = self.ended, None
            self.tick()
            return taken
        if contact_id is not None and call.contact_id != contact_id:
            return None
        seconds = int(self.elapsed())
        self.running = None
        self.tick()
        return call, seconds

    def end(self) -> tuple[RunningCall, int] | None:
        """End the running call and keep it as ended, not logged (until `stop` or `forget`)."""
        if self.running is None:
            return self.ended
        self.ended = (self.running, int(self.elapsed()))
        self.running = None
        self.tick()
        return self.ended

    def forget(self) -> None:
        """The rep chose not to log the ended call."""
        self.ended = None
        self.tick()
