"""The app on the generated demo database: typos on real names, and a lean start-up."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.sections.contacts import ContactsScreen
from tests.app_support import copy_db, settle
from tests.test_app_contacts import SIZE, contacts_screen


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-contact demo database, the same rows every run."""
    return copy_db(demo_template, tmp_path_factory.mktemp("demo") / "demo.db")


def misspell(word: str) -> str:
    """Swap two letters in the middle of a word: one transposition, a typical typo."""
    i = len(word) // 2
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def unique_person(path: Path) -> tuple[str, str, str, str]:
    """(id, name, given name, family name) of a contact whose name nobody else shares."""
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT c.id, c.name, c.given_name, c.family_name FROM contact c "
            "WHERE length(c.family_name) >= 6 AND c.family_name GLOB '[A-Za-z]*' "
            "AND c.deleted_at IS NULL AND c.archived_at IS NULL "
            "AND (SELECT count(*) FROM contact o WHERE o.family_name = c.family_name) = 1 "
            "ORDER BY c.id LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo data should hold a contact with a unique family name"
    return row


async def test_a_misspelt_real_name_finds_its_contact_and_opens_its_card(demo_db):
    ref_id, name, given, family = unique_person(demo_db)
    typo = f"{given} {misspell(family)}".lower()
    assert misspell(family).lower() != family.lower()
    app = make_app(db_path=demo_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await contacts_screen(pilot)
        await pilot.press(*typo)
        await settle(pilot)
        shown = [row.id for row in screen.results.contacts]
        assert shown[0] == ref_id, (typo, [r.name for r in screen.results.contacts][:5])
        await pilot.press("down", "enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.title == name
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        assert app.screen.search_box.value == typo


STARTUP_PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    import crmtui.startup
    from crmtui.app import make_app
    from crmtui.screens.sections.contacts import ContactsScreen

    async def main() -> None:
        # Start-up alone: the work timed after it -- sections built while idle
        # (tests/test_app_prebuild.py), reports warmed, the card and stylesheets read --
        # opens the writer or the services, and with them SQLModel, 0.5-1 s in, which a
        # loaded machine reached before the probe's last look (seen at load ~5 with a
        # busy loop beside: the warm-up had run).
        crmtui.startup.PREBUILD_IDLE_S = 3600.0
        crmtui.startup.WARM_DELAY_S = 3600.0
        crmtui.startup.AFTER_START_UP_S = 3600.0
        app = make_app(db_path=Path(sys.argv[1]))
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            screen = app.screen
            ready = isinstance(screen, ContactsScreen) and screen.results.row_count > 0
        heavy = sorted(m for m in ("sqlmodel", "sqlalchemy", "alembic", "pydantic")
                       if m in sys.modules)
        print(json.dumps({"ready": ready, "heavy": heavy}))

    asyncio.run(main())
    """
)


def test_starting_the_app_never_imports_sqlmodel(demo_db):
    """Cold start stays close to a bare Textual app: the read path is sqlite3 only."""
    done = subprocess.run(
        [sys.executable, "-c", STARTUP_PROBE, str(demo_db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ready"], "the contacts screen did not show results"
    assert result["heavy"] == []
