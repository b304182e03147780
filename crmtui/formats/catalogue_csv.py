"""Product and price CSV files: read, checked cell by cell, every problem named by line.

Products: a header with `sku` and `name` (required), and optionally `description`,
`unit`, `tax_class`, `active` (yes/no, true/false, 1/0). Prices: `sku`, `price` (an
amount in the list's currency, "1,250.00") and optionally `min_quantity` (a
quantity break, default 0). Header names are matched without case; unknown columns
are listed, not guessed at.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from crmtui.domain.money import BadMoney, parse_money
from crmtui.domain.pricing import BadQuantity, parse_quantity

PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "tax_class", "active")
PRICE_COLUMNS = ("sku", "price", "min_quantity")
_TRUE = {"yes", "true", "1", "y", "active"}
_FALSE = {"no", "false", "0", "n", "inactive"}


class BadCatalogueFile(ValueError):
    """A file that cannot be imported; the message names the line and column."""


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One product line of a file."""

    line: int
    sku: str
    name: str
    description: str | None
    unit: str
    tax_class: str
    active: bool


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One price line of a file."""

    line: int
    sku: str
    unit_price_minor: int
    min_quantity_milli: int


T = TypeVar("T")


@dataclass
class Read(Generic[T]):
    """The rows of a file and the columns it had that are not read."""

    rows: list[T] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _records(
    text: str, known: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The file's rows as (line, {column: cell}) and the columns not in `known`."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), dialect)
    header = next(reader, None)
    if header is None:
        raise BadCatalogueFile("the file is empty")
    names = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [r for r in required if r not in names]
    if missing:
        raise BadCatalogueFile(f"line 1: no column {', '.join(missing)} (found {', '.join(names)})")
    ignored = [h for h in names if h not in known]
    records = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            raise BadCatalogueFile(
                f"line {number}: {len(cells)} cells, the header has {len(names)}"
            )
        records.append((number, dict(zip(names, [c.strip() for c in cells], strict=False))))
    return records, ignored


def read_products(text: str) -> Read[ProductRow]:
    """Products from a CSV's text."""
    records, ignored = _records(text, PRODUCT_COLUMNS, ("sku", "name"))
    out: Read[ProductRow] = Read(ignored_columns=ignored)
    for number, rec in records:
        active_text = (rec.get("active") or "yes").lower()
        if active_text not in _TRUE | _FALSE:
            raise BadCatalogueFile(f"line {number}, active: {rec['active']!r} is not yes or no")
        for required in ("sku", "name"):
            if not rec.get(required):
                raise BadCatalogueFile(f"line {number}, {required}: empty")
        out.rows.append(
            ProductRow(
                number,
                rec["sku"],
                rec["name"],
                rec.get("description") or None,
                rec.get("unit") or "unit",
                rec.get("tax_class") or "standard",
                active_text in _TRUE,
            )
        )
    return out


def read_prices(text: str, currency: str) -> Read[PriceRow]:
    """Prices in `currency` from a CSV's text."""
    records, ignored = _records(text, PRICE_COLUMNS, ("sku", "price"))
    out: Read[PriceRow] = Read(ignored_columns=ignored)
    for number, rec in records:
        try:
            money = parse_money(rec.get("price", ""), default_currency=currency)
        except BadMoney as exc:
            raise BadCatalogueFile(f"line {number}, price: {exc}") from exc
        if money.currency != currency:
            raise BadCatalogueFile(
                f"line {number}, price: {money.currency} on a {currency} price list"
            )
        qty_text = rec.get("min_quantity") or ""
        try:
            qty = parse_quantity(qty_text) if qty_text and qty_text != "0" else 0
        except BadQuantity as exc:
            raise BadCatalogueFile(f"line {number}, min_quantity: {exc}") from exc
        if not rec.get("sku"):
            raise BadCatalogueFile(f"line {number}, sku: empty")
        out.rows.append(PriceRow(number, rec["sku"], money.minor, qty))
    return out
