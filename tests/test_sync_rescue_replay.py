"""`crm sync rescue replay FILE`: a rescue file's ops go through the normal push (issue #14).

Before there was no way back from a rescue file but editing each value again by
hand. Now its ops are validated by the server like any push, a second replay
changes nothing, a dry run lists them, and a bad or foreign file is one line and
exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.store.database import Store, open_store
from crmtui.store.models import Account
from crmtui.sync.client import SyncClient, SyncReport, device_id, pending_count, write_rescue
from crmtui.sync.rescue import read_rescue_file
from tests.cli_commands import run
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _city(store: Store, account: str) -> str | None:
    with store.read() as s:
        got = s.get(Account, account)
        return got.city if got is not None else None


def _local(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [
            tuple(r)
            for table in ("account", "sync_conflict", "sync_field")
            for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2, 3").all()
        ]


def test_a_discarded_edit_comes_back_by_replay_and_a_second_replay_changes_nothing(
    team: Team,
) -> None:
    ann_store, ann_token = team.laptop("ann")
    sue_store, sue_token = team.laptop("bob")
    ann = SyncClient(ann_store, team.http(ann_token), batch=20)
    bob = SyncClient(sue_store, team.http(sue_token), batch=20)
    ann.sync()
    bob.sync()
    with ann_store.write() as tx:
        account = create_account(
            tx=tx, data=AccountCreate(name="Harbour Ltd", territory_id=team.north), region="DE"
        ).id
    ann.sync()
    with ann_store.write() as tx:
        update_account(tx=tx, account_id=account, data=AccountUpdate(city="Hull"), region="DE")
    # What `crm sync --discard` does after an exit 77: the file, then the ops dropped.
    path = write_rescue(ann_store, team.tmp / "rescue")
    with ann_store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE journal SET pushed_at = created_at WHERE pushed_at IS NULL")
    assert pending_count(ann_store) == 0
    bob.sync()
    assert _city(sue_store, account) is None

    rescue = read_rescue_file(path)
    assert rescue.device_id == device_id(ann_store)
    report = SyncReport()
    ann.replay(rescue.ops, report)
    assert (report.pushed, report.applied, report.rejected) == (1, 1, 0)
    bob.sync()
    assert _city(sue_store, account) == "Hull"
    assert _city(ann_store, account) == "Hull"

    with team.engine.connect() as conn:
        head = conn.execute(text("SELECT value FROM sync_counter")).scalar()
    before = _local(ann_store)
    again = SyncReport()
    ann.replay(rescue.ops, again)
    assert again.applied == 1  # answered from the server's log
    with team.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM sync_counter")).scalar() == head
    assert _local(ann_store) == before


def test_a_replayed_op_is_validated_like_any_push(team: Team) -> None:
    store, token = team.laptop("ann")
    client = SyncClient(store, team.http(token), batch=20)
    client.sync()
    with store.write() as tx:
        account = create_account(tx=tx, data=AccountCreate(name="Valid"), region="DE").id
    client.sync()
    path = team.tmp / "edited.jsonl"
    good = write_rescue(store, team.tmp / "r")  # empty of ops: only the header
    header = good.read_text().splitlines()[0]
    op = {
        "op_id": "01a24f00-0000-7000-8000-000000000001",
        "tx_id": "01a24f00-0000-7000-8000-000000000002",
        "hlc": "9999999999999-00000",
        "entity": "account",
        "row_id": account,
        "op": "set",
        "field": "name",
        "value": "null",
        "base_hlc": None,
        "base_device": None,
    }
    path.write_text(header + "\n" + json.dumps(op) + "\n", encoding="utf-8")
    report = SyncReport()
    client.replay(read_rescue_file(path).ops, report)
    assert report.rejected == 1 and "name" in report.reasons[0]
    with store.read() as s:
        assert s.get(Account, account).name == "Valid"  # type: ignore[union-attr]


def _db_with_pending(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "laptop.db"
    store = open_store(db)
    with store.write() as tx:
        create_account(tx=tx, data=AccountCreate(name="Dry Ltd"), region="DE")
    path = write_rescue(store, tmp_path / "rescue")
    store.close()
    return db, path


def test_the_dry_run_lists_the_ops_and_sends_nothing(tmp_path: Path) -> None:
    db, path = _db_with_pending(tmp_path)
    ran = run(["sync", "rescue", "replay", str(path), "--dry-run", "--db", str(db)])
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0].split("\t")[2] == "create"
    assert any(line.endswith("\tset\tname") for line in lines)
    assert f"{len(lines)} field change(s) would be sent" in ran.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all\n", "line 1: not JSON"),
        ('{"crmtui_rescue": 1, "device_id": "x"}\n{"op": "set"}\n', "line 2: not an op"),
        ('{"crmtui_rescue": 7, "device_id": "x"}\n', "line 1: not a rescue file header"),
        ("", "not a rescue file"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    db, _ = _db_with_pending(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    ran = run(["sync", "rescue", "replay", str(bad), "--db", str(db)])
    assert ran.code == 2 and ran.error is None
    assert message in ran.err and str(bad) in ran.err
    assert ran.err.count("\n") == 1


def test_a_foreign_or_missing_file_is_refused(tmp_path: Path) -> None:
    db, _ = _db_with_pending(tmp_path)
    _, path = _db_with_pending(tmp_path / "other")
    ran = run(["sync", "rescue", "replay", str(path), "--db", str(db)])
    assert ran.code == 2 and "written by another database" in ran.err
    ran = run(["sync", "rescue", "replay", str(tmp_path / "nope.jsonl"), "--db", str(db)])
    assert ran.code == 2 and "cannot read" in ran.err
