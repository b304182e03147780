"""The app's duplicate scan in a child process: the CLI's pairs, progress, cancel, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crmtui.quality.dedupe import load_people, scan
from crmtui.quality.dedupe_job import DedupeScanError, scan_in_child
from tests.app_support import build_fixed_db
from tests.test_app_duplicates import add_duplicates


@pytest.fixture(scope="module")
def dupes_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database with its known duplicate pairs."""
    path = tmp_path_factory.mktemp("job") / "dupes.db"
    build_fixed_db(path)
    add_duplicates(path)
    return path


def test_the_child_finds_the_same_pairs_as_scan(dupes_db: Path) -> None:
    counts: list[int] = []
    found = scan_in_child(
        dupes_db, threshold=70, on_contacts=counts.append, cancelled=lambda: False
    )
    expected = scan(load_people(sqlite3.connect(dupes_db)), threshold=70)
    assert found is not None and len(found) == 5
    assert [(c.a.id, c.b.id, c.score, c.evidence) for c in found] == [
        (c.a.id, c.b.id, c.score, c.evidence) for c in expected
    ]
    assert counts == [16]


def test_a_higher_threshold_is_passed_on(dupes_db: Path) -> None:
    found = scan_in_child(
        dupes_db, threshold=95, on_contacts=lambda _n: None, cancelled=lambda: False
    )
    assert found is not None
    assert [round(c.score) for c in found] == [100, 97, 97]


def test_cancelling_returns_none(dupes_db: Path) -> None:
    found = scan_in_child(
        dupes_db, threshold=70, on_contacts=lambda _n: None, cancelled=lambda: True
    )
    assert found is None


def test_a_missing_database_is_an_error_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(DedupeScanError, match="no database at"):
        scan_in_child(
            tmp_path / "nothing.db",
            threshold=70,
            on_contacts=lambda _n: None,
            cancelled=lambda: False,
        )
