"""The call-cap count reads one contact's calls through that contact's index.

Without table statistics SQLite chose the report index (deleted_at, occurred_at, ...) and
counted through every activity of the window: a log-a-call write took 7.5 ms more at
100k contacts (bench/writes.py). The plan is checked, not the time.
"""

from __future__ import annotations

from pathlib import Path

from crmtui.services.consent import CALLS_SINCE
from crmtui.store.database import open_store


def test_the_call_cap_count_uses_the_contacts_own_index(tmp_path: Path) -> None:
    store = open_store(tmp_path / "plan.db")
    try:
        with store.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {CALLS_SINCE}", ("c1", "2026-01-01T00:00:00Z")
            ).fetchall()
    finally:
        store.close()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "ix_activity_contact_occurred" in detail, detail
