"""SVG snapshots at 120x40 and 80x24: the card of a contact imported from Google Contacts.

Every phone, email and address with its kind, the salutation, and what the import kept
that no field holds ("From import": a birthday without a year, a label of the user's own,
a custom field). Update with `pytest tests/test_snapshots_imported_card.py
--snapshot-update` and look at them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from typer.testing import CliRunner

from crmtui.app import make_app
from crmtui.cli import app as cli
from tests.app_support import settle
from tests.card_support import SMALL
from tests.daily_pilot import SIZE, fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")
GOOGLE = Path(__file__).parent / "data" / "address_books" / "google_contacts_2024.csv"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the Google fixture's people (the nameless row left out)."""
    folder = tmp_path_factory.mktemp("snap-imported")
    db = folder / "crm.db"
    result = CliRunner().invoke(
        cli,
        ["--db", str(db), "import", "csv", str(GOOGLE), "--skip-bad", "--rejects",
         str(folder / "rejects.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return db


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_an_imported_contacts_card(snap_compare: Any, imported: Path, size: Any) -> None:
    app = make_app(db_path=imported, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        contact_id = app.db.execute(  # type: ignore[union-attr]
            "SELECT id FROM contact WHERE name = ?", ("Jürgen Weiß",)
        ).fetchone()[0]
        app.open_contact(contact_id)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
