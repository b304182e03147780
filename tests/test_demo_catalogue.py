"""The demo's catalogue: products, a list per currency, rates and lines that add up to the
deals' amounts, so the forecast converts and a quote can be made on the demo database."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.demo.generator import seed_demo
from crmtui.domain.lines import LineValues, line_net

runner = CliRunner()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    seed_demo(path, contacts=400, seed=3, now=NOW)
    return path


def crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def test_lines_add_up_to_every_deal_amount(demo: Path) -> None:
    con = sqlite3.connect(demo)
    deals = dict(con.execute("SELECT id, amount_minor FROM deal").fetchall())
    sums: dict[str, int] = {}
    for deal_id, qty, price, discount in con.execute(
        "SELECT deal_id, quantity_milli, unit_price_minor, discount_bp FROM deal_line"
    ):
        sums[deal_id] = sums.get(deal_id, 0) + line_net(LineValues(qty, price, discount))
    assert 0.3 * len(deals) <= len(sums) <= 0.7 * len(deals)
    assert all(deals[d] == total for d, total in sums.items())
    # Every priced line is at its list's price for the deal's currency.
    wrong = con.execute(
        "SELECT count(*) FROM deal_line l JOIN deal d ON d.id = l.deal_id"
        " JOIN price_list pl ON pl.id = l.price_list_id"
        " JOIN price p ON p.price_list_id = pl.id AND p.product_id = l.product_id"
        " WHERE pl.currency != d.currency OR p.unit_price_minor != l.unit_price_minor"
    ).fetchone()[0]
    assert wrong == 0
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()


def test_forecast_converts_and_explains(demo: Path) -> None:
    code, out, err = crm(demo, "forecast", "--to", "EUR", "--format", "json")
    assert code == 0, err
    converted = json.loads(out)["converted"]
    assert converted["currency"] == "EUR" and not converted["unconverted"]
    assert converted["amount_minor"] > 0


def test_products_prices_and_a_quote(demo: Path, tmp_path: Path) -> None:
    code, out, _ = crm(demo, "product", "list", "--format", "json")
    assert code == 0 and {"CRM-PRO", "IMP-HR", "BOOK"} <= {p["sku"] for p in json.loads(out)}
    code, out, err = crm(
        demo, "product", "price", "CRM-PRO", "--currency", "USD", "--format", "json"
    )
    assert code == 0, err
    assert "528" in out
    con = sqlite3.connect(demo)
    deal_id = con.execute(
        "SELECT deal_id FROM deal_line l JOIN deal d ON d.id = l.deal_id"
        " WHERE d.status = 'open' ORDER BY deal_id LIMIT 1"
    ).fetchone()[0]
    con.close()
    code, out, err = crm(demo, "quote", "new", deal_id)
    assert code == 0, err
    code, out, err = crm(demo, "deal", "approval-threshold", "--format", "json")
    assert json.loads(out) == {"discount_threshold_bp": 1_500}
