"""The Duplicates section through Pilot: known pairs listed, merged with keys, undone, skipped."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.quality.dedupe import load_people, scan
from crmtui.screens.sections.duplicates import ConfirmMerge, DuplicatesScreen
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.store.models import Activity, Tickler
from tests.app_support import SMITH, build_fixed_db, copy_db, settle

SIZE = (120, 40)
J_SMITH = "J. Smith"
MR_J_SMITH = "Mr J. Smith"

# The known pairs of `dupes_template`, best first, as (A, B) names.
PAIRS = [
    (J_SMITH, MR_J_SMITH),
    ("Anna Müller", "Anna Mueller"),
    ("Carla Rossi", "Carla Rosi"),
    (SMITH, J_SMITH),
    (SMITH, MR_J_SMITH),
]


def add_duplicates(path: Path) -> dict[str, str]:
    """Four look-alikes of fixed contacts (one with history of its own); {name: id}."""
    store = open_store(path)
    ids: dict[str, str] = {}
    try:
        with store.write() as tx:
            for data in (
                ContactCreate(
                    name=J_SMITH,
                    company="Smith Engineering Ltd",
                    title="CEO",
                    mobile="+44 7700 900123",
                    email="j.smith@smith-eng.example",
                    city="Manchester",
                    tags=["uk"],
                ),
                ContactCreate(name=MR_J_SMITH, email="j.smith@smith-eng.example", city="Leeds"),
                ContactCreate(
                    name="Anna Mueller",
                    email="anna.mueller@kranich.example",
                    phone="+49 30 99887766",
                    tags=["berlin"],
                ),
                ContactCreate(name="Carla Rosi", phone="+39 02 12345678", city="Milano"),
            ):
                ids[data.name] = create_contact(tx=tx, data=data, region="DE").id
            tx.add(
                Activity(
                    kind="meeting",
                    occurred_at=datetime(2026, 2, 20, 14, 0, tzinfo=UTC),
                    outcome="held",
                    text="Met at the trade fair",
                    contact_id=ids[J_SMITH],
                )
            )
            tx.add(
                Tickler(
                    text="Send the brochure",
                    due_at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC),
                    contact_id=ids[J_SMITH],
                )
            )
    finally:
        store.close()
    return ids


@pytest.fixture(scope="module")
def dupes_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixed database plus the look-alikes, built once; {name: id} of every contact."""
    path = tmp_path_factory.mktemp("dupes") / "dupes.db"
    ids = build_fixed_db(path)
    ids.update(add_duplicates(path))
    return path, ids


