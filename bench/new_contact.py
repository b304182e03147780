"""The new-contact form's checks as the user types, and the header's sync summary.

    python bench/new_contact.py --size 1000000 [--people 30]

On the cached demo database of `--size` contacts (bench/search.py's cache), for
`--people` stored contacts picked deterministically, it replays what the form
checks while a duplicate of each is typed: the name growing word by word, then
the email, then the phone. Each state is timed through the form's own functions
(`screens.dialogs.new_contact.find_duplicates`, `services.address_book.contacts.contact_problems`) and,
as the same-run baseline, through the Contacts screen's search on the same text
(`search.lookup.search_contacts`, what every keystroke in the search box costs).
The last row times `sync.sync_summary.read_sync_summary` (the header's indicator).
Prints medians and p95 in ms and the ratio to the baseline's median.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import ensure_database  # the shared cache of demo databases

from crmtui.screens.dialogs.new_contact import find_duplicates, form_data
from crmtui.search.lookup import connect, search_contacts
from crmtui.services.address_book.contacts import contact_problems
from crmtui.sync.sync_summary import read_sync_summary

REGION = "DE"


def typing_states(name: str, email: str | None, phone: str | None) -> list[dict[str, str]]:
    """The form's values after each word of the name, then with the email, then the phone."""
    words = name.split()
    states = [{"name": " ".join(words[: i + 1])} for i in range(len(words))]
    if email:
        states.append({"name": name, "email": email})
    if phone:
        states.append({"name": name, "email": email or "", "phone": phone})
    return states


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds of one call."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def row(label: str, times: list[float], base: float) -> str:
    """One markdown row: median, p95, max, calls, ratio to the baseline median."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    median = statistics.median(ordered)
    return (
        f"| {label} | {median:.1f} | {p95:.1f} | {ordered[-1]:.1f} | {len(ordered)} "
        f"| {median / base:.2f}x |"
    )


def main() -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=30)
    args = parser.parse_args()
    db = connect(ensure_database(args.size))
    total = db.execute("SELECT max(rowid) FROM contact").fetchone()[0]
    step = max(1, total // args.people)
    people = [
        db.execute(
            "SELECT name, email, phone FROM contact WHERE rowid >= ? ORDER BY rowid LIMIT 1",
            (i * step + 1,),
        ).fetchone()
        for i in range(args.people)
    ]
    states = [s for p in people if p for s in typing_states(*p)]
    # One untimed pass: imports, page cache and rapidfuzz's caches as a user's second key finds them.
    for s in states:
        search_contacts(db, s["name"], limit=50)
        find_duplicates(db, s, region=REGION)
    base: list[float] = []
    dupes: list[float] = []
    problems: list[float] = []
    found = 0
    for s in states:
        base.append(timed(lambda s=s: search_contacts(db, s["name"], limit=50)))
        started = time.perf_counter()
        hits = find_duplicates(db, s, region=REGION)
        dupes.append((time.perf_counter() - started) * 1000)
        found += any(h.strong for h in hits)
        problems.append(timed(lambda s=s: contact_problems(form_data(s), region=REGION)))
    summary = [timed(lambda: read_sync_summary(db)) for _ in range(50)]
    base_median = statistics.median(base)
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"Python {platform.python_version()}; command: python bench/new_contact.py "
        f"--size {args.size} --people {args.people}\n"
    )
    print(
        f"{args.size:,} contacts; {len(states)} form states from {len(people)} people; "
        f"a strong duplicate found in {found} of them\n"
    )
    print("| per check | median ms | p95 ms | max ms | calls | vs baseline median |")
    print("|---|---|---|---|---|---|")
    print(row("baseline: Contacts search on the typed name (a keystroke there)", base, base_median))
    print(row("form: probable duplicates (find_duplicates)", dupes, base_median))
    print(row("form: field problems (contact_problems)", problems, base_median))
    print(row("header: sync summary (read_sync_summary)", summary, base_median))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
