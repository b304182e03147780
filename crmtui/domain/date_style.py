"""How the app shows a date or a moment: one style per context, and every screen uses these.

- `in_list`: a moment in a row of a list or timeline (Agenda, call list, recent actions,
  a card's activities, reminders and stage history), read against today: "today 09:00",
  "yesterday 14:00", "tomorrow 08:30", "Thu 12 Mar 10:00" this year, "03 Jan 2027 08:30"
  another year.
- `in_full`: a moment said on its own (a confirmation, a status line, the preview of a
  date being typed, "won on"): "Tue 10 Mar 2026 09:00", never relative, so it reads
  the same tomorrow.
- `a_day`: a date without a time of day (expected close on a card, a period's bounds,
  a chart's first week, the preview of a typed close date): "30 Apr 2026".
- `short_day`: the same in a narrow column (the board's cards, the rep's deals, the
  lead inbox's "Added"), where "30 Apr 2026" would be cut: "30 Apr 26".
- `in_header`: the last sync in the header badge, as short as it can be: "14:02" today,
  "21 Nov 14:02" this year, "21 Nov 2025" before.
- `to_edit`: a moment or a day as the starting text of a form field: "2026-03-05 10:20",
  "2026-04-30", so that saving the form unchanged reads back the same value.

- `in_shell`: a moment in a `crm ...` table or CSV (`crm show`, `crm due`): "2026-03-05
  10:20", ISO to the minute, because scripts read it and sort it as text (`--format json`
  keeps the stored ISO timestamp itself). A moment inside a sentence, even in the shell
  ("call cap reached until ..."), is said `in_full`.

Moments are shown on the wall clock of the timezone they carry (callers convert to the
user's zone first). Pure Python, no imports beyond datetime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime


def in_list(moment: datetime, now: datetime | None) -> str:
    """A moment in a list or timeline row, relative to today (`in_full` when `now` is None)."""
    if now is None:
        return in_full(moment)
    days = (moment.date() - now.date()).days
    clock = moment.strftime("%H:%M")
    if days == 0:
        return f"today {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if moment.year != now.year:
        return moment.strftime("%d %b %Y %H:%M")
    return moment.strftime("%a %d %b %H:%M")


def in_full(moment: datetime) -> str:
    """A moment on its own, short and unambiguous: "Tue 10 Mar 2026 09:00"."""
    return moment.strftime("%a %d %b %Y %H:%M")


def a_day(day: date) -> str:
    """A date without a time of day: "30 Apr 2026"."""
    return day.strftime("%d %b %Y")


def short_day(day: date) -> str:
    """A date without a time of day in a narrow column: "30 Apr 26"."""
    return day.strftime("%d %b %y")


def stored_day(value: str | None, style: Callable[[date], str] = a_day) -> str:
    """A stored ISO date or timestamp's day in `style` ("" when absent, the text if unreadable)."""
    if not value:
        return ""
    try:
        return style(date.fromisoformat(value[:10]))
    except ValueError:
        return value


def in_header(last: datetime, now: datetime | None) -> str:
    """The header badge's last sync: "14:02" today, "21 Nov 14:02" this year, else "21 Nov 2025"."""
    if now is None or last.date() == now.date():
        return last.strftime("%H:%M")
    if last.year == now.year:
        return last.strftime("%d %b %H:%M")
    return last.strftime("%d %b %Y")


def to_edit(value: datetime | date) -> str:
    """A moment or a day as a form field's starting text: "2026-03-05 10:20" or "2026-04-30"."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def in_shell(moment: datetime) -> str:
    """A moment in a shell table or CSV, ISO to the minute: "2026-03-05 10:20"."""
    return moment.strftime("%Y-%m-%d %H:%M")
