"""`crm plan ...` from the shell: exit codes, messages for bad plan files, the whole loop."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()

PLAN = """\
name = "New lead"
description = "Call, then email"

[[step]]
key = "intro"
kind = "call"
retries = 1
retry_wait = 2

[[step]]
key = "mail"
kind = "email"
wait = 3
"""


@pytest.fixture(autouse=True)
def _setup() -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text(
        'timezone = "Europe/Berlin"\nholidays = ["2026-12-24"]\n', encoding="utf-8"
    )
    open_store(Path(os.environ["CRMTUI_DB"])).close()


def crm(*args: str, code: int = 0) -> tuple[str, str]:
    """Run a command; check its exit code; return (stdout, stderr)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    return result.stdout, result.stderr


def _plan_file(tmp_path: Path, text: str = PLAN, name: str = "plan.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_add_list_show_and_an_unchanged_file(tmp_path: Path) -> None:
    file = _plan_file(tmp_path)
    out, err = crm("plan", "add", file)
    assert "plan New lead version 1 added" in err
    _, err = crm("plan", "add", file)
    assert "version 1 is unchanged" in err
    out, _ = crm("plan", "list", "--format", "json")
    assert [(p["name"], p["version"], p["steps"]) for p in json.loads(out)] == [
        ("New lead", 1, "call > email")
    ]
    out, _ = crm("plan", "show", "new lead", "--format", "json")
    shown = json.loads(out)
    assert [s["kind"] for s in shown["steps"]] == ["call", "email"]
    assert "meeting-booked" in shown["steps"][0]["leave_on"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PLAN.replace('kind = "email"', 'kind = "letter"'), "plan.toml:12: step 2: kind must be"),
        (PLAN.replace("retries = 1", "retries = -2"), "plan.toml:7: step 1: retries must be"),
        (PLAN.replace('name = "New lead"', 'name = "New lead'), "plan.toml: not valid TOML"),
        ('name = "X"\n', "a plan needs at least one [[step]]"),
    ],
)
def test_a_bad_plan_file_exits_2_naming_the_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    _, err = crm("plan", "add", _plan_file(tmp_path, text), code=2)
    assert message in err
    assert "nothing was saved" in err
    out, _ = crm("plan", "list", "--format", "json")
    assert json.loads(out) == []


def test_a_missing_file_and_an_unknown_plan(tmp_path: Path) -> None:
    _, err = crm("plan", "add", str(tmp_path / "nope.toml"), code=2)
    assert "no such file" in err
    _, err = crm("plan", "show", "nope", code=1)
    assert "no plan 'nope'" in err
    crm("contact", "add", "Anna Weber")
    _, err = crm("plan", "enrol", "nope", "anna", code=1)
    assert "no plan 'nope'" in err
    _, err = crm("plan", "status", "nope", code=1)


def test_enrol_log_and_status_then_stop_and_undo(tmp_path: Path) -> None:
    crm("plan", "add", _plan_file(tmp_path))
    crm("contact", "add", "Anna Weber", "--phone", "030 1234567")
    crm("contact", "add", "Ben Ott", "--tag", "fair")
    _, err = crm("plan", "enrol", "new lead", "anna", "--query", "fair")
    assert "enrolled Anna Weber in New lead v1" in err and "enrolled Ben Ott" in err
    assert "undo: crm undo" in err
    _, err = crm("plan", "enrol", "new lead", "anna", code=1)
    assert "Anna Weber is on plan New lead already" in err

    crm("log", "call", "anna", "--outcome", "no-answer")
    out, _ = crm("plan", "status", "--who", "anna", "--format", "json")
    (row,) = json.loads(out)
    assert (row["state"], row["step"], row["attempt"]) == ("waiting", "1 call", 2)
    crm("log", "call", "anna", "--outcome", "connected")
    out, _ = crm("plan", "status", "--format", "json")
    steps = {r["contact"]: r["step"] for r in json.loads(out)}
    assert steps == {"Anna Weber": "2 email", "Ben Ott": "1 call"}

    _, err = crm("plan", "stop", "ben", "--reason", "asked us to")
    undo_id = err.split("crm undo ")[1].split()[0]
    out, _ = crm("plan", "status", "--all", "--format", "json")
    assert {r["contact"]: r["state"] for r in json.loads(out)}["Ben Ott"] == "stopped"
    crm("undo", undo_id)
    out, _ = crm("plan", "status", "--format", "json")
    assert {r["contact"] for r in json.loads(out)} == {"Anna Weber", "Ben Ott"}


def test_dry_run_saves_nothing(tmp_path: Path) -> None:
    crm("plan", "add", _plan_file(tmp_path))
    crm("contact", "add", "Anna Weber")
    _, err = crm("plan", "enrol", "new lead", "anna", "--dry-run")
    assert "would enrol Anna Weber" in err
    out, _ = crm("plan", "status", "--all", "--format", "json")
    assert json.loads(out) == []


def test_a_new_version_waits_for_migrate(tmp_path: Path) -> None:
    crm("plan", "add", _plan_file(tmp_path))
    crm("contact", "add", "Anna Weber")
    crm("plan", "enrol", "new lead", "anna")
    crm("plan", "add", _plan_file(tmp_path, PLAN + '\n[[step]]\nkind = "visit"\nwait = 1\n'))
    out, _ = crm("plan", "status", "--format", "json")
    assert json.loads(out)[0]["plan"] == "New lead v1"
    _, err = crm("plan", "migrate", "new lead")
    assert "moved 1 running enrolment(s)" in err
    out, _ = crm("plan", "status", "--format", "json")
    assert json.loads(out)[0]["plan"] == "New lead v2"


def test_a_bad_holiday_in_the_config_is_named() -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text('holidays = ["24.12.2026"]\n', encoding="utf-8")
    crm("contact", "add", "Anna Weber", code=2)
