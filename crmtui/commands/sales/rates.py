"""`crm rates import|list|convert`: dated exchange rates (reference data)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from crmtui.commands.common import DbOption, FormatOption, fail, input_file
from crmtui.commands.reading import now, read_db, user_zone
from crmtui.commands.writing import run_write

app = typer.Typer(help="Dated exchange rates: import a central bank's file, list, convert.")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date (YYYY-MM-DD)")


@app.command("import")
def import_rates(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The ECB's eurofxref CSV (daily or history).")],
    db: DbOption = None,
) -> None:
    """Import the ECB's euro reference rates (eurofxref.csv or eurofxref-hist.csv).

    Every rate is 1 EUR = x of a currency on a day; importing the same file again
    changes nothing, a revised rate is updated. One transaction: a bad cell (named by
    line and column) stores nothing. Exit codes: 0 ok, 2 unreadable file.
    """
    from crmtui.formats.ecb_rates import ECB_BASE, ECB_SOURCE, BadRatesFile, read_ecb_csv
    from crmtui.services.sales.exchange_rates import NewRate
    from crmtui.services.sales.exchange_rates import import_rates as store_rates

    source = input_file(path)
    try:
        parsed = read_ecb_csv(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); nothing was imported")
    except BadRatesFile as exc:
        fail(f"{path}: {exc}; nothing was imported")
    rates = [NewRate(ECB_BASE, r.quote, r.day, r.rate) for r in parsed.rows]
    result = run_write(ctx, db, lambda tx: store_rates(tx=tx, rates=rates, source=ECB_SOURCE))
    days = sorted({r.day for r in parsed.rows})
    span = f" from {days[0]} to {days[-1]}" if days else ""
    typer.echo(
        f"{result.added} rate(s) added, {result.changed} changed, {result.unchanged} "
        f"unchanged ({len(days)} day(s){span})",
        err=True,
    )
    if parsed.skipped_currencies:
        typer.echo(
            "left out (no longer ISO 4217 currencies): " + ", ".join(parsed.skipped_currencies),
            err=True,
        )


@app.command("list")
def list_rates(
    ctx: typer.Context,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Only rates quoting this currency.")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="The rate in force on this day (YYYY-MM-DD).")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List exchange rates, newest first; --on shows the one in force that day per pair."""
    from crmtui.output import write_records

    day = _day(on)
    where = ["deleted_at IS NULL"]
    args: list[Any] = []
    if currency is not None:
        where.append("(quote = ? OR base = ?)")
        args += [currency.upper(), currency.upper()]
    if day is not None:
        where.append("day <= ?")
        args.append(day.isoformat())
    sql = (
        "SELECT base, quote, day, rate, source FROM exchange_rate WHERE "
        + " AND ".join(where)
        + " ORDER BY day DESC, base, quote"
    )
    with read_db(ctx, db, fmt) as con:
        rows = con.execute(sql, args).fetchall()
    seen: set[tuple[str, str]] = set()
    records = []
    for base, quote, d, rate, src in rows:
        if day is not None:
            if (base, quote) in seen:
                continue
            seen.add((base, quote))
        records.append({"base": base, "quote": quote, "day": d, "rate": rate, "source": src})
    write_records(records, fmt, columns=("day", "base", "quote", "rate", "source"))


@app.command("convert")
def convert(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help='An amount with its currency: "1,000 USD".')],
    to: Annotated[str, typer.Option("--to", help="The currency to convert into.")],
    on: Annotated[str | None, typer.Option("--on", help="The day (default: today).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Convert an amount at the latest rate on or before a day, and say which rate.

    Exit codes: 0 ok, 1 no rate on or before the day, 2 bad amount or currency.
    """
    from crmtui.domain.exchange import NoRate
    from crmtui.domain.money import BadMoney, check_currency, format_money, parse_money
    from crmtui.output import write_records
    from crmtui.reports.converted_forecast import load_rates

    try:
        money = parse_money(amount, default_currency="EUR")
        target = check_currency(to)
    except BadMoney as exc:
        fail(str(exc))
    day = _day(on) or now().astimezone(user_zone()).date()
    with read_db(ctx, db, fmt) as con:
        table = load_rates(con, {money.currency, target})
    try:
        result = table.convert(money.minor, money.currency, target, day)
    except NoRate as exc:
        fail(str(exc), 1)
    record = {
        "amount": format_money(money.minor, money.currency) if fmt == "table" else money.minor,
        "currency": money.currency,
        "converted": format_money(result.converted_minor, target)
        if fmt == "table"
        else result.converted_minor,
        "to": target,
        "day": day.isoformat(),
        "rate_day": result.rate_day.isoformat() if result.rate_day else None,
        "rates": result.describe(),
    }
    write_records([record], fmt, columns=tuple(record))


def register(root: typer.Typer) -> None:
    """Add `crm rates` to the root app."""
    root.add_typer(app, name="rates")
