"""View choices are kept in the config file and come back at the next start (theme, F4 period)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crmtui.app import make_app
from crmtui.config import ConfigError, load_settings, save_view_choice
from crmtui.screens.sections.territory import PERIODS, TerritoryScreen
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("kept") / "daily.db"
    build_daily_db(path)
    return path


def config_text() -> str:
    path = Path(os.environ["CRMTUI_CONFIG"])
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def test_theme_and_period_are_kept_across_a_restart(daily_template, tmp_path):
    path = copy_db(daily_template, tmp_path / "crm.db")
    config = Path(os.environ["CRMTUI_CONFIG"])
    config.write_text('# my settings\nrep_name = "Ann"\n', encoding="utf-8")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "gruvbox"
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TerritoryScreen)
        assert screen.period.label == PERIODS[0]
        await pilot.press("p")
        await settle(pilot)
        chosen = screen.period.label
        assert chosen == PERIODS[1]
    settings = load_settings()
    assert (settings.theme, settings.territory_period) == ("gruvbox", chosen)
    # The user's own lines stay as they were.
    assert config_text().startswith('# my settings\nrep_name = "Ann"\n')
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "gruvbox"
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TerritoryScreen)
        assert screen.period.label == chosen
        assert chosen in str(screen.query_one("#scope-status").render())


def test_a_view_choice_replaces_its_line_and_refuses_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_view_choice("theme", "nord", path)
    save_view_choice("theme", 'odd "quoted" théme', path)
    assert path.read_text(encoding="utf-8") == 'theme = "odd \\"quoted\\" théme"\n'
    assert load_settings(path).theme == 'odd "quoted" théme'
    with pytest.raises(ValueError):
        save_view_choice("db", "/elsewhere.db", path)


def test_a_view_choice_goes_before_the_first_table_not_into_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'rep_name = "Anna"\n\n[mail]\naddresses = ["anna@acme.example"]\n', encoding="utf-8"
    )
    save_view_choice("territory_period", "next-quarter", path)
    # Appended at the end it was read as a [mail] setting, and the whole file was refused.
    assert path.read_text(encoding="utf-8") == (
        'rep_name = "Anna"\nterritory_period = "next-quarter"\n\n'
        '[mail]\naddresses = ["anna@acme.example"]\n'
    )
    settings = load_settings(path)
    assert settings.territory_period == "next-quarter"
    save_view_choice("territory_period", "this-year", path)
    assert load_settings(path).territory_period == "this-year"
    assert path.read_text(encoding="utf-8").count("territory_period") == 1


def test_a_view_choice_never_writes_a_config_it_cannot_read_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    # A top-level key TOML cannot take a second time in another spelling: not written.
    before = '"theme" = "nord"\n'
    path.write_text(before, encoding="utf-8")
    with pytest.raises(ConfigError):
        save_view_choice("theme", "gruvbox", path)
    assert path.read_text(encoding="utf-8") == before
