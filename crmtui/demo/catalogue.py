"""The demo's catalogue: tax classes, products, a list price per currency, exchange rates,
the discount approval threshold, and product lines on about half of the deals.

Everything here draws from its own random source (`Catalogue.rng`, seeded from the demo
seed), never the generator's: the contacts, accounts and deals of a seed, and the app's
snapshot tests built on them, stay exactly as they were. A deal's lines add up to the
amount the generator gave it (a fixed-price implementation line takes the rest), so no
deal's amount changes either.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from crmtui.domain.lines import LineValues, line_net
from crmtui.services.sales.approvals import POLICY_ID, POLICY_NAME
from crmtui.services.sales.exchange_rates import rate_id
from crmtui.store.types import format_timestamp

TAX_CLASSES = (("standard", "Standard rate", 1_900), ("reduced", "Reduced rate", 700))
PRODUCTS = (
    # sku, name, unit, tax class, EUR price (minor), kind
    ("CRM-PRO", "crmtui Pro licence, 1 year", "seat", "standard", 48_000, "licence"),
    ("CRM-ENT", "crmtui Enterprise licence, 1 year", "seat", "standard", 90_000, "licence"),
    ("SYNC-SRV", "Team sync server, 1 year", "unit", "standard", 240_000, "add-on"),
    ("SUP-PRE", "Premium support, 1 year", "unit", "standard", 150_000, "add-on"),
    ("TRN-DAY", "On-site training", "day", "standard", 120_000, "add-on"),
    ("DATA-MIG", "Data migration", "unit", "standard", 300_000, "add-on"),
    ("IMP-HR", "Implementation", "hour", "standard", 12_000, "service"),
    ("BOOK", "Field sales playbook (print)", "unit", "reduced", 2_990, "add-on"),
)
RATES = {"USD": Decimal("1.0850"), "GBP": Decimal("0.8550")}
"""Euro reference rates the demo's rates wander around (1 EUR = rate)."""
LIST_FACTOR = {"EUR": Decimal(1), "USD": Decimal("1.10"), "GBP": Decimal("0.86")}
"""List prices per currency from the euro price (rounded to whole units)."""
APPROVAL_THRESHOLD_BP = 1_500
LINES_SHARE = 0.5
"""About half of the demo's deals carry product lines."""
_NAMESPACE = uuid.UUID("8d2b8c1e-6c2f-4f7e-9d1a-3c5b7e9f0a12")

INSERT_LINE = (
    "INSERT INTO deal_line (id, deal_id, product_id, price_list_id, description,"
    " quantity_milli, unit_price_minor, discount_bp, tax_class, tax_rate_bp, tax_rounding,"
    " position, created_at, updated_at, deleted_at) VALUES"
    " (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 'line', ?, ?, ?, NULL)"
)


