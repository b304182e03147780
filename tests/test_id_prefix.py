"""`crm show` by the start of an id: that contact, or every contact it may mean; never a guess."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()


def crm(*args: str, code: int = 0) -> tuple[str, str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


@pytest.fixture
def two() -> tuple[str, str]:
    open_store(Path(os.environ["CRMTUI_DB"])).close()
    anna = crm("contact", "add", "Anna Müller", "--phone", "+49 30 1234567")[0].strip()
    bob = crm("contact", "add", "Bob Stone", "--phone", "+49 30 7654321")[0].strip()
    return anna, bob


def test_a_prefix_both_ids_share_lists_both(two: tuple[str, str]) -> None:
    anna, bob = two
    shared = next(n for n in range(8, 36) if anna[:n] != bob[:n]) - 1
    assert shared >= 8  # made in the same second: UUIDv7s share their time bits
    _, err = crm("show", anna[:shared], code=1)
    assert "Anna Müller" in err and "Bob Stone" in err


def test_a_prefix_only_one_id_has_shows_that_contact(two: tuple[str, str]) -> None:
    anna, bob = two
    unique = next(n for n in range(8, 36) if anna[:n] != bob[:n])
    out, _ = crm("show", anna[: unique + 2])
    assert out.startswith("Anna Müller")


def test_digits_no_id_starts_with_are_still_a_phone_search(two: tuple[str, str]) -> None:
    out, _ = crm("show", "+49 30 7654321")
    assert out.startswith("Bob Stone")
    out, _ = crm("show", "307654321")
    assert out.startswith("Bob Stone")
