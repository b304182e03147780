"""A pulled page applied in bulk leaves the laptop as applying it change by change does.

`apply_changes` decides the plain changes of a page from state read once and
writes them together; everything else goes through `RemoteApplier.apply`. Random
pages (creates, sets, deletes, undeletes, removals; from this device and another;
on records with synced, pending and unknown versions) are applied to two copies of
the same laptop, one each way. Rows (timestamps only as set or not: `updated_at`
no longer moves for a change this laptop already holds), synced versions, notes,
journal copies, the search index and the counts must be equal, and both clocks
must have moved past the page.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtui.domain.hlc import HLC
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.sync.apply_remote import (
    ApplyReport,
    apply_changes,
    remote_transaction,
    set_meta,
)
from crmtui.sync.client import device_id, pending_ops
from crmtui.sync.wire import Change
from tests.budget import examples

OTHER = "dev-other"
SERVER_CLOCK = "1700000000000-00000"
FIELDS = ["name", "city", "email", "do_not_call", "tags"]
VALUES = {
    "name": ['"Ann"', '"Bo"'],
    "city": ['"Leeds"', '"York"', "null"],
    "email": ['"a@example.com"', "null"],
    "do_not_call": ["true", "false"],
    "tags": ['["vip"]', "[]"],
}


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str], list[Any]]:
    """A laptop with three contacts: two synced (versions recorded), one still pending."""
    path = tmp_path_factory.mktemp("laptop") / "laptop.db"
    store = open_store(path)
    with store.write() as tx:
        ids = [
            create_contact(tx=tx, data=ContactCreate(name=f"P{i}", city="Hull"), region="DE").id
            for i in range(3)
        ]
    me = device_id(store)
    synced = [op for op in pending_ops(store) if op.row_id != ids[2]]
    # As if the server had applied the first two contacts' ops (what `_record` keeps).
    with remote_transaction(store, me) as applier:
        for op in synced:
            applier.db.execute(
                "UPDATE journal SET pushed_at = ? WHERE id = ?", (applier.now, op.op_id)
            )
            if op.op == "set" and op.field is not None:
                applier.record_version(op.entity, op.row_id, op.field, op.hlc, me)
    store.close()
    return path, me, ids, [op for op in synced if op.op == "set"]


@st.composite
def pages(draw: st.DrawFn, me: str, ids: list[str], synced: list[Any]) -> list[Change]:
    """A page of feed changes on the laptop's contacts and on unknown ones."""
    rows = [*ids, "01a00000-0000-7000-8000-000000000001"]
    known = {(op.row_id, op.field, op.hlc): op.value for op in synced}
    # Clocks around the laptop's own synced versions: older and newer ones.
    base = HLC.decode(min(op.hlc for op in synced)).millis
    clocks = [HLC(base + delta, 0).encode() for delta in (-2, -1, 0, 1, 2, 3)]
    changes = []
    for seq in range(1, draw(st.integers(1, 30)) + 1):
        if synced and draw(st.integers(0, 3)) == 0:
            # This device's own change, already recorded when the server answered.
            op = draw(st.sampled_from(synced))
            changes.append(
                Change(
                    seq=seq,
                    kind="set",
                    entity="contact",
                    row_id=op.row_id,
                    field=op.field,
                    value=op.value,
                    hlc=op.hlc,
                    device_id=me,
                )
            )
            continue
        kind = draw(
            st.sampled_from(["set", "set", "set", "create", "delete", "undelete", "removal"])
        )
        name = draw(st.sampled_from(FIELDS)) if kind == "set" else None
        entity = draw(st.sampled_from(["contact", "contact", "contact", "nosuch"]))
        row_id = draw(st.sampled_from(rows))
        hlc = draw(st.sampled_from(clocks))
        device = draw(st.sampled_from([OTHER, OTHER, me]))
        value = draw(st.sampled_from(VALUES[name])) if name else None
        if name and device == me:
            # The feed's invariant: one device's version of a field names one value
            # (its HLCs are unique; the server supersedes an equal clamped one).
            value = known.setdefault((row_id, name, hlc), value)
        changes.append(
            Change(
                seq=seq,
                kind=kind,  # type: ignore[arg-type]
                entity=entity,
                row_id=row_id,
                field=name,
                value=value,
                hlc=hlc,
                device_id=device,
                flagged=kind == "undelete",
            )
        )
    return changes


def _snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        # Timestamps the applier takes from the wall clock: compared as set or not.
        stamps = {"created_at", "updated_at", "deleted_at"}
        columns = [
            f"{name} IS NULL" if name in stamps else name
            for name in (r[1] for r in db.execute("PRAGMA table_info(contact)"))
        ]
        queries = {
            "contact": f"SELECT {', '.join(columns)} FROM contact ORDER BY id",
            "sync_field": "SELECT * FROM sync_field ORDER BY entity, row_id, field",
            "sync_conflict": "SELECT kind, entity, row_id, field, kept_value, kept_device,"
            " other_value, other_device FROM sync_conflict ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
            "journal": "SELECT tx_id, hlc, device_id, entity, row_id, op, field, value,"
            " pushed_at IS NULL FROM journal ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
            "search": "SELECT d.ref_id, d.archived, f.name, f.company, f.email, f.phones,"
            " f.city, f.tags FROM search_doc d JOIN search_fts f ON f.rowid = d.doc"
            " ORDER BY d.ref_id",
            "terms": "SELECT term FROM search_term ORDER BY term",
            "meta": "SELECT key, value FROM local_meta WHERE key = 'sync_cursor'",
        }
        return {name: db.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        db.close()


def _one_by_one(path: Path, me: str, changes: list[Change]) -> ApplyReport:
    store = open_store(path, migrate=False)
    try:
        with remote_transaction(store, me) as applier:
            for change in changes:
                applier.apply(change)
            set_meta(applier.db, "sync_cursor", str(len(changes)))
            applier.advance_clock(SERVER_CLOCK)
        return applier.report
    finally:
        store.close()


def _as_a_page(path: Path, me: str, changes: list[Change]) -> ApplyReport:
    store = open_store(path, migrate=False)
    try:
        return apply_changes(store, me, changes, [], len(changes), SERVER_CLOCK)
    finally:
        store.close()


def _counts(report: ApplyReport) -> tuple[int, ...]:
    return (report.applied, report.skipped, report.removed, report.overwritten)


@settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_page_in_bulk_lands_like_change_by_change(
    laptop: tuple[Path, str, list[str], list[Any]], tmp_path: Path, data: st.DataObject
) -> None:
    path, me, ids, synced = laptop
    changes = data.draw(pages(me, ids, synced))
    bulk, single = tmp_path / "bulk.db", tmp_path / "single.db"
    for copy in (bulk, single):
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    assert _counts(_as_a_page(bulk, me, changes)) == _counts(_one_by_one(single, me, changes))
    assert _snapshot(bulk) == _snapshot(single)
    assert dict(_snapshot(bulk)["meta"])["sync_cursor"] == str(len(changes))
    newest = max((c.hlc for c in changes if c.entity != "nosuch"), default="")
    for copy in (bulk, single):  # the clock moved past every change seen (it reads the wall clock)
        db = sqlite3.connect(copy)
        assert db.execute("SELECT value FROM local_meta WHERE key = 'hlc'").fetchone()[0] > newest
        db.close()
