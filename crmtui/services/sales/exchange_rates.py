"""Writing exchange rates (reference data): one import is one transaction.

A rate's id is derived from (base, quote, day), so the same central-bank file
imported on two laptops, or twice, makes the same records: a second import
changes only the rates the bank revised and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from crmtui.domain.exchange import parse_rate
from crmtui.domain.money import check_currency
from crmtui.store.bulk import BulkWriter, full_row
from crmtui.store.journal import WriteTx
from crmtui.store.models import ExchangeRate

_NAMESPACE = uuid.UUID("7b0c9a52-4d1e-4f57-9a43-5d8e2f0b6c11")


def rate_id(base: str, quote: str, day: date) -> str:
    """The id of the rate of a pair on a day, the same on every laptop."""
    return str(uuid.uuid5(_NAMESPACE, f"{base}/{quote}/{day.isoformat()}"))


@dataclass(frozen=True, slots=True)
class NewRate:
    """A rate to store: 1 `base` buys `rate` (decimal text) of `quote` on `day`."""

    base: str
    quote: str
    day: date
    rate: str


@dataclass
class RateImport:
    """What an import did."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0


def import_rates(*, tx: WriteTx, rates: Iterable[NewRate], source: str | None) -> RateImport:
    """Store rates: new ones added, revised ones changed, the same ones left alone."""
    wanted: dict[str, NewRate] = {}
    for r in rates:
        base, quote = check_currency(r.base), check_currency(r.quote)
        parse_rate(r.rate)  # refuses a bad rate before anything is written
        wanted[rate_id(base, quote, r.day)] = NewRate(base, quote, r.day, r.rate.strip())
    # Through the bulk writer (executemany + journal rows): a year of the ECB's file is
    # ~7,800 rates, the whole history ~200,000; ORM objects cost ~40x more per row.
    existing: dict[str, str] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        existing.update(
            tx.db.execute(f"SELECT id, rate FROM exchange_rate WHERE id IN ({marks})", chunk)
        )
    result = RateImport()
    new_rows = []
    changes: list[tuple[str, dict[str, object]]] = []
    for rid, r in wanted.items():
        old = existing.get(rid)
        if old is None:
            values = {"id": rid, "base": r.base, "quote": r.quote, "day": r.day, "rate": r.rate,
                      "source": source}  # fmt: skip
            new_rows.append(full_row(tx, ExchangeRate, values))
        elif old != r.rate:
            changes.append((rid, {"rate": r.rate, "source": source}))
        else:
            result.unchanged += 1
    writer = BulkWriter(tx)
    result.added = writer.insert(ExchangeRate, new_rows)
    result.changed = writer.update(ExchangeRate, changes)
    return result
