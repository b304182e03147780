"""`crm pipeline`, `crm deal`, `crm deals`, `crm forecast`, `crm lead`, `crm territory` via CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(db_path: Path) -> None:
    """Commands other than demo/import/db upgrade never create a --db file: make it first."""
    open_store(db_path).close()


def crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def test_deal_lifecycle_board_and_forecast_json(db_path: Path) -> None:
    code, out, err = crm(db_path, "deal", "add", "Acme renewal", "--amount", "12,500.50 EUR",
                         "--close", "2026-03-15", "--stage", "Qualified")  # fmt: skip
    assert code == 0, err
    deal_id = out.strip()
    assert crm(db_path, "deal", "move", deal_id[:8], "Proposal")[0] == 0
    code, out, _ = crm(db_path, "pipeline", "--format", "json")
    stages = {s["name"]: s for s in json.loads(out)["stages"]}
    assert stages["Proposal"]["count"] == 1
    assert stages["Proposal"]["weighted_minor"] == {"EUR": 625_025}
    code, out, err = crm(
        db_path, "forecast", "--period", "2026-Q1", "--explain", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["weighted_minor"] == 625_025 and data["deals"][0]["probability"] == 50
    code, out, _ = crm(db_path, "deal", "show", deal_id, "--format", "json")
    assert [h["to_stage"] for h in json.loads(out)["history"]] == ["Qualified", "Proposal"]
    assert crm(db_path, "deal", "lost", deal_id, "--reason", "price")[0] == 0
    assert crm(db_path, "deal", "won", deal_id)[0] == 2  # already lost
    code, out, _ = crm(db_path, "deals", "--status", "lost", "--format", "csv")
    assert out.splitlines()[0].startswith("name,stage,amount") and "Closed Lost" in out


def test_exit_codes(db_path: Path) -> None:
    assert crm(db_path, "deal", "add", "X", "--amount", "12.345 EUR")[0] == 2
    assert crm(db_path, "deal", "move", "0123456789", "Proposal")[0] == 1
    assert crm(db_path, "forecast", "--period", "someday")[0] == 2
    assert crm(db_path, "forecast", "--territory", "Atlantis")[0] == 1
    assert crm(db_path, "pipeline", "--format", "xml")[0] == 2
    crm(db_path, "deal", "add", "E", "--amount", "10 EUR")
    crm(db_path, "deal", "add", "G", "--amount", "10 GBP")
    code, _, err = crm(db_path, "forecast", "--no-convert")
    assert code == 2 and "--currency" in err
    code, out, err = crm(db_path, "forecast")  # one section per currency, no refusal
    assert code == 0 and "GBP" in out and "company_currency" in err
    code, out, _ = crm(db_path, "forecast", "--currency", "GBP", "--format", "json")
    assert code == 0 and json.loads(out)["excluded"][0]["name"] == "E"


def test_lead_convert_needs_yes_or_new_when_not_interactive(db_path: Path) -> None:
    crm(db_path, "contact", "add", "Jo Doe", "--email", "jo@doe.example")
    code, out, _ = crm(db_path, "lead", "add", "Jo Doe", "--email", "jo@doe.example")
    lead = out.strip()
    code, _, err = crm(db_path, "lead", "convert", lead)
    assert code == 2 and "--yes" in err
    code, out, err = crm(db_path, "lead", "convert", lead, "--yes", "--amount", "100")
    assert code == 0, err and "reused" in err
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM contact").fetchone()[0] == 1
    assert db.execute("SELECT status FROM lead").fetchone()[0] == "converted"
    code, out, _ = crm(db_path, "leads", "--status", "converted", "--format", "json")
    assert json.loads(out)[0]["id"] == lead


def test_territory_commands_and_summary_json(db_path: Path) -> None:
    assert crm(db_path, "territory", "add", "Europe")[0] == 0
    assert crm(db_path, "territory", "add", "DACH", "--parent", "Europe")[0] == 0
    assert crm(db_path, "territory", "add-rep", "Rita")[0] == 0
    assert crm(db_path, "territory", "assign", "DACH", "--rep", "rita")[0] == 0
    code, out, _ = crm(db_path, "account", "add", "Acme", "--country", "DE")
    assert code == 0
    code, _, err = crm(db_path, "territory", "rules", "DACH", "--add", "country=DE")
    assert code == 0, err
    code, out, err = crm(db_path, "territory", "realign", "--format", "json")
    assert code == 0 and json.loads(out)[0]["to"] == "DACH" and "would move" in err
    code, out, err = crm(db_path, "territory", "realign", "--apply", "--format", "json")
    assert code == 0 and "1 account(s) moved" in err
    assert json.loads(crm(db_path, "territory", "realign", "--format", "json")[1]) == []
    code, out, err = crm(db_path, "territory", "summary", "Europe", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["scope"] == "territory Europe"
    assert [t["label"] for t in report["territories"]] == ["DACH"]
    assert [r["label"] for r in report["reps"]] == ["Rita"]
    assert report["total"]["coverage_gaps"] == 1  # Acme: no activity in 90 days
    code, out, _ = crm(db_path, "pipeline", "stages", "--format", "csv")
    assert code == 0 and out.count("\n") == 7
