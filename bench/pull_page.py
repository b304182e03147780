"""A rep's pull on a busy feed: the server's page read against a raw indexed read.

Usage: python bench/pull_page.py [--entries 200000] [--territories 50] [--runs 7]
       [--dsn "host=127.0.0.1 port=5432 dbname=test user=postgres"]

After the 5 pm peak of bench/peak.py (1,000 laptops, 50 territories, ~200k feed
entries) each rep's laptop pulls its territory's share of the day. This builds such a
feed on a throwaway PostgreSQL database (entries spread evenly over the territories,
2% of shared entities without one, as pushes echo them) and times, for one rep of one
territory:

- `crmtui.server.pull.pull_page` (the route's work without HTTP: the scoped query,
  the conflicts, the page's dicts) for one page of MAX_PULL_OPS at three cursors: the
  start of the day, the middle, near the head;
- the baseline, in the same run: the same page's rows read with one raw psycopg
  query on the (territory_id, seq) index, the fastest way to read them;
- the whole day's pull for that rep, page after page.

Medians of `--runs`; the query plan of the first page is printed too.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync import DSN, Database
from crmtui.server.auth import Principal
from crmtui.server.db import upgrade_server
from crmtui.server.pull import _page_query, pull_page
from crmtui.sync.wire import MAX_PULL_OPS

FILL = """
INSERT INTO sync_change
    (seq, kind, entity, row_id, field, value, hlc, device_id, territory_id, flagged, echo,
     op_id, status)
SELECT i, 'set',
       CASE WHEN i % 50 = 49 THEN 'product' ELSE 'contact' END,
       'row' || (i / 4), 'name', 'a value of thirty characters..',
       lpad(i::text, 19, '0'), 'laptop' || (i % 1000),
       CASE WHEN i % 50 = 49 THEN NULL ELSE 't' || (i % %(territories)s) END,
       false, true, 'op' || i, 'applied'
FROM generate_series(1, %(entries)s) AS i
"""

RAW = """
SELECT seq, kind, entity, row_id, field, value, hlc, device_id, flagged
FROM sync_change
WHERE (territory_id = %s OR territory_id IS NULL) AND seq > %s AND seq <= %s
  AND kind <> 'logged' AND for_device IS NULL
ORDER BY seq LIMIT %s
"""


def _median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


REP = Principal(
    device_id="bench-device",
    device_name="bench",
    rep_id="bench-rep",
    rep_name="Bench",
    role="rep",
    assigned=frozenset({"t7"}),
    visible=frozenset({"t7"}),
    clients=frozenset({"laptop7"}),
)
"""A rep of territory t7 (the bench's laptops are laptop0..laptop999)."""


def _fill(engine: Engine, dsn: str, entries: int, territories: int) -> None:
    """Write the feed and move the counter to its head; analyse the table."""
    upgrade_server(engine)
    with engine.begin() as conn:
        sql = FILL.replace("%(territories)s", str(territories))
        conn.execute(text(sql.replace("%(entries)s", str(entries))))
        conn.execute(text("UPDATE sync_counter SET value = :n WHERE id = 'feed'"), {"n": entries})
    with psycopg.connect(dsn, autocommit=True) as vacuum:
        vacuum.execute("VACUUM ANALYZE sync_change")


def _pages(engine: Engine, raw: psycopg.Connection, head: int, runs: int) -> None:
    """One page at three cursors against the raw read of its rows."""
    print(f"{'cursor':>10} | {'pull_page ms':>12} | {'raw read ms':>11} | {'ratio':>6} | rows")
    for cursor in (0, head // 2, max(0, head - 5 * MAX_PULL_OPS)):
        page = pull_page(engine, REP, cursor, MAX_PULL_OPS, "hlc")
        ours = _median_ms(
            functools.partial(pull_page, engine, REP, cursor, MAX_PULL_OPS, "hlc"), runs
        )
        args = ("t7", cursor, head, MAX_PULL_OPS + 1)
        base = _median_ms(lambda args=args: raw.execute(RAW, args).fetchall(), runs)
        rows = len(page["changes"]) + len(page["removals"])
        print(f"{cursor:>10,} | {ours:>12.1f} | {base:>11.1f} | {ours / base:>5.1f}x | {rows:,}")


def _whole_day(engine: Engine) -> int:
    """Pull the rep's day from the start, page after page; the number of pages."""
    cursor, pages = 0, 0
    while True:
        page = pull_page(engine, REP, cursor, MAX_PULL_OPS, "hlc")
        pages += 1
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages


def _plan(engine: Engine, head: int) -> None:
    """The first page's query plan (EXPLAIN ANALYZE)."""
    query = _page_query(REP, 0, head, MAX_PULL_OPS, None, [])
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql)).scalars().all()
    print("plan of the first page's query:")
    for line in plan:
        print("   ", line)


def main() -> None:
    """Build the feed, time the pages, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--territories", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dsn", default=DSN)
    args = parser.parse_args()

    database = Database(args.dsn)
    engine = create_engine(database.url)
    try:
        _fill(engine, database.dsn, args.entries, args.territories)
        print(
            f"feed: {args.entries:,} entries, {args.territories} territories;"
            f" page {MAX_PULL_OPS:,}; medians of {args.runs}"
        )
        with psycopg.connect(database.dsn) as raw:
            _pages(engine, raw, args.entries, args.runs)
        pages = _whole_day(engine)
        day = _median_ms(functools.partial(_whole_day, engine), max(1, args.runs // 2))
        print(f"whole day for one rep: {pages} pages, {day:.0f} ms")
        _plan(engine, args.entries)
    finally:
        engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
