"""`crm rates import` speed: the service (rows + journal) vs a bare sqlite3 executemany.

Makes a year of ECB-shaped rates (260 days x 30 currencies = 7,800), imports them into a
fresh database through `services.sales.exchange_rates.import_rates` in one transaction, and
inserts the same rows with `executemany` into a bare table, in the same run; medians of
5 runs and the ratio. Usage: .venv/bin/python bench/rates_import.py
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from crmtui.services.sales.exchange_rates import NewRate, import_rates, rate_id
from crmtui.store.database import open_store

CURRENCIES = ["USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR", "ILS", "INR", "KRW", "MXN", "MYR", "NZD", "PHP", "SGD", "THB", "ZAR"]  # fmt: skip


def rates() -> list[NewRate]:
    """A year of weekday rates for 30 currencies."""
    rng = random.Random(7)
    out, day = [], date(2025, 1, 1)
    while len(out) < 260 * len(CURRENCIES):
        if day.weekday() < 5:
            out += [NewRate("EUR", c, day, f"{rng.uniform(0.5, 200):.4f}") for c in CURRENCIES]
        day += timedelta(days=1)
    return out


def service_run(folder: Path, data: list[NewRate]) -> float:
    """Seconds for one import into a fresh database."""
    store = open_store(folder / f"s{time.monotonic_ns()}.db")
    try:
        start = time.perf_counter()
        with store.write() as tx:
            import_rates(tx=tx, rates=data, source="bench")
        return time.perf_counter() - start
    finally:
        store.close()


def floor_run(folder: Path, data: list[NewRate]) -> float:
    """Seconds for a bare executemany of the same rows (same pragmas as the store)."""
    db = sqlite3.connect(folder / f"f{time.monotonic_ns()}.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, base TEXT, quote TEXT, day TEXT, rate TEXT)")
    start = time.perf_counter()
    with db:
        db.executemany(
            "INSERT INTO r VALUES (?, ?, ?, ?, ?)",
            [(rate_id(r.base, r.quote, r.day), r.base, r.quote, r.day.isoformat(), r.rate)
             for r in data],
        )  # fmt: skip
    took = time.perf_counter() - start
    db.close()
    return took


def main() -> None:
    """Print medians and the ratio."""
    data = rates()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        service = [service_run(folder, data) for _ in range(5)]
        floor = [floor_run(folder, data) for _ in range(5)]
    s, f = statistics.median(service), statistics.median(floor)
    print(f"rates: {len(data)}")
    print(
        f"service import (rows + journal), median of 5: {s * 1000:.0f} ms ({len(data) / s:,.0f} rows/s)"
    )
    print(f"sqlite3 executemany floor, median of 5:        {f * 1000:.0f} ms")
    print(f"ratio: {s / f:.1f}x")


if __name__ == "__main__":
    main()