@pytest.fixture
def dupes_db(dupes_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy for a test that writes."""
    path, ids = dupes_template
    return copy_db(path, tmp_path / "dupes.db"), ids


async def duplicates(pilot: Pilot[None]) -> DuplicatesScreen:
    """Open the app, switch to Duplicates (F7) and wait for the scan."""
    await settle(pilot)
    await pilot.press("f7")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DuplicatesScreen), type(screen)
    assert not screen.scanning
    return screen


def listed(screen: DuplicatesScreen) -> list[tuple[str, str]]:
    """The pairs in the list, as (A, B) names read from the table."""
    table = screen.pair_table
    return [
        (str(table.get_row_at(i)[1]), str(table.get_row_at(i)[2])) for i in range(table.row_count)
    ]


def text_of(screen: DuplicatesScreen, widget_id: str) -> str:
    """The plain text of a Static."""
    return str(screen.query_one(f"#{widget_id}", Static).render())


def field_row(screen: DuplicatesScreen, key: str) -> list[str]:
    """One row of the side-by-side view as plain text: label, A, B, after the merge."""
    return [str(cell) for cell in screen.field_table.get_row(key)]


def rows(path: Path, ids: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored row a merge of these contacts touches, keyed by (table, id)."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    marks = ",".join("?" * len(ids))
    out = {}
    for table, column in (
        ("contact", "id"),
        ("activity", "contact_id"),
        ("tickler", "contact_id"),
        ("deal", "contact_id"),
    ):
        for row in db.execute(f"SELECT * FROM {table} WHERE {column} IN ({marks})", ids):
            out[(table, row["id"])] = dict(row)
    db.close()
    return out


def record_notes(pilot: Pilot[None]) -> list[str]:
    """Collect every notification the app shows from now on."""
    seen: list[str] = []
    original = pilot.app.notify

    def spy(message: str, **kwargs: Any) -> None:
        seen.append(message)
        original(message, **kwargs)

    pilot.app.notify = spy  # type: ignore[method-assign]
    return seen


async def select_pair(pilot: Pilot[None], screen: DuplicatesScreen, pair: tuple[str, str]) -> None:
    """Move the list's cursor to a pair with `]`."""
    index = listed(screen).index(pair)
    for _ in range(index):
        await pilot.press("right_square_bracket")
    await settle(pilot)
    assert listed(screen)[screen.pair_table.cursor_row] == pair


def test_the_fixture_has_exactly_the_known_pairs(dupes_template) -> None:
    path, _ids = dupes_template
    found = scan(load_people(sqlite3.connect(path)))
    assert [(c.a.name, c.b.name) for c in found] == PAIRS


async def test_the_list_shows_the_pairs_best_first_and_the_first_side_by_side(
    dupes_template,
) -> None:
    path, _ids = dupes_template
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        assert listed(screen) == PAIRS
        scores = [int(str(screen.pair_table.get_row_at(i)[0])) for i in range(len(PAIRS))]
        assert scores == sorted(scores, reverse=True)
        assert "5 probable duplicate pairs (score ≥ 70) among 16 contacts" in text_of(
            screen, "dupes-status"
        )
        await select_pair(pilot, screen, (SMITH, J_SMITH))
        title = text_of(screen, "dupes-title")
        assert "score 94" in title and "initials match" in title
        assert f"A stays: {SMITH} · B is merged into it: {J_SMITH}" in title
        label, a, b, after = field_row(screen, "title")
        assert label == "title ≠"  # differing fields are marked
        assert (a, b, after) == ("✓ Chief Engineer", "  CEO", "Chief Engineer ◂A")
        assert field_row(screen, "mobile")[1:] == ["—", "✓ +44 7700 900123", "+44 7700 900123 ◂B"]
        assert field_row(screen, "tags")[3] == "key-account, trial, uk"
        assert field_row(screen, "activities")[1:] == ["1", "1", "2 in all"]
        assert field_row(screen, "company")[0] == "company"  # the same account: not marked


async def test_merge_with_keys_writes_the_merge_and_honours_the_field_choice(dupes_db) -> None:
    path, ids = dupes_db
    smith, j_smith = ids[SMITH], ids[J_SMITH]
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        notes = record_notes(pilot)
        await select_pair(pilot, screen, (SMITH, J_SMITH))
        # To the fields, down to "title", keep B's value instead of A's.
        await pilot.press("tab", "down", "down", "space")
        await settle(pilot)
        assert field_row(screen, "title")[1:] == ["  Chief Engineer", "✓ CEO", "CEO ◂B"]
        await pilot.press("m")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, ConfirmMerge)
        summary = str(prompt.query_one("#merge-summary", Static).render())
        assert f"Stays:   {SMITH}" in summary and f"Deleted: {J_SMITH}" in summary
        assert "1 activity, 1 reminder, 0 deals" in summary
        assert "title from B (picked)" in summary
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        # The pair is gone, and so is the other pair of the merged-away J. Smith.
        assert listed(screen) == [
            ("Anna Müller", "Anna Mueller"),
            ("Carla Rossi", "Carla Rosi"),
            (SMITH, MR_J_SMITH),
        ]
        assert len(screen.merges) == 1
        merge_id = screen.merges[0].merge_id
        assert any(merge_id[:8] in n and f"crm merge --undo {merge_id}" in n for n in notes)
    stored = rows(path, [smith, j_smith])
    survivor, loser = stored[("contact", smith)], stored[("contact", j_smith)]
    assert survivor["title"] == "CEO"  # the per-field choice
    assert survivor["name"] == SMITH  # A's, where nothing was picked
    assert (survivor["phone_e164"], survivor["mobile_e164"]) == ("+441614960000", "+447700900123")
    assert survivor["email"] == "john.smith@smith-eng.example"
    assert "j.smith@smith-eng.example" in survivor["notes"]  # the other email is kept
    assert survivor["tags"] == '["key-account", "trial", "uk"]'
    assert loser["deleted_at"] is not None and survivor["deleted_at"] is None
    children = [k for k in stored if k[0] != "contact"]
    assert len(children) == 5  # Smith's call, tickler, deal; J. Smith's meeting and tickler
    assert all(stored[k]["contact_id"] == smith for k in children)
    db = sqlite3.connect(path)
    assert db.execute(
        "SELECT survivor_id, merged_id, undone_at FROM merge_record WHERE id = ?", (merge_id,)
    ).fetchone() == (smith, j_smith, None)


