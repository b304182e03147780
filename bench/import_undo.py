"""Import batch bookkeeping and undo: what recording a batch costs, and how long an undo takes.

    python bench/import_undo.py [--rows 20000]

Writes the same CSV as bench/imports.py, then in a fresh database: the import as
`crm import csv` does it (plan, apply, record the batch, one transaction), timing
the batch recording apart; then `undo_batch` of that batch (every contact and
account tombstoned through the journal, search index updated), one transaction.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.imports import write_csv
from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.services.upkeep.import_batches import record_batch, undo_batch
from crmtui.store.database import open_store
from crmtui.store.journal import RowChange


def main() -> None:
    """Run once and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "in.csv"
        write_csv(csv_path, args.rows)
        store = open_store(Path(tmp) / "crm.db")
        try:
            start = time.perf_counter()
            with store.write() as tx:
                plan = plan_import(tx, read_csv(csv_path), region="DE")
                changes: list[RowChange] = []
                tx.recorder = changes
                result = apply_import(tx, plan, source_label="bench")
                tx.recorder = None
                applied = time.perf_counter()
                batch = record_batch(
                    tx, file=str(csv_path), kind="csv contacts", profile=None,
                    created=result.created_ids, changes=changes, rejected=0, rejects_path=None,
                )  # fmt: skip
                recorded = time.perf_counter()
            committed = time.perf_counter()
            with store.write() as tx:
                report = undo_batch(tx, batch.id)
            undone = time.perf_counter()
        finally:
            store.close()
    print(f"rows {args.rows}: import {applied - start:.2f} s, batch recording "
          f"{recorded - applied:.2f} s ({len(result.created_ids)} items), commit "
          f"{committed - recorded:.2f} s; undo {undone - committed:.2f} s "
          f"({len(report.removed)} removed, {len(report.kept)} kept)")  # fmt: skip


if __name__ == "__main__":
    main()
