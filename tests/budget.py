"""How long the slow property and crash tests run: bounded in CI, long by hand.

`make test` (and so `.ci/run`) runs each at a fifth of its full count of examples or
kills; `make test-full` (CRMTUI_TEST_BUDGET=full) runs the full counts.
"""

from __future__ import annotations

import os

FULL = os.environ.get("CRMTUI_TEST_BUDGET", "ci") == "full"
"""True under `make test-full`."""

CI_SHARE = 5
"""The bounded run does one in this many of the full run's examples."""


def examples(full: int) -> int:
    """`full` under `make test-full`; otherwise a fifth of it, and never under 10 (or `full`)."""
    if FULL:
        return full
    return max(min(full, 10), full // CI_SHARE)
