"""`crm product ...`, `crm price-list ...`, `crm tax-class ...`: the catalogue."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from crmtui.commands.common import EXIT_NOT_FOUND, DbOption, FormatOption, fail, input_file
from crmtui.commands.reading import now, read_db, user_zone
from crmtui.commands.writing import run_write

app = typer.Typer(help="Products: list, show, find, add, import from CSV, price.")
lists_app = typer.Typer(help="Price lists per currency: dated, per account or territory.")
tax_app = typer.Typer(help="Tax classes: rate and rounding rule.")

_PRODUCT_SQL = (
    "SELECT id, sku, name, description, unit, tax_class, active FROM product"
    " WHERE deleted_at IS NULL"
)
_PRODUCT_COLS = ("sku", "name", "unit", "tax_class", "active", "description", "id")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date (YYYY-MM-DD)")


def _product_record(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "sku": row[1],
        "name": row[2],
        "description": row[3],
        "unit": row[4],
        "tax_class": row[5],
        "active": bool(row[6]),
    }


def _read_text(path: Path) -> str:
    try:
        return input_file(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); nothing was imported")


@app.command("list")
def list_products(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Inactive products too.")] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List the products by SKU (active ones unless --all)."""
    from crmtui.output import write_records

    sql = _PRODUCT_SQL + ("" if all_ else " AND active") + " ORDER BY sku"
    with read_db(ctx, db, fmt) as con:
        rows = [_product_record(r) for r in con.execute(sql)]
    write_records(rows, fmt, columns=_PRODUCT_COLS)


