"""What the Duplicates screen previews is what the merge writes, for either survivor and picks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crmtui.quality.merge_preview import PairChoice, choosable, preview_merge, read_side
from crmtui.services.upkeep.merge import CHOOSABLE, merge_contacts
from crmtui.store.database import open_store
from tests.app_support import SMITH, build_fixed_db, copy_db
from tests.test_app_duplicates import J_SMITH, add_duplicates


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixed database with its look-alikes; {name: id}."""
    path = tmp_path_factory.mktemp("preview") / "dupes.db"
    ids = build_fixed_db(path)
    ids.update(add_duplicates(path))
    return path, ids


def test_the_sides_read_names_and_counts(template) -> None:
    path, ids = template
    db = sqlite3.connect(path)
    side = read_side(db, ids[SMITH])
    assert side is not None
    assert (side.company, side.activities, side.ticklers, side.deals) == (
        "Smith Engineering Ltd",
        1,
        1,
        1,
    )
    assert side.contact.tags == ["key-account", "trial"] and side.contact.do_not_call is True
    assert read_side(db, "no-such-id") is None


@pytest.mark.parametrize(
    "choice",
    [
        PairChoice(),
        PairChoice("B"),
        PairChoice("A", (("title", "B"), ("email", "B"))),
        PairChoice("B", (("name", "A"), ("title", "A"))),
    ],
    ids=["A stays", "B stays", "A stays, B's title and email", "B stays, A's name and title"],
)
def test_the_preview_is_what_the_merge_writes(template, tmp_path, choice: PairChoice) -> None:
    path = copy_db(template[0], tmp_path / "dupes.db")
    ids = template[1]
    db = sqlite3.connect(path)
    a, b = read_side(db, ids[SMITH]), read_side(db, ids[J_SMITH])
    assert a is not None and b is not None
    preview = preview_merge(a, b, choice)
    for field, column in choice.picks:
        assert choosable(a, b, field)
        assert preview.sources[field] == column
    survivor_id, merged_id = choice.ids(ids[SMITH], ids[J_SMITH])
    store = open_store(path)
    try:
        with store.write() as tx:
            merge_contacts(
                tx=tx,
                survivor_id=survivor_id,
                merged_id=merged_id,
                prefer="A",
                fields=choice.merge_fields(),
            )
    finally:
        store.close()
    db.row_factory = sqlite3.Row
    row = dict(db.execute("SELECT * FROM contact WHERE id = ?", (survivor_id,)).fetchone())
    row["tags"] = json.loads(row["tags"])
    for name in (*CHOOSABLE, "phone_e164", "mobile_e164", "tags"):
        assert row[name] == preview.values[name], name
    assert bool(row["do_not_call"]) == preview.values["do_not_call"]
