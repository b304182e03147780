"""Functional tests of the app shell and the Contacts workflow, driven through Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import CrmApp, make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.database_problem import DatabaseProblemScreen
from crmtui.screens.sections.contacts import RESULT_WINDOW, ContactsScreen
from crmtui.screens.sections.pipeline import PipelineScreen
from crmtui.screens.sections.sync import SyncScreen
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.contact_table import ContactRow, ContactTable
from tests.app_support import PEOPLE, SMITH, build_fixed_db, settle

SIZE = (120, 40)


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixed twelve-contact database, built once for this module."""
    path = tmp_path_factory.mktemp("app") / "fixed.db"
    return path, build_fixed_db(path)


async def contacts_screen(pilot: Pilot[None]) -> ContactsScreen:
    """Wait for the database to open and the recent list to show."""
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ContactsScreen), type(screen)
    return screen


def names(screen: ContactsScreen) -> list[str]:
    """Names shown in the result table, in order."""
    return [row.name for row in screen.results.contacts]


async def test_empty_query_lists_recent_contacts_newest_first(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        shown = names(screen)
        assert shown == [p[0] for p in reversed(PEOPLE)]  # created in order, listed newest first
        assert screen.search_box.has_focus
        status = str(screen.query_one("#status", Static).render())
        assert status.startswith(f"{len(PEOPLE)} most recently updated contacts")
        assert app.sub_title == "fixed.db"


async def test_typo_query_finds_the_contact(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press(*"smyth")
        await settle(pilot)
        assert names(screen)[0] == SMITH
        status = str(screen.query_one("#status", Static).render())
        assert "“smyth”" in status and " ms" in status


async def test_arrows_and_enter_open_the_card_and_escape_returns(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        # Typed in one burst, as a fast typist would: the arrows move the highlight
        # while the cursor stays in the box.
        await pilot.press("down", "down", "down", "up")
        assert screen.search_box.has_focus
        assert screen.results.cursor_row == 2
        expected = names(screen)[2]
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.contact_id == ids[expected]
        assert expected in str(card.query_one("#card-name", Static).render())

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.results.cursor_row == 2  # the cursor is where it was
        assert screen.search_box.has_focus


async def test_keys_typed_ahead_of_the_results_apply_to_the_new_rows(fixed_db):
    """Down and Enter pressed before the search answers act on the answer, not the old list."""
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        recent_second = names(screen)[1]
        # No await between these: the worker's answer cannot have been handled yet.
        screen.start_search("gmbh")
        assert screen.search_pending
        screen.action_move(1)
        await screen.search_box.action_submit()
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        await pilot.press("escape")
        await settle(pilot)
        gmbh = screen.results.contacts
        assert len(gmbh) > 2 and all("GmbH" in (row.company or "") for row in gmbh)
        assert card.contact_id == gmbh[1].id
        assert gmbh[1].name != recent_second


async def test_in_the_list_enter_opens_and_escape_returns_to_the_box(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press("tab")
        assert screen.results.has_focus
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids[names(screen)[1]]
        await pilot.press("escape")
        await settle(pilot)
        assert screen.results.has_focus and screen.results.cursor_row == 1
        await pilot.press("escape")
        assert screen.search_box.has_focus
        assert screen.results.cursor_row == 1


async def test_clicking_a_row_opens_its_card(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        # Row 3 of the table body: header at y=0, rows from y=1.
        await pilot.click(ContactTable, offset=(5, 4))
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids[names(screen)[3]]
        await pilot.press("escape")
        await settle(pilot)
        # The same row is now highlighted: one click still opens exactly one card.
        await pilot.click(ContactTable, offset=(5, 4))
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert len(app.screen_stack) == 2


async def test_enter_in_the_search_box_opens_the_best_match(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press(*"rossi", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids["Carla Rossi"]
        await pilot.press("escape")
        await settle(pilot)
        assert screen.search_box.value == "rossi"  # the search is kept


async def test_card_shows_consent_fields_and_open_work(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_screen(pilot)
        app.open_contact(ids[SMITH])
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.query_one("#dnc").display
        assert not card.query_one("#consent-ok").display
        assert card.title == SMITH
        activities = str(card.query_one("#activities", CardSection).body.render())
        assert "Wants a quote for 40 units" in activities
        assert "Send the revised quote" in str(
            card.query_one("#ticklers", CardSection).body.render()
        )
        deals = str(card.query_one("#deals", CardSection).body.render())
        assert "48,000.00 GBP" in deals and "Proposal" in deals


async def test_card_sections_say_none_yet_when_empty(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_screen(pilot)
        app.open_contact(ids["Anna Müller"])
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.query_one("#consent-ok").display
        assert not card.query_one("#dnc").display
        for section in ("#activities", "#ticklers", "#deals", "#notes"):
            widget = card.query_one(section, CardSection)
            assert widget.has_class("-empty")
            assert str(widget.body.render()) == "none yet"


async def test_do_not_call_contacts_are_marked_in_the_list(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        flagged = {row.name for row in screen.results.contacts if row.do_not_call}
        assert flagged == {p[0] for p in PEOPLE if p[7]}
        table = screen.results
        index = names(screen).index("Dieter Wagner")
        assert str(table.get_row_at(index)[0]).startswith("DNC ")
        other = names(screen).index("Anna Müller")
        assert not str(table.get_row_at(other)[0]).startswith("DNC")


async def test_a_stale_result_never_overwrites_a_newer_one(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press(*"rossi")
        await settle(pilot)
        assert names(screen) == ["Carla Rossi"]
        stale = ContactRow(id="x", name="Stale Result")
        screen.post_message(ContactsScreen.SearchFinished("ro", 1, [stale], 1.0))
        await settle(pilot)
        assert names(screen) == ["Carla Rossi"]


async def test_escape_in_the_search_box_clears_it(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press(*"weber")
        await settle(pilot)
        assert names(screen)[0] == "Jonas Weber"
        await pilot.press("escape")
        await settle(pilot)
        assert screen.search_box.value == ""
        assert len(names(screen)) == len(PEOPLE)


async def test_slash_focuses_the_search_box(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        screen.results.focus()
        await pilot.pause()
        await pilot.press("slash")
        assert screen.search_box.has_focus


async def test_function_keys_switch_sections_and_back(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        contacts = await contacts_screen(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        assert app.screen.title == "Sync"
        await pilot.press("f1")
        await settle(pilot)
        assert app.screen is contacts


async def test_palette_finds_a_contact_by_misspelt_name(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_screen(pilot)
        await pilot.press("f3")  # from another section: the jump goes to Contacts
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"katarzina")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "contacts"
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids["Katarzyna Nowak"]


async def test_palette_offers_the_sections(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_screen(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"go to pipeline")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "pipeline"
        assert isinstance(app.screen, PipelineScreen)


async def test_search_contacts_command_returns_to_the_search_box(fixed_db):
    path, ids = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        contacts = await contacts_screen(pilot)
        app.open_contact(ids[SMITH])
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await app.run_action("search_contacts")
        await settle(pilot)
        assert app.screen is contacts
        assert contacts.search_box.has_focus


async def test_missing_database_shows_a_clear_message(tmp_path):
    path = tmp_path / "nowhere" / "crm.db"
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DatabaseProblemScreen)
        assert str(screen.query_one("#problem-reason", Static).render()) == f"No database at {path}"
        assert f"crm demo --db {path}" in str(screen.query_one("#problem-hint", Static).render())
        assert app.db is None
        await pilot.press("f2")  # sections are not offered without a database
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("q")
        await settle(pilot)
    assert not path.exists()  # looking never creates a file


async def test_a_file_that_is_not_a_crm_database_is_explained(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"")
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DatabaseProblemScreen)
        assert "not a crmtui database" in str(screen.query_one("#problem-reason", Static).render())


async def test_the_result_window_is_bounded(tmp_path):
    """Recent contacts and searches never load more than one window of rows."""
    from crmtui.services.address_book.contacts import ContactCreate, create_contact
    from crmtui.store.database import open_store

    path = tmp_path / "many.db"
    store = open_store(path)
    with store.write() as tx:
        for i in range(RESULT_WINDOW + 15):
            create_contact(tx=tx, data=ContactCreate(name=f"Person Number{i:03d}"), region="DE")
    store.close()
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        assert screen.results.row_count == RESULT_WINDOW
        await pilot.press(*"person")
        await settle(pilot)
        assert screen.results.row_count == RESULT_WINDOW
        status = str(screen.query_one("#status", Static).render())
        assert status.startswith(f"Best {RESULT_WINDOW} matches")


async def test_quitting_never_closes_the_connection_under_a_worker(fixed_db):
    """Unmount interrupts queries instead of closing the connection a thread may be using.

    Closing a sqlite3 connection while a worker thread is inside a query crashed
    the process (SIGSEGV) when quitting during a slow search on a large database.
    """
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_screen(pilot)
        db = app.db
        assert db is not None
    assert app.db is None
    assert db.execute("SELECT count(*) FROM contact").fetchone()[0] == len(PEOPLE)


def test_make_app_does_no_io(tmp_path):
    path = tmp_path / "absent.db"
    app = make_app(db_path=path)
    assert isinstance(app, CrmApp)
    assert app.db is None
    assert not path.exists()


def test_widgets_and_screens_keep_to_their_layers():
    """Widgets never import the store (they get rows and post messages)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "crmtui" / "widgets"
    for module in root.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("crmtui.store"), module.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("crmtui.store") for a in node.names), module.name


async def test_contact_table_shows_names_as_typed_not_as_markup():
    """A name with square brackets is shown as typed, not read as markup."""

    class TableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ContactTable(id="t")

    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ContactTable)
        table.show_contacts([ContactRow(id="1", name="[bold]Eve[/bold]", company="[x] Ltd")])
        await pilot.pause()
        assert str(table.get_row_at(0)[0]) == "[bold]Eve[/bold]"
        assert str(table.get_row_at(0)[1]) == "[x] Ltd"
        assert table.highlighted_contact == ContactRow(
            id="1", name="[bold]Eve[/bold]", company="[x] Ltd"
        )
