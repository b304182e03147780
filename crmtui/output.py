"""Printing lookup results for the shell: plain tables, JSON and CSV, without Rich.

Data goes to stdout, messages to stderr (clig.dev). Tables are plain aligned
text sized to the terminal, so there is never any colour to turn off: NO_COLOR
and non-TTY output are respected by construction.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO
from unicodedata import east_asian_width

FORMATS = ("table", "json", "csv")
HIT_COLUMNS = ("name", "company", "phone", "email", "city", "id")
GAP = "  "
MIN_WIDTH = 4
ELLIPSIS = "…"
_NUMBER = re.compile(r"[-+]?[\d,.]*\d[\d,.]*(?: [A-Z]{3})?%?|")
"""An amount, count or share as the tables print it (or an empty cell)."""
UNLIMITED = 1_000_000


def display_width(text: str) -> int:
    """Terminal cells a string takes: wide (CJK) characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def terminal_width() -> int:
    """Width to fit tables into: COLUMNS, else the terminal's, else 100 when piped.

    (shutil.get_terminal_size does the same but costs a few ms of imports on
    the fast path.)
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            # Piped into grep or less: keep every character, nobody is reading a screen.
            columns = UNLIMITED
    return max(columns, 20)


def _cell(value: Any) -> str:
    """Render one value for a table cell: blanks for None, one line only."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return " ".join(str(value).split())


def _truncate(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def fit_widths(
    natural: Sequence[int],
    total: int,
    *,
    protect: Sequence[int] = (),
    never: Sequence[int] = (),
    gap: int = len(GAP),
) -> list[int]:
    """Shrink the widest columns until the row fits in `total` characters.

    Columns in `protect` (ids a user copies) shrink only when nothing else can; columns
    in `never` (numbers: a cut amount reads as another amount) never shrink.
    """
    widths = list(natural)
    budget = total - gap * (len(widths) - 1)
    while sum(widths) > budget:
        free = [
            i
            for i in range(len(widths))
            if i not in protect and i not in never and widths[i] > MIN_WIDTH
        ]
        pool = free or [i for i in range(len(widths)) if i not in never and widths[i] > MIN_WIDTH]
        if not pool:
            break  # cannot shrink further; let the terminal wrap
        widest = max(pool, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def format_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, width: int
) -> list[str]:
    """Lay rows out as aligned columns under upper-case headers, truncated to `width`."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    # Drop columns that are empty in every row: they only waste width.
    keep = [i for i, _ in enumerate(columns) if any(r[i] for r in cells)] or [0]
    headers = [columns[i].upper() for i in keep]
    cells = [[r[i] for i in keep] for r in cells]
    natural = [max([len(h)] + [display_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    protect = [i for i, h in enumerate(headers) if h == "ID"]
    numbers = [i for i in range(len(headers)) if all(_NUMBER.fullmatch(r[i]) for r in cells)]
    widths = fit_widths(natural, width, protect=protect, never=numbers)
    lines = []
    for row in [headers, *cells]:
        parts = [_pad(_truncate(v, w), w) for v, w in zip(row, widths, strict=True)]
        lines.append(GAP.join(parts).rstrip())
    return lines


def write_records(
    records: Sequence[Mapping[str, Any]],
    fmt: str,
    *,
    columns: Sequence[str] = HIT_COLUMNS,
    out: TextIO | None = None,
) -> None:
    """Print a list of records as a table, a JSON array, or CSV with a header."""
    out = out or sys.stdout
    if fmt == "json":
        import json

        json.dump(list(records), out, ensure_ascii=False, indent=2, default=str)
        out.write("\n")
    elif fmt == "csv":
        import csv

        names = list(records[0].keys()) if records else list(columns)
        writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_value(v) for k, v in record.items()})
    elif fmt == "table":
        for line in format_table(records, columns, width=terminal_width()):
            out.write(line + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return value


# Contact fields in the order a card shows them; consent comes first because a
# rep must see "do not call" before dialling.
CONSENT_FIELDS = ("do_not_call", "do_not_email", "max_calls", "max_calls_days")
CARD_FIELDS = (
    "name",
    "salutation",
    "nickname",
    "title",
    "department",
    "email",
    "phone",
    "mobile",
    "city",
    "country",
    "birthday",
    "website",
    "tags",
    "stay_in_touch_days",
    "source",
    "notes",
    "created_at",
    "updated_at",
    "archived_at",
    "id",
)
ACTIVITY_COLUMNS = ("occurred_at", "kind", "outcome", "text")
TICKLER_COLUMNS = ("due_at", "text", "snoozed_until", "recurrence")
DEAL_COLUMNS = ("name", "stage_name", "amount", "currency", "expected_close")


def _consent_line(contact: Mapping[str, Any]) -> str:
    flags = []
    if contact.get("do_not_call"):
        flags.append("DO NOT CALL")
    if contact.get("do_not_email"):
        flags.append("DO NOT EMAIL")
    if contact.get("max_calls"):
        days = contact.get("max_calls_days") or "?"
        flags.append(f"at most {contact['max_calls']} calls per {days} days")
    return "  ".join(flags) if flags else "calls and emails allowed"


def _amount(deal: Mapping[str, Any]) -> str:
    minor = deal.get("amount_minor")
    return "" if minor is None else f"{minor / 100:,.2f}"


def user_zone() -> Any:
    """The configured time zone, else the system's (a bad config falls back to the system's)."""
    from crmtui.config import ConfigError, load_settings
    from crmtui.domain.when import BadWhen, zone

    try:
        return zone(load_settings().timezone)
    except (ConfigError, BadWhen):
        return zone(None)


def shell_moment(stored: str | None, tz: Any) -> str:
    """A stored ISO timestamp as the shell shows a moment, on `tz`'s clock: "2026-03-09 09:30"."""
    if not stored:
        return ""
    return str(_moments({"stored_at": stored}, tz)["stored_at"])


