"""Cold start of the shell answers other programs call: mail clients, prompts, Tab.

    python bench/shell_answers.py [--size 100000] [--runs 15]

Each case runs the installed `crm` entry point as a subprocess against a demo
database (cached under bench/.cache/, built by `bench/search.py`'s seeding), as
mutt's `query_command`, a shell prompt or a completion script does, interleaved
with two baselines in the same run:

- `python -c pass` (the interpreter's own start-up: the floor of anything in Python);
- `crm find müller` (the fast path's reference, TARGETS.md).

Medians in ms and each case's ratio to `python -c pass`. Results go in
docs/performance.md; nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import CACHE, CRM, _seed, _upgrade, compile_lookup_path


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
    )
    return (time.perf_counter() - started) * 1000


def main() -> int:
    """Print the medians table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"demo-{args.size}.db"
    if not db.exists():
        _seed(db, args.size)
    _upgrade(db)
    compile_lookup_path()
    env = {**os.environ, "CRMTUI_DB": str(db), "CRMTUI_CONFIG": str(CACHE / "no-config.toml")}
    complete = {
        **env,
        "_CRM_COMPLETE": "complete_bash",
        "COMP_WORDS": "crm show Mül",
        "COMP_CWORD": "2",
    }
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], env),
        ("crm find müller", [str(CRM), "find", "müller"], env),
        ("crm email müller --parsable", [str(CRM), "email", "müller", "--parsable"], env),
        ("crm due --count", [str(CRM), "due", "--count"], env),
        ("crm due --prompt", [str(CRM), "due", "--prompt"], env),
        ("Tab: crm show Mül<Tab>", [str(CRM)], complete),
    ]
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _, command, case_env in cases:  # warm the page cache and the bytecode
        _wall(command, case_env)
    for _ in range(args.runs):
        for label, command, case_env in cases:  # interleaved: drift hits every case alike
            times[label].append(_wall(command, case_env))
    floor = statistics.median(times["python -c pass"])
    print(f"{args.size:,} contacts, {args.runs} runs, medians")
    print(f"{'case':32} {'ms':>8} {'x python -c pass':>18}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:32} {median:8.1f} {median / floor:18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
