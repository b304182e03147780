"""Writing the catalogue (reference data): tax classes, products, price lists and prices.

On a laptop these make a local catalogue that works without a server; at sync the
server takes them only from an admin (`crmtui.sync.fields.REFERENCE`), like plans
and pipelines. Products are found by SKU (case-insensitive); an import updates a
product with the same SKU rather than adding a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from crmtui.domain.money import BadMoney, check_currency
from crmtui.domain.validate import InvalidInput, require_text
from crmtui.store.journal import WriteTx
from crmtui.store.models import TAX_ROUNDINGS, Price, PriceList, Product, TaxClass
from crmtui.store.resolve import get_live


def find_product(tx: WriteTx, ref: str) -> Product:
    """A live product by SKU (any case), or by id or id prefix."""
    row = tx.session.exec(
        select(Product).where(
            func.lower(Product.sku) == ref.strip().lower(), col(Product.deleted_at).is_(None)
        )
    ).first()
    return row if row is not None else get_live(tx, Product, ref)


def find_price_list(tx: WriteTx, ref: str) -> PriceList:
    """A live price list by name (any case), or by id or id prefix."""
    row = tx.session.exec(
        select(PriceList).where(
            func.lower(PriceList.name) == ref.strip().lower(), col(PriceList.deleted_at).is_(None)
        )
    ).first()
    return row if row is not None else get_live(tx, PriceList, ref)


def set_tax_class(*, tx: WriteTx, code: str, rate_bp: int, rounding: str = "line") -> TaxClass:
    """Create a tax class or change its rate and rounding."""
    code = require_text(code, "tax class", max_len=40).lower()
    if rounding not in TAX_ROUNDINGS:
        raise InvalidInput("rounding", f"must be one of {', '.join(TAX_ROUNDINGS)}")
    if not 0 <= rate_bp <= 10_000:
        raise InvalidInput("rate", "must be between 0% and 100%")
    row = tax_class(tx, code)
    if row is None:
        row = TaxClass(code=code, rate_bp=rate_bp, rounding=rounding)
        tx.add(row)
    else:
        tx.update(row, {"rate_bp": rate_bp, "rounding": rounding})
    return row


def tax_class(tx: WriteTx, code: str) -> TaxClass | None:
    """The live tax class with this code, if any."""
    return tx.session.exec(
        select(TaxClass).where(TaxClass.code == code.lower(), col(TaxClass.deleted_at).is_(None))
    ).first()


@dataclass(frozen=True)
class ProductData:
    """A product as typed or imported."""

    sku: str
    name: str
    description: str | None = None
    unit: str = "unit"
    tax_class: str = "standard"
    active: bool = True


def _checked(data: ProductData) -> dict[str, Any]:
    return {
        "sku": require_text(data.sku, "sku", max_len=64),
        "name": require_text(data.name, "name", max_len=200),
        "description": (data.description or "").strip()[:2000] or None,
        "unit": require_text(data.unit or "unit", "unit", max_len=20),
        "tax_class": require_text(data.tax_class or "standard", "tax class", max_len=40).lower(),
        "active": bool(data.active),
    }


def save_product(*, tx: WriteTx, data: ProductData) -> tuple[Product, str]:
    """Add a product, or update the one with the same SKU; says "added", "changed" or
    "unchanged"."""
    values = _checked(data)
    existing = tx.session.exec(
        select(Product).where(
            func.lower(Product.sku) == values["sku"].lower(), col(Product.deleted_at).is_(None)
        )
    ).first()
    if existing is None:
        product = Product(**values)
        tx.add(product)
        return product, "added"
    changed = tx.update(existing, values)
    return existing, "changed" if changed else "unchanged"


@dataclass
class ProductImport:
    """What a product import did, per SKU."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_products(*, tx: WriteTx, rows: list[tuple[int, ProductData]]) -> ProductImport:
    """Save every product of a file (line number, data); a bad row stops the whole import."""
    out = ProductImport()
    seen: dict[str, int] = {}
    for line, data in rows:
        key = data.sku.strip().lower()
        if key in seen:
            raise InvalidInput(f"line {line}", f"SKU {data.sku!r} is on line {seen[key]} too")
        seen[key] = line
        try:
            product, what = save_product(tx=tx, data=data)
        except InvalidInput as exc:
            raise InvalidInput(f"line {line} {exc.field}", exc.message) from exc
        getattr(out, what).append(product.sku)
    return out


def add_price_list(
    *,
    tx: WriteTx,
    name: str,
    currency: str,
    valid_from: date | None,
    valid_to: date | None,
    account_id: str | None = None,
    territory_id: str | None = None,
) -> PriceList:
    """A new price list in one currency, valid between two dates, for everyone, one account
    or one territory."""
    name = require_text(name, "name", max_len=80)
    try:
        code = check_currency(currency)
    except BadMoney as exc:
        raise InvalidInput("currency", str(exc)) from exc
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInput("valid to", f"{valid_to} is before {valid_from}")
    if account_id and territory_id:
        raise InvalidInput("price list", "is for an account or a territory, not both")
    clash = tx.session.exec(
        select(PriceList).where(
            func.lower(PriceList.name) == name.lower(), col(PriceList.deleted_at).is_(None)
        )
    ).first()
    if clash is not None:
        raise InvalidInput("name", f"a price list named {clash.name!r} exists already")
    row = PriceList(
        name=name,
        currency=code,
        valid_from=valid_from,
        valid_to=valid_to,
        account_id=account_id,
        territory_id=territory_id,
    )
    tx.add(row)
    return row


def set_price(
    *,
    tx: WriteTx,
    price_list: PriceList,
    product: Product,
    min_quantity_milli: int,
    unit_price_minor: int,
) -> tuple[Price, str]:
    """Set a product's price on a list from a quantity on (a break); "added", "changed" or
    "unchanged"."""
    if unit_price_minor < 0:
        raise InvalidInput("price", "must not be negative")
    if min_quantity_milli < 0:
        raise InvalidInput("quantity", "must not be negative")
    row = tx.session.exec(
        select(Price).where(
            Price.price_list_id == price_list.id,
            Price.product_id == product.id,
            Price.min_quantity_milli == min_quantity_milli,
            col(Price.deleted_at).is_(None),
        )
    ).first()
    if row is None:
        row = Price(
            price_list_id=price_list.id,
            product_id=product.id,
            min_quantity_milli=min_quantity_milli,
            unit_price_minor=unit_price_minor,
        )
        tx.add(row)
        return row, "added"
    changed = tx.update(row, {"unit_price_minor": unit_price_minor})
    return row, "changed" if changed else "unchanged"
