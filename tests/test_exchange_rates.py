"""Dated exchange rates: the ECB files, conversion on or before a day, `crm forecast` converted."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.exchange import NoRate, Rate, RateTable
from crmtui.formats.ecb_rates import BadRatesFile, read_ecb_csv
from crmtui.store.database import open_store

DATA = Path(__file__).parent / "data" / "ecb"
HIST = DATA / "eurofxref-hist-2025-04.csv"
DAILY = DATA / "eurofxref-daily-2021-06-03.csv"
runner = CliRunner()


def crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def _table() -> RateTable:
    rows = read_ecb_csv(HIST.read_text()).rows
    return RateTable([Rate("EUR", r.quote, r.day, Decimal(r.rate)) for r in rows])


def test_ecb_history_and_daily_files_are_read_as_published() -> None:
    hist = read_ecb_csv(HIST.read_text())
    # 5 days x 41 columns, less the ten codes no longer in ISO 4217 and the N/A cells
    # of RUB (suspended): 30 currencies a day.
    assert len(hist.rows) == 150
    assert {r.day for r in hist.rows} == {date(2025, 4, d) for d in (17, 22, 23, 24, 25)}
    usd = {r.day: r.rate for r in hist.rows if r.quote == "USD"}
    assert usd[date(2025, 4, 17)] == "1.136" and usd[date(2025, 4, 25)] == "1.1357"
    assert "CYP" in hist.skipped_currencies and "RUB" not in {r.quote for r in hist.rows}
    daily = read_ecb_csv(DAILY.read_text())
    assert {r.day for r in daily.rows} == {date(2021, 6, 3)}
    assert {r.quote: r.rate for r in daily.rows}["ZAR"] == "16.5218"
    # HRK (replaced by the euro in 2023) is no currency a deal can be in: left out, listed.
    assert len(daily.rows) == 31 and daily.skipped_currencies == ["HRK"]


def test_bad_rates_file_names_the_line_and_column() -> None:
    with pytest.raises(BadRatesFile, match=r"line 3, column 3 \(JPY\)"):
        read_ecb_csv("Date,USD,JPY\n2025-04-25,1.1,160\n2025-04-24,1.1,-3\n")
    with pytest.raises(BadRatesFile, match="line 2: '31/12/2025' is not a date"):
        read_ecb_csv("Date,USD\n31/12/2025,1.1\n")
    with pytest.raises(BadRatesFile, match="not 'Date'"):
        read_ecb_csv("Name,Email\nJo,jo@example.com\n")


def test_conversion_takes_the_latest_rate_on_or_before_the_day() -> None:
    table = _table()
    # Easter Sunday 2025-04-20: no fixing 18-21 April, so Thursday the 17th's rates.
    # 1000 USD -> GBP through EUR: 1000 / 1.136 * 0.85873 = 755.9243 -> 755.92 GBP.
    c = table.convert(100_000, "USD", "GBP", date(2025, 4, 20))
    assert c.converted_minor == 75_592 and c.rate_day == date(2025, 4, 17)
    # 1000 USD -> EUR on the 23rd: 1000 / 1.1415 = 876.0403 -> 876.04 EUR.
    assert table.convert(100_000, "USD", "EUR", date(2025, 4, 23)).converted_minor == 87_604
    # EUR -> JPY (no minor unit): 1234.56 * 162.8 = 200,986.368 -> 200,986 JPY.
    assert table.convert(123_456, "EUR", "JPY", date(2025, 4, 25)).converted_minor == 200_986
    # JPY -> EUR: 100,000 / 162.8 = 614.2506 -> 614.25 EUR.
    assert table.convert(100_000, "JPY", "EUR", date(2025, 4, 26)).converted_minor == 61_425
    # Half to even: 0.125 EUR at 1 -> 0.12; nothing later than the day is used.
    half = RateTable([Rate("EUR", "USD", date(2025, 1, 1), Decimal("0.5"))])
    assert half.convert(25, "USD", "EUR", date(2025, 1, 1)).converted_minor == 50
    assert half.convert(25, "EUR", "USD", date(2025, 1, 1)).converted_minor == 12
    with pytest.raises(NoRate, match="no USD→EUR rate on or before 2025-04-16"):
        table.convert(100, "USD", "EUR", date(2025, 4, 16))


def _deals(db: Path) -> None:
    assert crm(db, "rates", "import", str(HIST))[0] == 0
    deals = [("Berlin", "12,500.50 EUR", "2025-04-20"), ("Boston", "40,000 USD", "2025-04-23"),
             ("Bristol", "7,777.77 GBP", "2025-04-26"), ("Osaka", "1,000,000 JPY", "2025-04-24"),
             ("Austin", "999.99 USD", "2025-04-25"), ("Early", "10 USD", "2024-01-01")]  # fmt: skip
    for name, amount, close in deals:
        assert crm(db, "deal", "add", name, "--amount", amount, "--close", close)[0] == 0


def test_forecast_with_no_flags_shows_sections_and_a_converted_total(db_path: Path) -> None:
    open_store(db_path).close()
    _deals(db_path)
    Path(os.environ["CRMTUI_CONFIG"]).write_text('company_currency = "EUR"\n')
    code, out, err = crm(db_path, "forecast")
    assert code == 0, err
    assert "EUR (converted)" in out and "GBP" in out and "JPY" in out
    assert "not in the converted total: Early (no USD→EUR rate on or before 2024-01-01)" in err
    code, out, err = crm(db_path, "forecast", "--no-convert")
    assert code == 2 and "--currency" in err


def test_forecast_explain_lines_add_up_to_the_converted_total(db_path: Path) -> None:
    open_store(db_path).close()
    _deals(db_path)
    code, out, err = crm(db_path, "forecast", "--to", "EUR", "--explain", "--format", "json")
    assert code == 0, err
    converted = json.loads(out)["converted"]
    lines = converted["deals"]
    assert len(lines) == 5 and [u["name"] for u in converted["unconverted"]] == ["Early"]
    assert sum(x["converted_amount_minor"] for x in lines) == converted["amount_minor"]
    assert sum(x["converted_weighted_minor"] for x in lines) == converted["weighted_minor"]
    by_name = {x["name"]: x for x in lines}
    # Hand-computed: 40,000 USD on 2025-04-23 at 1.1415 = 35,041.61 EUR.
    assert by_name["Boston"]["converted_amount_minor"] == 3_504_161
    assert by_name["Boston"]["rates"] == "1 EUR = 1.1415 USD (2025-04-23)"
    # GBP on Saturday the 26th takes Friday's 0.8531: 7,777.77 / 0.8531 = 9,117.0672 -> 9,117.07 EUR.
    assert by_name["Bristol"]["rate_day"] == "2025-04-25"
    assert by_name["Bristol"]["converted_amount_minor"] == 911_707
    # The table's TOTAL row is the same sum.
    code, out, _ = crm(db_path, "forecast", "--to", "EUR", "--explain", "--format", "csv")
    rows = out.splitlines()[1:]
    total = sum(int(r.split(",")[6]) for r in rows)
    assert total == converted["amount_minor"]


def test_forecast_in_one_currency_keeps_its_shape(db_path: Path) -> None:
    open_store(db_path).close()
    crm(db_path, "deal", "add", "A", "--amount", "100 EUR")
    code, out, _ = crm(db_path, "forecast", "--format", "json")
    assert code == 0 and json.loads(out)["currency"] == "EUR"


def test_rates_import_refuses_a_bad_file_and_stores_nothing(db_path: Path, tmp_path: Path) -> None:
    open_store(db_path).close()
    bad = tmp_path / "rates.csv"
    bad.write_text("Date,USD\n2025-04-25,1.1\n2025-04-24,abc\n")
    code, _, err = crm(db_path, "rates", "import", str(bad))
    assert code == 2 and "line 3, column 2 (USD)" in err and "nothing was imported" in err
    code, out, _ = crm(db_path, "rates", "list", "--format", "json")
    assert json.loads(out) == []


def test_reimport_changes_only_revised_rates_and_journals_them(
    db_path: Path, tmp_path: Path
) -> None:
    open_store(db_path).close()
    assert crm(db_path, "rates", "import", str(HIST))[0] == 0
    revised = tmp_path / "revised.csv"
    revised.write_text(HIST.read_text().replace("2025-04-25,1.1357,", "2025-04-25,1.1358,"))
    code, _, err = crm(db_path, "rates", "import", str(revised))
    assert code == 0 and "0 rate(s) added, 1 changed, 149 unchanged" in err
    import sqlite3

    db = sqlite3.connect(db_path)
    ops = db.execute(
        "SELECT op, field, value FROM journal WHERE entity = 'exchange_rate' AND op = 'set'"
    ).fetchall()
    assert ("set", "rate", '"1.1358"') in ops
    code, out, _ = crm(
        db_path, "rates", "list", "--currency", "USD", "--on", "2025-04-26", "--format", "json"
    )
    assert json.loads(out)[0]["rate"] == "1.1358"
