"""Import benchmark: `crm import csv` of N contacts vs sqlite3 executemany of the same rows.

    python bench/imports.py [--rows 100000] [--runs 5]

Writes a realistic CSV once (Salesforce report columns, names with accents,
national and international phones, 5k companies), then per run:

- baseline: a fresh migrated database, and the contact rows the import stored
  (checked, normalised, ids made) inserted with one `executemany` in one
  transaction, with the house pragmas;
- floor: the same, plus the import's journal rows (one packed create row per
  contact, standing for its create and ~16 field sets; see crmtui/store/journal.py),
  also with one `executemany`: what any import that journals like the services do
  must write at least;
- everything: the same, for every row the import stored in every table that a fresh
  database has empty (accounts, contacts, their phones, emails and addresses, journal,
  pending counts, search rows; the full-text index through its own table): the floor
  of this import's data design, with no Python at all;
- import: a fresh migrated database, `read_csv` + `plan_import` + `apply_import`
  in one `Store.write()` (accounts, contacts, journal, search index), timed from
  the file on disk to the commit, with the time of each step.

Prints medians over the runs and the ratio. Target (TARGETS.md): >= 20%. The same
ratio in CPU time (`time.process_time`, this process: the import and the baselines run
in it) is printed beside it: on a shared machine the wall ratio moves with the load
(mostly through the short baseline), the CPU ratio much less.
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.store.database import open_store
from crmtui.store.migrate import upgrade

GIVEN = ["Anna", "Jürgen", "Sophie", "José", "Li", "Ola", "Zoë", "Mateusz", "Aylin", "Björn"]
FAMILY = ["Müller", "Schäfer", "Martin", "García", "Wei", "Nordmann", "Dubois", "Nowak", "Yılmaz"]
CITIES = [("Berlin", "Germany", "030"), ("Hamburg", "Germany", "040"), ("Paris", "France", "01"),
          ("Lyon", "France", "04"), ("Madrid", "Spain", "91"), ("Wien", "Austria", "01")]  # fmt: skip
HEADER = (
    '"First Name","Last Name","Title","Account Name","Mailing City","Mailing Country",'
    '"Phone","Mobile","Email","Contact ID"\n'
)


def write_csv(path: Path, rows: int) -> None:
    """A deterministic Salesforce-shaped contacts report."""
    rng = random.Random(7)
    companies = [
        f"{rng.choice(FAMILY)} {rng.choice(['GmbH', 'SA', 'S.L.', 'AG'])} {i}" for i in range(5000)
    ]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            city, country, area = rng.choice(CITIES)
            phone = f"{area} {2000000 + i}"
            mobile = f"+49 151 {30000000 + i}" if i % 2 else ""
            email = f"{given.lower()}.{i}@example{i % 97}.com".replace("ü", "ue").replace("é", "e")
            f.write(
                f'"{given}","{family}","Buyer","{rng.choice(companies)}","{city}","{country}",'
                f'"{phone}","{mobile}","{email}","003{i:012d}"\n'
            )


def _fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for stale in directory.glob(name + "*"):
        stale.unlink()
    upgrade(path)
    return path


def run_import(csv_path: Path, db: Path) -> dict[str, float]:
    """Seconds for a full import, and for each of its steps."""
    store = open_store(db)
    times: dict[str, float] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    with store.write() as tx:
        source = read_csv(csv_path)
        times["read"] = time.perf_counter() - started
        plan = plan_import(tx, source, region="DE")
        times["plan"] = time.perf_counter() - started - times["read"]
        result = apply_import(tx, plan, source_label="import:salesforce")
        times["write"] = time.perf_counter() - started - times["read"] - times["plan"]
        before_commit = time.perf_counter()
    times["commit"] = time.perf_counter() - before_commit
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu_started
    store.close()
    assert result.created == len(plan.rows), "every row should import"
    return times


def stored_rows(db: Path, table: str) -> list[tuple[object, ...]]:
    """The rows an import stored in one table, as SQLite holds them."""
    con = sqlite3.connect(db)
    rows = con.execute(f"SELECT * FROM {table}").fetchall()
    con.close()
    return rows


def filled_tables(fresh: Path, filled: Path) -> list[str]:
    """The tables empty in a fresh database and holding rows after the import.

    The full-text index's shadow tables are left out: their rows are made by
    inserting into the index itself (`search_fts`), as the import does.
    """
    empty_before = {t for t, n in _counts(fresh).items() if n == 0}
    return [
        t
        for t, n in _counts(filled).items()
        if n and t in empty_before and not t.startswith("search_fts_")
    ]


def _counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY rowid"
        )
    ]
    counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    con.close()
    return counts


def run_baseline(tables: dict[str, list[tuple[object, ...]]], db: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) to executemany the same rows into a fresh database, in one
    transaction."""
    con = sqlite3.connect(db, isolation_level=None)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"):
        con.execute(pragma)
    cpu_started = time.process_time()
    started = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    # account_id points at accounts this database does not have: foreign_keys is off
    # on this connection, as it is in every plain sqlite3 script.
    for table, rows in tables.items():
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    con.close()
    return elapsed, cpu


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        csv_path = directory / "contacts.csv"
        write_csv(csv_path, args.rows)
        runs: list[dict[str, float]] = []
        baselines, with_journal, everything = [], [], []
        for _ in range(args.runs):
            runs.append(run_import(csv_path, _fresh(directory, "import.db")))
            contacts = stored_rows(directory / "import.db", "contact")
            journal_rows = stored_rows(directory / "import.db", "journal")
            baselines.append(run_baseline({"contact": contacts}, _fresh(directory, "base.db")))
            with_journal.append(
                run_baseline(
                    {"contact": contacts, "journal": journal_rows}, _fresh(directory, "base2.db")
                )
            )
            tables = filled_tables(_fresh(directory, "base3.db"), directory / "import.db")
            every = {t: stored_rows(directory / "import.db", t) for t in tables}
            everything.append(run_baseline(every, _fresh(directory, "base3.db")))
    n = args.rows
    base, floor, whole = (
        statistics.median(t[0] for t in b) for b in (baselines, with_journal, everything)
    )
    base_cpu, floor_cpu, whole_cpu = (
        statistics.median(t[1] for t in b) for b in (baselines, with_journal, everything)
    )
    imp = statistics.median(r["total"] for r in runs)
    imp_cpu = statistics.median(r["cpu"] for r in runs)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
          f"{n:,} rows, {len(journal_rows):,} journal rows, median of {args.runs} runs")  # fmt: skip
    print(f"{'what':<52} {'seconds':>8} {'rows/s':>10} {'ratio':>7} {'cpu s':>8} {'cpu ratio':>9}")
    for label, seconds, cpu in (
        ("baseline: executemany of the contact rows", base, base_cpu),
        ("executemany of the contact rows + their journal rows", floor, floor_cpu),
        ("executemany of every row the import stored", whole, whole_cpu),
        ("crm import csv (read + plan + write + commit)", imp, imp_cpu),
    ):
        print(
            f"{label:<52} {seconds:>8.3f} {n / seconds:>10,.0f} {base / seconds:>7.1%}"
            f" {cpu:>8.3f} {base_cpu / cpu:>9.1%}"
        )
    for step in ("read", "plan", "write", "commit"):
        seconds = statistics.median(r[step] for r in runs)
        print(f"  import step: {step:<39} {seconds:>8.3f}")
    print("  every row: " + ", ".join(f"{t} {len(r):,}" for t, r in every.items()))
    print("target (TARGETS.md): import >= 20% of the baseline")


if __name__ == "__main__":
    main()
