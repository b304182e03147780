"""The settings a follow-up plan schedules with, read once per command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtui.commands.common import fail
from crmtui.commands.writing import settings_or_exit

if TYPE_CHECKING:
    from crmtui.services.plan_progress import PlanClock


def plan_clock() -> PlanClock:
    """The zone, business days and call cap of the user's settings (exit 2 when bad)."""
    from crmtui.config import work_calendar
    from crmtui.domain.when import BadWhen, zone
    from crmtui.services.consent import CallCap
    from crmtui.services.plan_progress import PlanClock

    settings = settings_or_exit()
    try:
        tz = zone(settings.timezone)
    except BadWhen as exc:
        fail(f"config timezone: {exc}")
    cap = CallCap(settings.call_cap, settings.call_cap_days)
    return PlanClock(tz=tz, calendar=work_calendar(settings), cap=cap)
