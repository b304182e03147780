"""`crm deal line add|list|rm|use-sum`: a deal's product lines."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmtui.commands.common import EXIT_NOT_FOUND, DbOption, FormatOption, fail
from crmtui.commands.reading import now, read_db, user_zone
from crmtui.commands.writing import run_write

app = typer.Typer(
    help="A deal's lines: product, quantity, price, discount, tax.", no_args_is_help=True
)

DealArg = Annotated[str, typer.Argument(help="Deal id (or a unique prefix).")]


@app.command("add")
def add(
    ctx: typer.Context,
    deal: DealArg,
    product: Annotated[
        str | None, typer.Argument(help="Product SKU or id (none: free text).")
    ] = None,
    quantity: Annotated[str, typer.Option("--quantity", "-q", help="1, 2.5 ...")] = "1",
    price: Annotated[
        str | None, typer.Option("--price", help="Unit price (default: from the price list).")
    ] = None,
    discount: Annotated[str, typer.Option("--discount", help="Percent off, e.g. 10.")] = "0",
    description: Annotated[str | None, typer.Option("--description")] = None,
    tax_class: Annotated[str | None, typer.Option("--tax-class")] = None,
    db: DbOption = None,
) -> None:
    """Add a line; its unit price comes from the price list in force on the deal's
    expected close (today when unset) for the deal's account, currency and quantity.

    Exit codes: 0 ok, 1 no such deal or product, 2 bad value or no price.
    """
    from crmtui.domain.lines import parse_percent_bp
    from crmtui.domain.money import BadMoney, parse_money
    from crmtui.domain.pricing import BadQuantity, parse_quantity
    from crmtui.services.sales.deal_lines import LineInput, add_line
    from crmtui.store.models import Deal
    from crmtui.store.resolve import get_live

    try:
        qty = parse_quantity(quantity)
        discount_bp = parse_percent_bp(discount)
    except (BadQuantity, ValueError) as exc:
        fail(str(exc))
    today = now().astimezone(user_zone()).date()

    def action(tx: Any) -> Any:
        unit_price = None
        if price is not None:
            currency = get_live(tx, Deal, deal).currency
            try:
                money = parse_money(price, default_currency=currency)
            except BadMoney as exc:
                fail(f"invalid price: {exc}")
            if money.currency != currency:
                fail(f"the deal is in {currency}; the price is in {money.currency}")
            unit_price = money.minor
        data = LineInput(deal, product, qty, description, unit_price, discount_bp, tax_class)
        return add_line(tx=tx, data=data, today=today)

    line, source = run_write(ctx, db, action)
    typer.echo(line.id)
    typer.echo(f"line added (price: {source})", err=True)


@app.command("list")
def list_lines(
    ctx: typer.Context, deal: DealArg, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """A deal's lines with net, tax per class and totals; says when a typed amount overrides them."""
    import json

    from crmtui.domain.lines import LineValues, format_percent, line_net, totals
    from crmtui.domain.money import format_amount
    from crmtui.domain.pricing import format_quantity
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        found = con.execute(
            "SELECT id, name, currency, amount_minor, amount_override FROM deal"
            " WHERE deleted_at IS NULL AND id LIKE ?",
            (deal.lower() + "%",),
        ).fetchall()
        if len(found) != 1:
            fail(f"{'no' if not found else 'more than one'} deal {deal!r}", EXIT_NOT_FOUND)
        deal_id, name, currency, amount, override = found[0]
        rows = con.execute(
            "SELECT l.id, p.sku, l.description, l.quantity_milli, l.unit_price_minor,"
            " l.discount_bp, l.tax_class, l.tax_rate_bp, l.tax_rounding FROM deal_line l"
            " LEFT JOIN product p ON p.id = l.product_id"
            " WHERE l.deal_id = ? AND l.deleted_at IS NULL ORDER BY l.position, l.id",
            (deal_id,),
        ).fetchall()
    values = [LineValues(r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]
    sums = totals(values)
    table = fmt == "table"

    def money(minor: int) -> Any:
        return format_amount(minor, currency) if table else minor

    records = [
        {
            "sku": r[1] or "",
            "description": r[2],
            "quantity": format_quantity(r[3]) if table else r[3],
            "unit_price": money(r[4]),
            "discount": format_percent(r[5]) if table else r[5],
            "tax": f"{r[6] or ''} {format_percent(r[7])}".strip() if table else r[7],
            "net": money(line_net(v)),
            "id": r[0],
        }
        for r, v in zip(rows, values, strict=True)
    ]
    if fmt == "json":
        payload = {
            "deal": deal_id,
            "name": name,
            "currency": currency,
            "amount_minor": amount,
            "amount_override": bool(override),
            "lines": records,
            "net_minor": sums.net_minor,
            "taxes": [
                {"tax_class": t.tax_class, "rate_bp": t.rate_bp, "rounding": t.rounding,
                 "net_minor": t.net_minor, "tax_minor": t.tax_minor}
                for t in sums.taxes
            ],
            "gross_minor": sums.gross_minor,
        }  # fmt: skip
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    cols = ("sku", "description", "quantity", "unit_price", "discount", "tax", "net", "id")
    write_records(records, fmt, columns=cols)
    if table:
        typer.echo(f"net {format_amount(sums.net_minor, currency)} {currency}", err=True)
        for t in sums.taxes:
            typer.echo(
                f"tax {t.tax_class or '-'} {format_percent(t.rate_bp)} (rounded per {t.rounding})"
                f" {format_amount(t.tax_minor, currency)}",
                err=True,
            )
        typer.echo(f"gross {format_amount(sums.gross_minor, currency)} {currency}", err=True)
        if override:
            typer.echo(
                f"deal amount {format_amount(amount or 0, currency)} {currency} is typed over the "
                "lines' sum (override; `crm deal line use-sum` drops it)",
                err=True,
            )


@app.command("rm")
def remove(
    ctx: typer.Context,
    line: Annotated[str, typer.Argument(help="Line id (or a unique prefix).")],
    db: DbOption = None,
) -> None:
    """Remove a line; the deal's amount follows its lines."""
    from crmtui.services.sales.deal_lines import remove_line

    removed = run_write(ctx, db, lambda tx: remove_line(tx=tx, line_ref=line))
    typer.echo(f"removed line {removed.description}", err=True)


@app.command("use-sum")
def use_sum(ctx: typer.Context, deal: DealArg, db: DbOption = None) -> None:
    """Drop a typed amount: the deal's amount is the sum of its lines again."""
    from crmtui.services.sales.deal_lines import use_lines_sum

    run_write(ctx, db, lambda tx: use_lines_sum(tx=tx, deal_ref=deal))


def register(deal_app: typer.Typer) -> None:
    """Add `crm deal line` under `crm deal`."""
    deal_app.add_typer(app, name="line")
