"""SVG snapshot: the mail form over a contact's card at 80x24, filled from a template.

Update with `pytest tests/test_snapshots_mail.py --snapshot-update` and look at it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.screens.dialogs.mail_compose import MailComposeScreen
from tests.app_support import build_fixed_db, settle
from tests.daily_pilot import fixed_clock
from tests.test_app_mail import ANNA, _config

pytestmark = pytest.mark.usefixtures("stable_rendering")


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database; the snapshot writes nothing."""
    path = tmp_path_factory.mktemp("snap-mail") / "fixed.db"
    build_fixed_db(path)
    return path


def test_mail_form_at_80x24(snap_compare, fixed_db):
    """Anna Müller's card, `m`, the offer template: subject and body filled, keys shown."""
    _config()
    app = make_app(db_path=fixed_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        contact_id = app.db.execute(  # type: ignore[union-attr]
            "SELECT id FROM contact WHERE name = ?", (ANNA,)
        ).fetchone()[0]
        app.open_contact(contact_id)
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, MailComposeScreen)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
