"""The European Central Bank's euro reference rates as CSV: the daily and the history file.

Both come from https://www.ecb.europa.eu/stats/eurofxref/ (`eurofxref.zip`,
`eurofxref-hist.zip`, one CSV inside each). A header `Date,USD,JPY,...` and one row
per day of "1 EUR buys this much"; the daily file writes the date as "25 April 2025"
and pads with spaces, the history file writes 2025-04-25; both may end every line with
a comma, and the history file writes N/A (or nothing) for a currency not quoted that
day (the ones replaced by the euro, or suspended). Rates are kept as the text the ECB
published; a bad cell is reported with its line and column, never guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from crmtui.domain.exchange import BadRate, parse_rate
from crmtui.domain.money import BadMoney, check_currency

ECB_BASE = "EUR"
ECB_SOURCE = "ECB euro foreign exchange reference rates"
_MISSING = frozenset({"", "N/A", "n/a", "NA"})


class BadRatesFile(ValueError):
    """A rates file that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class RateRow:
    """One published rate: 1 EUR buys `rate` (decimal text) of `quote` on `day`."""

    day: date
    quote: str
    rate: str
    line: int


@dataclass
class RatesFile:
    """What a rates file held: the rates, and the currencies it could not use."""

    rows: list[RateRow] = field(default_factory=list)
    skipped_currencies: list[str] = field(default_factory=list)
    """Header columns that are no ISO 4217 code in use (e.g. CYP, ROL): left out, listed."""


def _day(text: str, line: int) -> date:
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise BadRatesFile(f"line {line}: {value!r} is not a date (2025-04-25 or 25 April 2025)")


def read_ecb_csv(text: str) -> RatesFile:
    """Read the ECB's daily or history CSV into rates against the euro."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    out = RatesFile()
    header: list[str | None] | None = None
    for number, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            if cells[0].strip() != "Date":
                raise BadRatesFile(
                    f"line {number}: the header starts with {cells[0].strip()!r}, not 'Date' "
                    "(is this the ECB's eurofxref CSV?)"
                )
            header = []
            for title in cells[1:]:
                code = title.strip()
                if not code:
                    header.append(None)
                    continue
                try:
                    header.append(check_currency(code))
                except BadMoney:
                    header.append(None)
                    out.skipped_currencies.append(code)
            continue
        day = _day(cells[0], number)
        if len(cells) - 1 > len(header) and any(c.strip() for c in cells[len(header) + 1 :]):
            raise BadRatesFile(f"line {number}: more values than the header has currencies")
        for column, (quote, cell) in enumerate(zip(header, cells[1:], strict=False), start=2):
            value = cell.strip()
            if quote is None or value in _MISSING:
                continue
            try:
                parse_rate(value)
            except BadRate as exc:
                raise BadRatesFile(f"line {number}, column {column} ({quote}): {exc}") from exc
            out.rows.append(RateRow(day, quote, value, number))
    if header is None:
        raise BadRatesFile("the file is empty (no header line)")
    return out