async def test_b_stays_merges_a_into_b(dupes_db) -> None:
    path, ids = dupes_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        await select_pair(pilot, screen, ("Carla Rossi", "Carla Rosi"))
        await pilot.press("b")
        await settle(pilot)
        assert "B stays: Carla Rosi · A is merged into it: Carla Rossi" in text_of(
            screen, "dupes-title"
        )
        assert field_row(screen, "name")[3] == "Carla Rosi ◂B"
        await pilot.press("m", "y")
        await settle(pilot)
    stored = rows(path, [ids["Carla Rossi"], ids["Carla Rosi"]])
    assert stored[("contact", ids["Carla Rossi"])]["deleted_at"] is not None
    survivor = stored[("contact", ids["Carla Rosi"])]
    assert survivor["name"] == "Carla Rosi"
    assert survivor["title"] == "CFO"  # filled from the merged contact, which had one


async def test_escape_at_the_prompt_merges_nothing(dupes_db) -> None:
    path, ids = dupes_db
    before = rows(path, list(ids.values()))
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmMerge)
        await pilot.press("escape")
        await settle(pilot)
        assert listed(screen) == PAIRS and not screen.merges
    assert rows(path, list(ids.values())) == before


async def test_undo_restores_both_contacts_exactly_and_the_pairs(dupes_db) -> None:
    path, ids = dupes_db
    smith, j_smith = ids[SMITH], ids[J_SMITH]
    before = rows(path, [smith, j_smith])
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        notes = record_notes(pilot)
        await select_pair(pilot, screen, (SMITH, J_SMITH))
        await pilot.press("tab", "down", "down", "space", "m", "enter")
        await settle(pilot)
        merge_id = screen.merges[0].merge_id
        assert rows(path, [smith, j_smith]) != before
        await pilot.press("u")
        await settle(pilot)
        assert listed(screen) == PAIRS  # both pairs of J. Smith are back
        assert not screen.merges
        assert any("undone" in n and merge_id[:8] in n for n in notes)
        # Nothing left to undo on this screen: the key is dimmed.
        assert screen.check_action("undo", ()) is None
    after = rows(path, [smith, j_smith])
    assert after.keys() == before.keys()
    for key, old in before.items():
        changed = {c for c in old if old[c] != after[key][c]}
        assert changed <= {"updated_at"}, (key, changed)
    db = sqlite3.connect(path)
    (undone_at,) = db.execute(
        "SELECT undone_at FROM merge_record WHERE id = ?", (merge_id,)
    ).fetchone()
    assert undone_at is not None