@app.command("find")
def find_products(
    ctx: typer.Context,
    words: Annotated[str, typer.Argument(help="Words of the SKU, name or description.")],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Find products whose SKU, name or description hold every word. Exit 1 when none."""
    from crmtui.output import write_records

    terms = [w.lower() for w in words.split() if w]
    sql = _PRODUCT_SQL
    args: list[str] = []
    for term in terms:
        sql += " AND (lower(sku) LIKE ? OR lower(name) LIKE ? OR lower(coalesce(description, '')) LIKE ?)"
        args += [f"%{term}%"] * 3
    with read_db(ctx, db, fmt) as con:
        rows = [_product_record(r) for r in con.execute(sql + " ORDER BY sku LIMIT 200", args)]
    write_records(rows, fmt, columns=_PRODUCT_COLS)
    if not rows:
        raise typer.Exit(EXIT_NOT_FOUND)


@app.command("show")
def show_product(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="SKU or id.")],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """A product and its prices on every list (currency, validity, quantity breaks)."""
    import json

    from crmtui.domain.money import format_amount
    from crmtui.domain.pricing import format_quantity
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        row = con.execute(
            _PRODUCT_SQL + " AND (lower(sku) = ? OR id = ?)", (ref.lower(), ref)
        ).fetchone()
        if row is None:
            fail(f"no product {ref!r}", EXIT_NOT_FOUND)
        product = _product_record(row)
        prices = [
            {
                "price_list": r[0],
                "currency": r[1],
                "valid_from": r[2],
                "valid_to": r[3],
                "for": r[4] or r[5] or "everyone",
                "min_quantity": format_quantity(r[6]) if fmt == "table" else r[6],
                "price": format_amount(r[7], r[1]) if fmt == "table" else r[7],
            }
            for r in con.execute(
                "SELECT l.name, l.currency, l.valid_from, l.valid_to, a.name, t.name,"
                " p.min_quantity_milli, p.unit_price_minor FROM price p"
                " JOIN price_list l ON l.id = p.price_list_id AND l.deleted_at IS NULL"
                " LEFT JOIN account a ON a.id = l.account_id"
                " LEFT JOIN territory t ON t.id = l.territory_id"
                " WHERE p.product_id = ? AND p.deleted_at IS NULL"
                " ORDER BY l.currency, l.name, p.min_quantity_milli",
                (product["id"],),
            )
        ]
    if fmt == "json":
        typer.echo(json.dumps({**product, "prices": prices}, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        write_records(prices, fmt, columns=tuple(prices[0]) if prices else ("price_list",))
        return
    for key in ("sku", "name", "unit", "tax_class", "active", "description", "id"):
        typer.echo(f"{key:12} {product[key] if product[key] is not None else ''}")
    typer.echo("")
    cols = ("price_list", "currency", "valid_from", "valid_to", "for", "min_quantity", "price")
    write_records(prices, fmt, columns=cols)


@app.command("add")
def add_product(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The product's SKU (unique).")],
    name: Annotated[str, typer.Argument(help="Its name.")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    unit: Annotated[str, typer.Option("--unit", help="unit, hour, licence, kg ...")] = "unit",
    tax_class: Annotated[str, typer.Option("--tax-class")] = "standard",
    inactive: Annotated[bool, typer.Option("--inactive", help="Not offered any more.")] = False,
    db: DbOption = None,
) -> None:
    """Add a product, or change the one with this SKU."""
    from crmtui.services.sales.catalogue import ProductData, save_product

    data = ProductData(sku, name, description, unit, tax_class, not inactive)
    product, what = run_write(ctx, db, lambda tx: save_product(tx=tx, data=data))
    typer.echo(product.id)
    typer.echo(f"{what} product {product.sku}", err=True)


@app.command("import")
def import_products(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV: sku,name[,description,unit,tax_class,active]")],
    db: DbOption = None,
) -> None:
    """Import products from CSV: a new SKU is added, a known one updated; one transaction
    (a bad row, named by line, imports nothing). Exit codes: 0 ok, 2 bad file."""
    from crmtui.formats.catalogue_csv import BadCatalogueFile, read_products
    from crmtui.services.sales.catalogue import ProductData
    from crmtui.services.sales.catalogue import import_products as store

    try:
        parsed = read_products(_read_text(path))
    except BadCatalogueFile as exc:
        fail(f"{path}: {exc}; nothing was imported")
    rows = [
        (r.line, ProductData(r.sku, r.name, r.description, r.unit, r.tax_class, r.active))
        for r in parsed.rows
    ]
    result = run_write(ctx, db, lambda tx: store(tx=tx, rows=rows))
    typer.echo(
        f"{len(result.added)} product(s) added, {len(result.changed)} changed, "
        f"{len(result.unchanged)} unchanged",
        err=True,
    )
    if parsed.ignored_columns:
        typer.echo(f"columns not read: {', '.join(parsed.ignored_columns)}", err=True)


@app.command("price")
def product_price(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="SKU or id.")],
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
    quantity: Annotated[str, typer.Option("--quantity", "-q")] = "1",
    account: Annotated[str | None, typer.Option("--account", help="Account name or id.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Day (default today).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The price a customer gets on a day for a quantity, and the list it comes from.

    Exit codes: 0 ok, 1 no product, account or price, 2 bad option.
    """
    from crmtui.domain.money import BadMoney, check_currency, format_money
    from crmtui.domain.pricing import BadQuantity, parse_quantity
    from crmtui.output import write_records
    from crmtui.services.sales.price_lookup import price_for

    try:
        code = check_currency(currency)
        qty = parse_quantity(quantity)
    except (BadMoney, BadQuantity) as exc:
        fail(str(exc))
    day = _day(on) or now().astimezone(user_zone()).date()
    with read_db(ctx, db, fmt) as con:
        row = con.execute(
            _PRODUCT_SQL + " AND (lower(sku) = ? OR id = ?)", (ref.lower(), ref)
        ).fetchone()
        if row is None:
            fail(f"no product {ref!r}", EXIT_NOT_FOUND)
        account_id = None
        if account is not None:
            found = con.execute(
                "SELECT id FROM account WHERE deleted_at IS NULL AND (lower(name) = ? OR id LIKE ?)",
                (account.lower(), account.lower() + "%"),
            ).fetchall()
            if len(found) != 1:
                fail(
                    f"{'no' if not found else 'more than one'} account {account!r}", EXIT_NOT_FOUND
                )
            account_id = found[0][0]
        found_price = price_for(
            con,
            product_id=row[0],
            currency=code,
            day=day,
            quantity_milli=qty,
            account_id=account_id,
        )
    if found_price is None:
        fail(
            f"no {code} price for {row[1]} on {day} (no price list in force has it)", EXIT_NOT_FOUND
        )
    record = {
        "sku": row[1],
        "quantity": quantity,
        "day": day.isoformat(),
        "price": format_money(found_price.unit_price_minor, code)
        if fmt == "table"
        else found_price.unit_price_minor,
        "currency": code,
        "price_list": found_price.price_list.name,
        "why": found_price.reason,
    }
    write_records([record], fmt, columns=tuple(record))


@app.command("cross-sell")
def cross_sell(
    ctx: typer.Context,
    bought: Annotated[str, typer.Argument(help="SKU the accounts bought (a won deal's line).")],
    missing: Annotated[str, typer.Option("--not", help="SKU they have not bought.")],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Accounts that bought one product and not another (lines of won deals).

    Exit codes: 0 ok (also when no account matches), 1 unknown SKU.
    """
    from crmtui.output import write_records
    from crmtui.reports.cross_sell import bought_but_not

    with read_db(ctx, db, fmt) as con:
        ids = []
        for ref in (bought, missing):
            row = con.execute(
                _PRODUCT_SQL + " AND (lower(sku) = ? OR id = ?)", (ref.lower(), ref)
            ).fetchone()
            if row is None:
                fail(f"no product {ref!r}", EXIT_NOT_FOUND)
            ids.append(row[0])
        rows = bought_but_not(con, bought=ids[0], missing=ids[1])
    records = [
        {"account": r.account_name, "territory": r.territory, "last_won": r.last_won,
         "id": r.account_id}
        for r in rows
    ]  # fmt: skip
    write_records(records, fmt, columns=("account", "territory", "last_won", "id"))


def _account_id(con: Any, ref: str) -> tuple[str, str]:
    """An account by id, id prefix or name (any case); exit 1 when none or several."""
    rows = con.execute(
        "SELECT id, name FROM account WHERE deleted_at IS NULL AND (id LIKE ? OR lower(name) = ?)"
        " LIMIT 5",
        (ref.lower() + "%", ref.strip().lower()),
    ).fetchall()
    if len(rows) != 1:
        names = "; ".join(r[1] for r in rows)
        fail(f"no account {ref!r}" if not rows else f"{ref!r} matches several: {names}",
             EXIT_NOT_FOUND)  # fmt: skip
    return rows[0][0], rows[0][1]


@app.command("bought")
def bought(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account name or id.")],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The products an account bought (lines of its won deals), last won first.

    Exit codes: 0 ok (also when it bought nothing), 1 no such account (or several).
    """
    from crmtui.domain.pricing import format_quantity
    from crmtui.output import write_records
    from crmtui.reports.cross_sell import bought_by

    with read_db(ctx, db, fmt) as con:
        account_id, _ = _account_id(con, account)
        rows = bought_by(con, account_id)
    records = [
        {"sku": r.sku, "name": r.name,
         "quantity": format_quantity(r.quantity_milli) if fmt == "table" else r.quantity_milli,
         "deals": r.deals, "last_won": (r.last_won or "")[:10], "id": r.product_id}
        for r in rows
    ]  # fmt: skip
    write_records(records, fmt, columns=("sku", "name", "quantity", "deals", "last_won", "id"))


@app.command("suggest")
def suggest(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account name or id.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="At most this many.")] = 5,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """What similar accounts bought and this one has not (cross-sell), most bought first.

    Similar accounts bought at least one product this one bought (for an account
    that bought nothing yet: accounts of its industry). Exit codes: 0 ok, 1 no such
    account (or several).
    """
    from crmtui.output import write_records
    from crmtui.reports.cross_sell import similar_bought

    with read_db(ctx, db, fmt) as con:
        account_id, _ = _account_id(con, account)
        rows = similar_bought(con, account_id, limit=limit)
    records = [
        {"sku": r.sku, "name": r.name, "accounts": r.accounts, "of_similar": r.of,
         "id": r.product_id}
        for r in rows
    ]  # fmt: skip
    write_records(records, fmt, columns=("sku", "name", "accounts", "of_similar", "id"))


@lists_app.command("add")
def add_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The list's name (unique).")],
    currency: Annotated[str, typer.Option("--currency", help="ISO code, e.g. EUR.")],
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")
    ] = None,
    valid_to: Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only for this account.")] = None,
    territory: Annotated[
        str | None, typer.Option("--territory", help="Only for this territory and below.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a price list."""
    from crmtui.services.address_book.accounts import find_account_by_name
    from crmtui.services.sales.catalogue import add_price_list
    from crmtui.services.territories import find_territory
    from crmtui.store.models import Account
    from crmtui.store.resolve import get_live

    first, last = _day(valid_from), _day(valid_to)

    def action(tx: Any) -> Any:
        account_id = territory_id = None
        if account is not None:
            named = find_account_by_name(tx=tx, name=account)
            account_id = named.id if named is not None else get_live(tx, Account, account).id
        if territory is not None:
            territory_id = find_territory(tx, territory).id
        return add_price_list(
            tx=tx, name=name, currency=currency, valid_from=first, valid_to=last,
            account_id=account_id, territory_id=territory_id,
        )  # fmt: skip

    row = run_write(ctx, db, action)
    typer.echo(row.id)


@lists_app.command("list")
def list_lists(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """List the price lists with their currency, validity, customer and number of prices."""
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        rows = [
            {"name": r[0], "currency": r[1], "valid_from": r[2], "valid_to": r[3],
             "for": r[4] or r[5] or "everyone", "prices": r[6], "id": r[7]}
            for r in con.execute(
                "SELECT l.name, l.currency, l.valid_from, l.valid_to, a.name, t.name,"
                " (SELECT count(*) FROM price p WHERE p.price_list_id = l.id"
                "  AND p.deleted_at IS NULL), l.id FROM price_list l"
                " LEFT JOIN account a ON a.id = l.account_id"
                " LEFT JOIN territory t ON t.id = l.territory_id"
                " WHERE l.deleted_at IS NULL ORDER BY l.currency, l.name"
            )
        ]  # fmt: skip
    write_records(
        rows, fmt, columns=("name", "currency", "valid_from", "valid_to", "for", "prices", "id")
    )


@lists_app.command("import")
def import_prices(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The price list (name or id).")],
    path: Annotated[Path, typer.Argument(help="CSV: sku,price[,min_quantity]")],
    db: DbOption = None,
) -> None:
    """Import prices (and quantity breaks) into a list; one transaction, a bad row (named
    by line) or an unknown SKU imports nothing. Exit codes: 0 ok, 1 no list, 2 bad file."""
    from crmtui.domain.validate import InvalidInput
    from crmtui.formats.catalogue_csv import BadCatalogueFile, read_prices
    from crmtui.services.sales.catalogue import find_price_list, find_product, set_price
    from crmtui.store.resolve import NotFound

    text = _read_text(path)

    def action(tx: Any) -> dict[str, int]:
        price_list = find_price_list(tx, name)
        try:
            parsed = read_prices(text, price_list.currency)
        except BadCatalogueFile as exc:
            raise InvalidInput(str(path), f"{exc}") from exc
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        for r in parsed.rows:
            try:
                product = find_product(tx, r.sku)
            except NotFound as exc:
                raise InvalidInput(
                    f"{path} line {r.line}", f"no product with SKU {r.sku!r}"
                ) from exc
            _, what = set_price(
                tx=tx, price_list=price_list, product=product,
                min_quantity_milli=r.min_quantity_milli, unit_price_minor=r.unit_price_minor,
            )  # fmt: skip
            counts[what] += 1
        return counts

    counts = run_write(ctx, db, action)
    typer.echo(
        f"{counts['added']} price(s) added, {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged",
        err=True,
    )


@tax_app.command("set")
def set_tax(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="standard, reduced, zero ...")],
    rate: Annotated[str, typer.Argument(help="Percentage, e.g. 19 or 7.5")],
    rounding: Annotated[
        str, typer.Option("--rounding", help="line: round each line's tax; total: once per class.")
    ] = "line",
    db: DbOption = None,
) -> None:
    """Create a tax class or change its rate and rounding rule."""
    from crmtui.domain.lines import parse_percent_bp
    from crmtui.services.sales.catalogue import set_tax_class

    try:
        bp = parse_percent_bp(rate)
    except ValueError as exc:
        fail(str(exc))
    run_write(ctx, db, lambda tx: set_tax_class(tx=tx, code=code, rate_bp=bp, rounding=rounding))


@tax_app.command("list")
def list_tax(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """List tax classes."""
    from crmtui.domain.lines import format_percent
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        rows = [
            {
                "code": r[0],
                "rate": format_percent(r[1]) if fmt == "table" else r[1],
                "rounding": r[2],
            }
            for r in con.execute(
                "SELECT code, rate_bp, rounding FROM tax_class WHERE deleted_at IS NULL ORDER BY code"
            )
        ]
    write_records(rows, fmt, columns=("code", "rate", "rounding"))


def register(root: typer.Typer) -> None:
    """Add `crm product`, `crm price-list` and `crm tax-class` to the root app."""
    root.add_typer(app, name="product")
    root.add_typer(lists_app, name="price-list")
    root.add_typer(tax_app, name="tax-class")
