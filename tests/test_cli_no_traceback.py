"""Inputs that used to end in a traceback: each now gets one clear line and a documented exit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli_commands import Ran, run


def _clean(ran: Ran, code: int, *words: str) -> None:
    assert ran.error is None, repr(ran.error)
    assert ran.code == code, ran.err
    assert "Traceback" not in ran.out + ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    for word in words:
        assert word in ran.err, ran.err


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    path = tmp_path / "crm.db"
    assert run(["db", "upgrade", "--db", str(path)]).code == 0
    return ["--db", str(path)]


@pytest.fixture
def contact(db: list[str]) -> str:
    ran = run(["contact", "add", "Jo Bloggs", *db])
    assert ran.code == 0, ran.err
    return ran.out.strip()


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--call-cap", "1180591620717411303424/30d", ("--call-cap", "at most")),
        ("--call-cap", "3/99999999999999999999d", ("--call-cap",)),
        ("--call-cap", "²/30d", ("--call-cap",)),
        ("--stay-in-touch", "99999999999999999999 days", ("--stay-in-touch",)),
        ("--stay-in-touch", "99999999999999999999", ("--stay-in-touch", "36600")),
        ("--stay-in-touch", "6000 weeks", ("--stay-in-touch", "36600")),
    ],
)
def test_contact_edit_refuses_numbers_too_large_to_keep(
    db: list[str], contact: str, option: str, value: str, words: tuple[str, ...]
) -> None:
    _clean(run(["contact", "edit", contact, option, value, *db]), 2, *words)


def test_contact_edit_keeps_sensible_values(db: list[str], contact: str) -> None:
    ran = run(["contact", "edit", contact, "--call-cap", "5/30d", "--stay-in-touch", "2w", *db])
    assert ran.code == 0, ran.err


def test_an_amount_too_large_to_sum_is_refused_at_input(db: list[str]) -> None:
    huge = "92,233,720,368,547,758.07 EUR"
    _clean(run(["deal", "add", "Big", "--amount", huge, *db]), 2, "amount", "largest amount")
    _clean(run(["deal", "add", "Big", "--amount", "9" * 5000, *db]), 2, "amount")
    assert run(["deal", "add", "Large", "--amount", "1,000,000,000,000.00 EUR", *db]).code == 0


def test_territory_summary_adds_up_amounts_beyond_64_bits(db: list[str]) -> None:
    # Amounts written before the input limit (or by hand) are summed, not refused:
    # two deals of 92,233,720,368,547,758.07 EUR used to stop SQLite's sum() (exit 3).
    for name in ("A", "B"):
        assert run(["deal", "add", name, "--amount", "1 EUR", *db]).code == 0
    con = sqlite3.connect(db[1])
    con.execute("UPDATE deal SET amount_minor = 9223372036854775807")
    con.commit()
    (probability,) = con.execute(
        "SELECT DISTINCT COALESCE(d.probability, s.probability) FROM deal d"
        " JOIN stage s ON s.id = d.stage_id"
    ).fetchone()
    con.close()
    ran = run(["territory", "summary", *db])
    assert ran.error is None and "Traceback" not in ran.out + ran.err
    assert ran.code == 0, ran.err
    assert "184,467,440,737,095,516.14 EUR" in ran.out
    ran = run(["territory", "summary", "--format", "json", *db])
    assert ran.code == 0, ran.err
    (total,) = json.loads(ran.out)["total"]["pipeline"]
    assert total["amount_minor"] == 2 * (2**63 - 1)
    assert total["weighted_minor"] == 2 * (((2**63 - 1) * probability + 50) // 100)


def test_server_assign_twice_is_idempotent(tmp_path: Path) -> None:
    server = ["--db", str(tmp_path / "server.db")]
    assert run(["server", "init", *server]).code == 0
    assert run(["server", "add-territory", "North", *server]).code == 0
    assert (
        run(
            ["server", "add-rep", "ann", "--territory", "North", "--territory", "North", *server]
        ).code
        == 0
    )
    assert run(["server", "add-territory", "South", *server]).code == 0
    first = run(["server", "assign", "ann", "South", *server])
    assert first.code == 0 and "now covers" in first.err
    _clean(run(["server", "assign", "ann", "South", *server]), 0, "already covers")


def test_server_names_are_validated_on_sqlite(tmp_path: Path) -> None:
    server = ["--db", str(tmp_path / "server.db")]
    assert run(["server", "init", *server]).code == 0
    _clean(run(["server", "add-territory", "x" * 201, *server]), 2, "at most 200")
    _clean(run(["server", "add-territory", "   ", *server]), 2, "empty")


def test_a_long_territory_name_on_postgresql_is_a_clear_message(pg_url: str) -> None:
    server = ["--db", pg_url]
    assert run(["server", "init", *server]).code == 0
    _clean(run(["server", "add-territory", "x" * 201, *server]), 2, "at most 200")
    _clean(run(["server", "add-rep", "y" * 201, *server]), 2, "at most 200")
    assert run(["server", "add-territory", "x" * 200, *server]).code == 0


def test_server_database_that_cannot_be_reached_is_exit_3() -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    ran = run(["server", "devices", "--db", url])
    _clean(ran, 3, "cannot open the server database")
    assert "secret" not in ran.err


def test_import_csv_names_a_folder_and_a_device(tmp_path: Path, db: list[str]) -> None:
    _clean(run(["import", "csv", str(tmp_path), *db]), 2, "is a folder, not a file")
    _clean(run(["import", "csv", "/dev/null", *db]), 2, "not a regular file")
    _clean(run(["import", "csv", str(tmp_path / "nope.csv"), *db]), 2, "no such file")
    _clean(run(["import", "jsonl", str(tmp_path), *db]), 2, "is a folder")
    _clean(run(["import", "vcard", "/dev/null", *db]), 2, "not a regular file")


def test_arguments_that_are_not_text_are_refused(db: list[str]) -> None:
    _clean(run(["contact", "add", "Jo\udcff", *db]), 2, "not valid UTF-8")
    _clean(run(["contact", "add", "Jo\x00", *db]), 2, "NUL")


def test_db_backup_to_a_missing_folder_is_one_line(db: list[str], tmp_path: Path) -> None:
    _clean(run(["db", "backup", str(tmp_path / "no" / "such" / "b.db"), *db]), 2, "backup")


def test_a_stage_limit_beyond_sqlite_integers_is_refused(db: list[str]) -> None:
    ran = run(["pipeline", "stage-add", "Huge", "--stale-after", "99999999999999999999", *db])
    _clean(ran, 2, "stale_after_days")


def test_far_dates_and_spans_are_bad_input(db: list[str], contact: str) -> None:
    _clean(run(["activities", "--since", "in 99999999 years", *db]), 2)
    _clean(run(["due", "--days", "2912102", *db]), 2, "--days")
    _clean(run(["log", "call", contact, "x", "--duration", "9" * 25 + "d", *db]), 2)