def _id(*parts: object) -> str:
    """A stable id for a catalogue record (same seed, same ids)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass(frozen=True)
class _Priced:
    product_id: str
    sku: str
    name: str
    tax_class: str
    tax_rate_bp: int
    kind: str
    price_minor: int
    price_list_id: str


@dataclass
class Catalogue:
    """The seeded catalogue and the deal lines made so far."""

    seed: int
    prices: dict[str, list[_Priced]] = field(default_factory=dict)
    lines: list[tuple[object, ...]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Its own source: the generator's sequence (and every row it makes) is untouched.
        self.rng = random.Random(self.seed * 7_919 + 18)

    def add_lines(self, deal_id: str, amount_minor: int, currency: str, at: datetime) -> None:
        """Lines for about half of the deals, adding up to `amount_minor` exactly."""
        rng = self.rng
        offer = self.prices.get(currency)
        if not offer or amount_minor <= 0 or rng.random() >= LINES_SHARE:
            return
        stamp = format_timestamp(at)
        chosen: list[tuple[_Priced, int]] = []
        left = amount_minor
        licences = [p for p in offer if p.kind == "licence"]
        licence = rng.choice(licences)
        seats = min(int(left * 0.6) // licence.price_minor, 200)
        if seats >= 1:
            chosen.append((licence, seats))
            left -= seats * licence.price_minor
        for extra in rng.sample([p for p in offer if p.kind == "add-on"], k=2):
            if extra.price_minor <= left // 2 and rng.random() < 0.6:
                chosen.append((extra, 1))
                left -= extra.price_minor
        service = next(p for p in offer if p.kind == "service")
        for position, (item, qty) in enumerate(chosen):
            value = LineValues(qty * 1_000, item.price_minor)
            self.lines.append((
                _id("line", deal_id, position), deal_id, item.product_id, item.price_list_id,
                item.name, qty * 1_000, item.price_minor, item.tax_class, item.tax_rate_bp,
                position, stamp, stamp,
            ))  # fmt: skip
            left += qty * item.price_minor - line_net(value)  # 0: whole units, no discount
        if left > 0:
            # The rest as a fixed-price implementation: the lines add up to the amount.
            self.lines.append((
                _id("line", deal_id, len(chosen)), deal_id, service.product_id, None,
                f"{service.name}, fixed price", 1_000, left, service.tax_class,
                service.tax_rate_bp, len(chosen), stamp, stamp,
            ))  # fmt: skip

    def flush(self, db: sqlite3.Connection) -> None:
        """Write the lines made so far."""
        if self.lines:
            db.executemany(INSERT_LINE, self.lines)
            self.counts["deal_lines"] = self.counts.get("deal_lines", 0) + len(self.lines)
            self.lines.clear()


def seed_catalogue(db: sqlite3.Connection, seed: int, base: datetime, now: datetime) -> Catalogue:
    """Tax classes, products, one list per currency, weekly rates and the threshold."""
    cat = Catalogue(seed)
    stamp = format_timestamp(base)
    rates = {code: rate for code, _, rate in TAX_CLASSES}
    db.executemany(
        "INSERT INTO tax_class (id, code, name, rate_bp, rounding, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'line', ?, ?)",
        [(_id("tax", code), code, name, rate, stamp, stamp) for code, name, rate in TAX_CLASSES],
    )
    db.executemany(
        "INSERT INTO product (id, sku, name, unit, tax_class, active, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        [(_id("product", p[0]), *p[:4], stamp, stamp) for p in PRODUCTS],
    )
    for currency, factor in LIST_FACTOR.items():
        list_id = _id("price_list", currency)
        db.execute(
            "INSERT INTO price_list (id, name, currency, valid_from, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (list_id, f"List prices {currency}", currency, base.date().isoformat(), stamp, stamp),
        )
        offer = []
        for sku, name, _unit, tax, eur, kind in PRODUCTS:
            # Whole units above 100, cents below (the playbook keeps its .90).
            price = int((Decimal(eur) * factor / (100 if eur >= 10_000 else 1)).quantize(1))
            price *= 100 if eur >= 10_000 else 1
            offer.append(
                _Priced(_id("product", sku), sku, name, tax, rates[tax], kind, price, list_id)
            )
            db.execute(
                "INSERT INTO price (id, price_list_id, product_id, min_quantity_milli,"
                " unit_price_minor, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
                (_id("price", currency, sku), list_id, _id("product", sku), price, stamp, stamp),
            )
        cat.prices[currency] = offer
    made = _seed_rates(db, cat.rng, base.date(), now.date(), stamp)
    db.execute(
        "INSERT INTO approval_policy (id, name, discount_threshold_bp, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (POLICY_ID, POLICY_NAME, APPROVAL_THRESHOLD_BP, stamp, stamp),
    )
    cat.counts.update(products=len(PRODUCTS), price_lists=len(LIST_FACTOR), exchange_rates=made)
    return cat


def _seed_rates(
    db: sqlite3.Connection, rng: random.Random, first: date, last: date, stamp: str
) -> int:
    """A euro rate for each other currency every Friday (a small random walk)."""
    rows = []
    day = first + timedelta(days=(4 - first.weekday()) % 7)
    level = dict(RATES)
    while day <= last:
        for code in sorted(level):
            level[code] = (level[code] * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(
                Decimal("0.0001")
            )
            rows.append(
                (rate_id("EUR", code, day), "EUR", code, day.isoformat(), str(level[code]),
                 "demo", stamp, stamp)
            )  # fmt: skip
        day += timedelta(days=7)
    db.executemany(
        "INSERT INTO exchange_rate (id, base, quote, day, rate, source, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)