def _moments(row: Mapping[str, Any], tz: Any) -> dict[str, Any]:
    """A row with its stored timestamps as the shell shows moments: "2026-03-09 09:30", local."""
    from datetime import datetime

    from crmtui.domain.date_style import in_shell

    shown = dict(row)
    for key, value in row.items():
        if (key.endswith("_at") or key.endswith("_until")) and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue  # not a timestamp after all: shown as stored
            if moment.tzinfo is not None:
                moment = moment.astimezone(tz)
            shown[key] = in_shell(moment)
    return shown


def detail_lines(card: Mapping[str, Any]) -> list[str]:
    """One line per phone, email and postal address of a card, the primary ones marked."""
    from crmtui.domain.contact_details import address_line, dial_mark
    from crmtui.domain.identity import phone_text

    lines = []
    for p in card.get("phones") or []:
        dial = dial_mark(p)
        mark = f"  ({dial})" if dial else ""
        lines.append(f"{p['kind']:<7} {phone_text(p['number'], p.get('extension'))}{mark}")
    for e in card.get("emails") or []:
        mark = "  (primary)" if e.get("is_primary") else ""
        lines.append(f"{e['kind']:<7} {e['address']}{mark}")
    for a in card.get("addresses") or []:
        mark = "  (primary)" if a.get("is_primary") else ""
        lines.append(f"{a['kind']:<7} {address_line(a)}{mark}")
    return lines


def write_card(card: Mapping[str, Any], fmt: str, *, out: TextIO | None = None) -> None:
    """Print a contact card (`ContactCard.as_dict()`) as text, JSON or CSV.

    The text card shows moments to the minute in the user's zone; JSON and CSV keep
    the stored UTC timestamps for scripts.
    """
    out = out or sys.stdout
    contact = card["contact"]
    if fmt == "json":
        import json

        json.dump(card, out, ensure_ascii=False, indent=2, default=str)
        out.write("\n")
        return
    if fmt == "csv":
        # One row: the contact's fields, the account name and section counts.
        flat = dict(contact)
        flat["account"] = (card.get("account") or {}).get("name")
        for section in ("activities", "ticklers", "deals"):
            flat[section] = len(card.get(section) or [])
        write_records([flat], "csv", out=out)
        return
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    width = terminal_width()
    tz = user_zone()
    contact = _moments(contact, tz)
    lines = [contact.get("name") or "", f"consent: {_consent_line(contact)}", ""]
    label = max(len(f) for f in CARD_FIELDS)
    for name in CARD_FIELDS:
        value = _cell(contact.get(name))
        if value:
            lines.append(_truncate(f"{name.replace('_', ' '):<{label}}  {value}", width))
    details = detail_lines(card)
    if details:
        lines += ["", "phones, emails, addresses"]
        lines += [_truncate(f"  {line}", width) for line in details]
    from crmtui.domain.kept import kept_lines

    kept = kept_lines(contact.get("extra"))
    if kept:
        lines += ["", "kept, not modelled (from an import)"]
        lines += [_truncate(f"  {line}", width) for line in kept]
    account = card.get("account")
    lines += ["", "account"]
    if account:
        extra = ", ".join(
            _cell(account.get(k)) for k in ("city", "phone", "website") if account.get(k)
        )
        lines.append(
            _truncate(f"  {account.get('name')}" + (f" ({extra})" if extra else ""), width)
        )
    else:
        lines.append("  none yet")
    deals = [dict(d, amount=_amount(d)) for d in card.get("deals") or []]
    for title, rows, columns in (
        (
            "recent activities",
            [_moments(a, tz) for a in card.get("activities") or []],
            ACTIVITY_COLUMNS,
        ),
        ("open reminders", [_moments(t, tz) for t in card.get("ticklers") or []], TICKLER_COLUMNS),
        ("open deals", deals, DEAL_COLUMNS),
    ):
        lines += ["", title]
        if rows:
            lines += ["  " + line for line in format_table(rows, columns, width=width - 2)]
        else:
            lines.append("  none yet")
    for line in lines:
        out.write(line.rstrip() + "\n")