async def test_skip_hides_the_pair_for_the_session_even_after_a_rescan(dupes_template) -> None:
    path, ids = dupes_template
    before = rows(path, list(ids.values()))
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert listed(screen) == PAIRS[1:]
        await pilot.press("s")
        await settle(pilot)
        assert listed(screen) == PAIRS[2:]
        assert "2 skipped" in text_of(screen, "dupes-status")
        await pilot.press("r")
        await settle(pilot)
        assert listed(screen) == PAIRS[2:]
    assert rows(path, list(ids.values())) == before  # skipping writes nothing


async def test_no_duplicates_says_so_with_the_threshold(tmp_path: Path) -> None:
    path = tmp_path / "fixed.db"
    build_fixed_db(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        assert screen.pair_table.row_count == 0
        assert "No probable duplicates (score ≥ 70) among 12 contacts" in text_of(
            screen, "dupes-status"
        )
        assert "No probable duplicates (score ≥ 70)" in text_of(screen, "dupes-title")
        assert screen.check_action("merge", ()) is None


async def test_the_palette_offers_the_section(dupes_template) -> None:
    path, _ids = dupes_template
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        # One entry, with its key (the section and its F-key used to be two entries).
        assert "Go to Duplicates (F7)" in titles
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Go to Duplicates (F7)"
        )
        await command.callback()  # a key's entry runs the key's action (a coroutine)
        await settle(pilot)
        assert isinstance(app.screen, DuplicatesScreen)


async def test_pairs_new_by_sync_come_first_marked_and_count_as_reviewed(dupes_db) -> None:
    from crmtui.store.arrivals import add_arrivals, arrivals

    path, ids = dupes_db
    db = sqlite3.connect(path, isolation_level=None)
    add_arrivals(db, [ids["Carla Rosi"]])  # as a pull records it
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        carla = ("Carla Rossi", "Carla Rosi")
        assert listed(screen) == [carla, *(p for p in PAIRS if p != carla)]
        evidence = [str(screen.pair_table.get_row_at(i)[3]) for i in range(len(PAIRS))]
        assert evidence[0].startswith("new · ")
        assert not any(e.startswith("new") for e in evidence[1:])
        assert "1 new since the last sync (listed first)" in text_of(screen, "dupes-status")
        await pilot.press("r")  # shown once: reviewed, a rescan lists by score again
        await settle(pilot)
        assert listed(screen) == PAIRS
    assert arrivals(db) == set()


async def test_not_a_duplicate_is_kept_after_a_restart_journaled_and_undoable(dupes_db) -> None:
    path, ids = dupes_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert listed(screen) == PAIRS[1:]
    db = sqlite3.connect(path)
    kept = db.execute(
        "SELECT id, contact_id, other_contact_id FROM duplicate_decision WHERE deleted_at IS NULL"
    ).fetchall()
    assert [sorted(r[1:]) for r in kept] == [sorted([ids[J_SMITH], ids[MR_J_SMITH]])]
    # Journaled like any record, so the decision syncs to the other laptops.
    assert db.execute(
        "SELECT count(*) FROM journal WHERE entity = 'duplicate_decision' AND row_id = ?",
        (kept[0][0],),
    ).fetchone()[0]
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        assert listed(screen) == PAIRS[1:]  # still left out after a restart
        await pilot.press("n")  # Anna Müller / Anna Mueller
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert listed(screen) == PAIRS[1:]  # the undone decision's pair is back


async def test_at_80x24_the_comparison_shows_both_sides_fields(dupes_template) -> None:
    from textual.widgets import DataTable

    path, _ids = dupes_template
    app = make_app(db_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await duplicates(pilot)
        table = screen.query_one("#dupes-fields", DataTable)
        region = table.scrollable_content_region
        # Room for the header and at least the name, company, title, email and phone rows.
        assert region.height >= 6, region
        assert region.bottom <= 23 and region.right <= 80
        text = "\n".join(line.text for line in (table.render_line(y) for y in range(region.height)))
        assert "A · stays" in text and "B · merged in" in text
        for field in ("name", "company", "title", "email", "phone"):
            assert field in text, (field, text)
        assert J_SMITH in text and MR_J_SMITH in text  # both sides' values, not just labels
