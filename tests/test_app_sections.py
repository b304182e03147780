"""Every section survives being switched to and away before it has composed."""

from __future__ import annotations

import pytest

from crmtui.app import SECTIONS, make_app
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sections") / "daily.db"
    build_daily_db(path)
    return path


async def test_switching_through_every_section_without_pausing(daily_template, tmp_path):
    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    keys = [s.key for s in SECTIONS]
    async with app.run_test(size=SIZE) as pilot:
        # No pause, not even for start-up: the footer asks each screen about its
        # bindings while its widgets do not exist yet.
        for key in keys[1:]:
            for _ in range(3):
                await pilot.press(key, keys[0])
        await pilot.press(*keys, *reversed(keys))
        await settle(pilot)
        assert app.current_mode == SECTIONS[0].mode
        assert app.return_code is None
