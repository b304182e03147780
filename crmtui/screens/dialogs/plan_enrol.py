"""Putting the contact on screen on a follow-up plan: `p` on the contact card and the call list.

The plans are read in a thread worker, a picker asks which one (none to pick when
there is only one), and the enrolment is one undoable write (ctrl+z takes it back).
The notice says where the contact now is: the first step and when it is due, or
why a step was skipped (consent).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding
from textual.screen import Screen

from crmtui.domain.date_style import in_full
from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.pick import PickScreen

if TYPE_CHECKING:
    from crmtui.screens.daily_context import DailyContext
    from crmtui.services.plan_progress import PlanClock

ENROL_KEY = ("p", "Plan", "Put this contact on a follow-up plan (its steps become reminders)")


def enrol_binding(prefix: str) -> Binding:
    """The `p` key of a screen that can enrol its contact (listed by `?` and the palette)."""
    key, what, tip = ENROL_KEY
    return Binding(key, "enrol_plan", what, id=f"{prefix}.enrol_plan", tooltip=tip, show=False)


def plan_clock_of(daily: DailyContext) -> PlanClock:
    """The app's zone, business days (working_days, holidays, working_hour) and call cap."""
    from crmtui.config import work_calendar
    from crmtui.services.plan_progress import PlanClock

    return PlanClock(tz=daily.zone(), calendar=work_calendar(daily.settings()), cap=daily.cap())


class PlanEnrolKeys:
    """Mixed into a `Screen` that shows one contact: `p` puts it on a plan."""

    _db: sqlite3.Connection

    def plan_contact(self) -> tuple[str, str] | None:
        """(contact id, name) of the contact on screen, or None."""
        raise NotImplementedError

    @property
    def _plan_screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def enrol_palette(self) -> list[tuple[str, str, Any]]:
        """The palette's entry for `p` (when there is a contact)."""
        who = self.plan_contact()
        if who is None:
            return []
        key, _, tip = ENROL_KEY
        return [(f"Put {who[1]} on a follow-up plan", f"{tip} ({key})", self.action_enrol_plan)]

    def action_enrol_plan(self) -> None:
        """Read the plans (worker), let the user pick one, enrol the contact."""
        who = self.plan_contact()
        if who is None:
            return
        self._plan_screen.run_worker(
            lambda: self._read_plans(who), thread=True, exit_on_error=False, group="plan-enrol"
        )

    def _read_plans(self, who: tuple[str, str]) -> None:
        from crmtui.services.follow_ups.plans import plan_names

        rows = [
            (plan_id, f"{name} (v{version})") for name, version, plan_id, _ in plan_names(self._db)
        ]
        self._plan_screen.app.call_from_thread(self._pick_plan, who, rows)

    def _pick_plan(self, who: tuple[str, str], rows: list[tuple[str, str]]) -> None:
        screen = self._plan_screen
        if not rows:
            screen.notify(
                "No plans yet: add one with `crm plan add FILE`.", title="Plans", severity="warning"
            )
            return
        if len(rows) == 1:
            self._start_enrol(who, rows[0][0])
            return

        def picked(plan_id: str | None) -> None:
            if plan_id is not None:
                self._start_enrol(who, plan_id)

        screen.app.push_screen(PickScreen(f"Put {who[1]} on which plan?", rows), picked)

    def _start_enrol(self, who: tuple[str, str], plan_id: str) -> None:
        self._plan_screen.run_worker(
            lambda: self._write_enrolment(who, plan_id),
            thread=True,
            exit_on_error=False,
            group="plan-enrol",
        )

    def _write_enrolment(self, who: tuple[str, str], plan_id: str) -> None:
        from crmtui.domain.validate import InvalidInput
        from crmtui.services.follow_ups.plans import enrol_contact
        from crmtui.store.resolve import NotFound

        screen = self._plan_screen
        daily = cast(DailyApp, screen.app).daily
        clock = plan_clock_of(daily)
        rep = daily.settings().rep_name
        contact_id, name = who
        try:
            state = daily.write_undoable(
                f"Plan for {name}",
                lambda tx: enrol_contact(
                    tx=tx, plan_id=plan_id, contact_id=contact_id, clock=clock, rep_name=rep
                ),
            )
        except (InvalidInput, NotFound) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            screen.app.call_from_thread(
                screen.notify, message, title="Not enrolled", severity="error"
            )
            return
        position = state.position
        where = position.why
        if position.state == "waiting" and position.step is not None and state.due_at:
            where = (
                f"step {position.step_number} ({position.step.kind}) due"
                f" {in_full(state.due_at.astimezone(clock.tz))}"
            )
        skipped = f" · {state.notes[-1]}" if state.notes else ""
        summary = f"{name} is on {state.plan_name}: {where}{skipped} · ctrl+z undoes"
        screen.app.call_from_thread(self._enrolled, summary)

    def _enrolled(self, summary: str) -> None:
        screen = self._plan_screen
        screen.notify(summary, title="Plan")
        reload = getattr(screen, "reload", None)
        if callable(reload):
            reload()
