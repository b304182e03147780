"""One-key dialling from the contact card: `c` runs the dial command, `c` again logs the call.

The dial command is a real process (a small script that writes what it was given), as
the rep's `xdg-open {tel}` or softphone CLI would be.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.domain.dialling import DialError, call_length, dial_argv, tel_uri
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.quick_log import QuickLogScreen
from tests.app_support import build_fixed_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock


@pytest.fixture(scope="module")
def fixed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("dial") / "fixed.db"
    return path, build_fixed_db(path)


def test_dial_command_placeholders() -> None:
    assert dial_argv("xdg-open {tel}", "+49 30 2233-4455", "12") == [
        "xdg-open",
        "tel:+493022334455;ext=12",
    ]
    assert dial_argv("linphonecsh dial {sip}@pbx.example", "+4930 1") == [
        "linphonecsh",
        "dial",
        "sip:+49301@pbx.example",
    ]
    assert dial_argv("open", "030 1234") == ["open", "tel:0301234"]  # no placeholder: appended
    assert dial_argv("sh -c 'echo {number}; rm -rf /'", "+1; rm") == [
        "sh",
        "-c",
        "echo +1; rm -rf /",
    ]
    assert tel_uri("+1 (555) 0100") == "tel:+15550100"
    assert call_length(65) == "1:05" and call_length(3723) == "1:02:03"
    with pytest.raises(DialError):
        dial_argv("'unclosed", "1")


async def _card(pilot: Pilot[Any], contact_id: str) -> ContactCardScreen:
    await settle(pilot)
    pilot.app.open_contact(contact_id)  # type: ignore[attr-defined]
    await settle(pilot)
    card = pilot.app.screen
    assert isinstance(card, ContactCardScreen) and card.card is not None
    return card


async def test_c_dials_times_and_logs_the_call(fixed_template, tmp_path: Path, monkeypatch) -> None:
    template, ids = fixed_template
    path = copy_db(template, tmp_path / "fixed.db")
    out = tmp_path / "dialled.txt"
    script = tmp_path / "dial.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    config = tmp_path / "config.toml"
    config.write_text(f'dial_command = "{sys.executable} {script} {{tel}}"\n')
    monkeypatch.setenv("CRMTUI_CONFIG", str(config))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await _card(pilot, ids["Anna Müller"])
        await pilot.press("c")
        await settle(pilot)
        timer = card.query_one("#call-timer", Static)
        assert timer.display and "On the call" in str(timer.render())
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            await pilot.pause(0.05)  # the dial process is not waited for by the card
        assert out.read_text() == "tel:+493022334455"
        await pilot.press("c")  # the rep says the call ended
        await settle(pilot)
        log = app.screen
        assert isinstance(log, QuickLogScreen)
        assert log.duration_s is not None and log.contact is not None
        assert log.contact.id == ids["Anna Müller"]
        assert "Length" in str(log.query_one("#length", Static).render())
        assert not timer.display
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        # Leaving the card during a call ends it and opens the log: the length is not lost.
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QuickLogScreen) and app.screen.duration_s is not None
        await pilot.press("escape")  # not logged after all
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
    import sqlite3

    with sqlite3.connect(path) as db:
        kind, duration = db.execute(
            "SELECT kind, duration_s FROM activity WHERE contact_id = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (ids["Anna Müller"],),
        ).fetchone()
    assert kind == "call" and duration == log.duration_s


async def test_do_not_call_and_no_command_are_refused(fixed_template, tmp_path: Path) -> None:
    template, ids = fixed_template
    path = copy_db(template, tmp_path / "fixed.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await _card(pilot, ids["Dieter Wagner"])
        await pilot.press("c")
        await settle(pilot)
        assert not card.query_one("#call-timer", Static).display
        assert any("do-not-call" in str(n.message) for n in app._notifications)
        card = await _card(pilot, ids["Anna Müller"])
        await pilot.press("c")  # no dial_command in the (empty) config
        await settle(pilot)
        assert not card.query_one("#call-timer", Static).display
        assert any("no dial_command" in str(n.message) for n in app._notifications)
