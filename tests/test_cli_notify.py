"""`crm notify`: due reminders shown once (terminal fallback here: no session bus)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("fixed_day")


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")
    open_store(Path(os.environ["CRMTUI_DB"])).close()
    # No session bus: the terminal fallback, whatever this machine runs.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(Path(os.environ["HOME"]) / "no-runtime"))


def crm(*args: str, code: int = 0) -> tuple[str, str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


def test_each_due_reminder_is_shown_once_and_again_after_a_deferral() -> None:
    crm("contact", "add", "Anna Müller")
    tickler = crm("remind", "anna", "call back", "--due", "today 9:00")[0].strip()
    crm("remind", "anna", "not yet", "--due", "today 18:00")
    out, _err = crm("notify")
    assert out.startswith("reminder due ") and "call back (Anna Müller)" in out
    assert "not yet" not in out and out.count("\n") == 1
    assert "\a" not in out  # no bell when stdout is not a terminal
    assert crm("notify")[0] == ""  # never the same reminder twice
    crm("snooze", tickler, "1h")  # a snooze keeps the due time: still shown already
    assert crm("notify")[0] == ""
    crm("defer", tickler, "today 10:00")  # a new due time, already passed: due again
    assert "call back" in crm("notify")[0]
    assert crm("notify")[0] == ""


def test_a_backlog_is_capped_with_one_summary() -> None:
    crm("contact", "add", "Anna Müller")
    for hour in range(6, 13):
        crm("remind", "anna", f"task {hour}", "--due", f"today {hour}:00")
    out, _ = crm("notify", "--max", "3")
    lines = out.splitlines()
    assert [line.split(": ", 1)[1].split(" (")[0] for line in lines[:3]] == [
        "task 12",
        "task 11",
        "task 10",
    ]
    assert lines[3] == "4 more reminder(s) due: run `crm due`"
    assert crm("notify")[0] == ""


def test_desktop_is_refused_clearly_when_unavailable() -> None:
    crm("contact", "add", "Anna Müller")
    crm("remind", "anna", "call back", "--due", "today 9:00")
    _, err = crm("notify", "--via", "desktop", code=2)
    assert "no desktop notifications here" in err
