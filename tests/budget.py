"""How long the slow property and crash tests run: bounded in CI, long by hand.

What CI runs (`make test`, and so `.ci/run`, whose budget is 420 s):
- every test, with each slow property test (`max_examples=examples(N)`) at a fifth of
  its full count N (at least 10), the kill -9 crash loop at 5 of its 20 kills (each
  kill starts a `crm` process: the loop was the longest test of the run), and
  Hypothesis's default 100 where a test names no count;
- the option fuzzer at CRMTUI_FUZZ_EXAMPLES (6) examples per command;
- mypy beside the tests (Makefile): its cold start in a fresh clone shares the cores with
  the tests (which often wait on subprocesses and servers) instead of running alone first.
What `make test-full` (CRMTUI_TEST_BUDGET=full) adds: the full counts N, 20 kills and
1,000 examples where a test names none. Run it by hand after changing sync, import or
search code; bench/sync_crash.py runs the crash loop longer still.

- the sync state machine at 6 of its 12 runs, the stateful API fuzz on PostgreSQL at 5
  of its 25 runs (SQLite 10), the reseed orders all on SQLite and one on PostgreSQL.

Keeping CI short without testing less: build expensive data once per worker and copy it
(conftest `demo_template`, `app_support.copy_db`), never sleep (wait for the worker or
the server), run a command in-process (`cli_commands.run`) unless the process itself is
what is tested (kill -9, the `crm find` fast path, the installed script), and find the
slow tests with CRMTUI_CPU_LOG (CPU-seconds and idle seconds per test, docs/testing.md). Bytecode is compiled at install and before
the tests (Makefile): with PYTHONDONTWRITEBYTECODE set, every `crm` process otherwise
compiled its dependencies from source (~2.5 s of CPU each).
"""

from __future__ import annotations

import os

FULL = os.environ.get("CRMTUI_TEST_BUDGET", "ci") == "full"
"""True under `make test-full`."""

CI_SHARE = 5
"""The bounded run does one in this many of the full run's examples."""


def examples(full: int, least: int = 10) -> int:
    """`full` under `make test-full`; otherwise a fifth of it, never under `least` (or `full`)."""
    if FULL:
        return full
    return max(min(full, least), full // CI_SHARE)
