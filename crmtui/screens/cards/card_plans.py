"""Follow-up plans on a card: each running plan's step and next date, and the leave and pause keys.

Mixed into the contact and lead cards. The card reads its enrolments with its other
data (`read_plans`, in its worker) and shows them with `plan_lines`; `L` takes the
record off a plan, `P` holds a plan until a moment (its open step reminder moves
there). Both are one undoable write (ctrl+z) and sync like any change.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen

from crmtui.domain.date_style import in_full, in_list
from crmtui.domain.when import parse_when
from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.screens.dialogs.prompts import WhenPrompt

if TYPE_CHECKING:
    from crmtui.services.plan_progress import EnrolmentState

PLAN_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("leave_plan", "L", "Leave plan", "Take this record off a follow-up plan (ctrl+z undoes)"),
    ("pause_plan", "P", "Pause plan", "Hold a follow-up plan until a day you give"),
)


def plan_bindings(prefix: str) -> list[Binding]:
    """The leave and pause keys (kept out of the footer: `?` and the palette list them)."""
    return [
        Binding(key, action, what, id=f"{prefix}.{action}", tooltip=tip, show=False)
        for action, key, what, tip in PLAN_KEYS
    ]


def read_plans(
    db: sqlite3.Connection, *, contact_id: str | None = None, lead_id: str | None = None
) -> list[EnrolmentState]:
    """A contact's (or lead's) enrolments with their derived position: running ones first."""
    from crmtui.services.follow_ups.plans import enrolment_states

    states = enrolment_states(db, contact_id=contact_id, lead_id=lead_id)
    running = [s for s in states if s.position.running]
    # The last plan that ended stays in view (why it ended); older history is `crm plan status`.
    return running + [s for s in states if not s.position.running][:1]


def plan_lines(states: list[EnrolmentState], tz: tzinfo | None, now: datetime | None) -> list[Text]:
    """One line per plan: name, current step and attempt, the next date, the last note."""
    lines = []
    for state in states:
        position = state.position
        line = Text.assemble((f"{state.plan_name}", "bold"), (f" v{state.plan_version}", "dim"))
        if position.running and position.step is not None:
            line.append(f" · step {position.step_number} {position.step.kind}")
            if position.attempt > 1:
                line.append(f", attempt {position.attempt}")
            if state.due_at is not None:
                due = state.due_at.astimezone(tz) if tz else state.due_at
                line.append(f" · next {in_list(due, now)}", style="bold")
            else:
                line.append(f" · {position.why}", style="dim")
            if state.notes:
                line.append(f" · {state.notes[-1]}", style="italic")
        else:
            why = position.why
            line.append(
                f" · {why}" if why.startswith(position.state) else f" · {position.state}: {why}",
                style="dim",
            )
        lines.append(line)
    return lines


class CardPlans:
    """Mixed into a card `Screen`: `L` leaves a plan, `P` pauses one (needs `plan_states`)."""

    plan_states: list[EnrolmentState]

    def plan_who(self) -> str:
        """The name the card shows (for the messages)."""
        raise NotImplementedError

    @property
    def _card_screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def running_plans(self) -> list[EnrolmentState]:
        """The running enrolments on the card."""
        return [s for s in getattr(self, "plan_states", []) if s.position.running]

    def plans_palette(self) -> list[tuple[str, str, Any]]:
        """The palette's entries for `L` and `P` (when a plan runs)."""
        if not self.running_plans():
            return []
        return [
            (f"{what}: {self.plan_who()}", f"{tip} ({key})", getattr(self, f"action_{action}"))
            for action, key, what, tip in PLAN_KEYS
        ]

    def _choose_plan(self, question: str, then: Any) -> None:
        running = self.running_plans()
        if not running:
            self._card_screen.notify("Not on a running plan.", title="Plans", severity="warning")
            return
        if len(running) == 1:
            then(running[0])
            return
        by_id = {s.id: s for s in running}

        def picked(enrolment_id: str | None) -> None:
            if enrolment_id is not None:
                then(by_id[enrolment_id])

        rows = [(s.id, f"{s.plan_name} (v{s.plan_version})") for s in running]
        self._card_screen.app.push_screen(PickScreen(question, rows), picked)

    def action_leave_plan(self) -> None:
        """Take the record off a plan (its open step reminder goes too)."""
        self._choose_plan(f"Take {self.plan_who()} off which plan?", self._start_leave)

    def _start_leave(self, state: EnrolmentState) -> None:
        self._card_screen.run_worker(
            lambda: self._write_plan("leave", state, None),
            thread=True,
            exit_on_error=False,
            group="card-plan",
        )

    def action_pause_plan(self) -> None:
        """Ask until when, then hold the plan: its open step is due then."""
        self._choose_plan(f"Pause which plan of {self.plan_who()}?", self._ask_pause)

    def _ask_pause(self, state: EnrolmentState) -> None:
        screen = self._card_screen
        daily = cast(DailyApp, screen.app).daily
        now, day_time = daily.now(), daily.working_time()

        def read(text: str) -> datetime:
            return parse_when(text, now=now, day_time=day_time)

        def answered(until: datetime | None) -> None:
            if until is not None:
                screen.run_worker(
                    lambda: self._write_plan("pause", state, until),
                    thread=True,
                    exit_on_error=False,
                    group="card-plan",
                )

        screen.app.push_screen(
            WhenPrompt(
                f"Pause {state.plan_name} for {self.plan_who()} until…", read, default="in 1 week"
            ),
            answered,
        )

    def _write_plan(self, what: str, state: EnrolmentState, until: datetime | None) -> None:
        from crmtui.domain.validate import InvalidInput
        from crmtui.screens.dialogs.plan_enrol import plan_clock_of
        from crmtui.services.follow_ups.plans import pause_enrolment, stop_enrolment
        from crmtui.store.resolve import NotFound

        screen = self._card_screen
        daily = cast(DailyApp, screen.app).daily
        clock = plan_clock_of(daily)
        who = self.plan_who()
        try:
            if what == "leave":
                daily.write_undoable(
                    f"Leave plan {state.plan_name}: {who}",
                    lambda tx: stop_enrolment(
                        tx=tx, enrolment_id=state.id, reason="taken off in the app", clock=clock
                    ),
                )
                summary = f"{who} left {state.plan_name} · ctrl+z undoes"
            else:
                assert until is not None
                daily.write_undoable(
                    f"Pause plan {state.plan_name}: {who}",
                    lambda tx: pause_enrolment(
                        tx=tx, enrolment_id=state.id, until=until, tz=clock.tz
                    ),
                )
                summary = (
                    f"{state.plan_name} for {who} paused: next step due {in_full(until)}"
                    " · ctrl+z undoes"
                )
        except (InvalidInput, NotFound) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            screen.app.call_from_thread(screen.notify, message, title="Not done", severity="error")
            return
        screen.app.call_from_thread(self._plan_written, summary)

    def _plan_written(self, summary: str) -> None:
        screen = self._card_screen
        screen.notify(summary, title="Plan")
        reload = getattr(screen, "reload", None)
        if callable(reload):
            reload()
