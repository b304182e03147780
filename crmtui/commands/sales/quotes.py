"""`crm quote new|list|show|pdf|send-status`: numbered quotes made offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import DbOption, FormatOption, fail
from crmtui.commands.reading import now, user_zone
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.formats.quote_pdf import QuoteDocument
    from crmtui.store.models import Quote, QuoteLine

EXIT_REFUSED = 4
"""`send-status sent` of a quote whose discounts a manager has not approved (README)."""
app = typer.Typer(help="Quotes: numbered on the laptop, versioned, PDF.", no_args_is_help=True)
QuoteArg = Annotated[str, typer.Argument(help='Quote number ("Q-7KX2AB-0001", "... v2") or id.')]


def _today() -> Any:
    return now().astimezone(user_zone()).date()


def _record(quote: Quote, lines: list[QuoteLine], today: Any, *, table: bool) -> dict[str, Any]:
    from crmtui.domain.lines import format_percent
    from crmtui.domain.money import format_amount
    from crmtui.domain.pricing import format_quantity
    from crmtui.services.sales.quotes import effective_status

    def money(minor: int) -> Any:
        return format_amount(minor, quote.currency) if table else minor

    return {
        "number": quote.number,
        "version": quote.version,
        "status": effective_status(quote.status, quote.valid_until, today),
        "deal": quote.deal_id,
        "customer": quote.customer_name,
        "currency": quote.currency,
        "valid_until": quote.valid_until.isoformat(),
        "net": money(quote.net_minor),
        "tax": money(quote.tax_minor),
        "gross": money(quote.gross_minor),
        "terms": quote.terms,
        "id": quote.id,
        "lines": [
            {
                "sku": x.sku,
                "description": x.description,
                "quantity": format_quantity(x.quantity_milli) if table else x.quantity_milli,
                "unit_price": money(x.unit_price_minor),
                "discount": format_percent(x.discount_bp) if table else x.discount_bp,
                "tax_class": x.tax_class,
                "tax_rate": format_percent(x.tax_rate_bp) if table else x.tax_rate_bp,
                "net": money(x.net_minor),
            }
            for x in lines
        ],
    }


@app.command("new")
def new(
    ctx: typer.Context,
    deal: Annotated[str, typer.Argument(help="Deal id (or a unique prefix).")],
    valid_days: Annotated[int, typer.Option("--valid-days", help="Valid for this many days.")] = 30,
    terms: Annotated[
        str | None, typer.Option("--terms", help="Payment and delivery terms.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Snapshot the deal's lines into a quote (a new version when the deal has one).

    The number is made on this laptop (no server needed) and printed on stdout.
    """
    from crmtui.services.sales.quotes import QuoteInput, new_quote

    today = _today()
    data = QuoteInput(deal, valid_days, terms)
    quote = run_write(ctx, db, lambda tx: new_quote(tx=tx, data=data, today=today))
    typer.echo(f"{quote.number} v{quote.version}")
    typer.echo(f"quote valid until {quote.valid_until} (draft)", err=True)


def _read(ctx: typer.Context, db: Path | None, ref: str) -> tuple[Quote, list[QuoteLine]]:
    from crmtui.commands.common import EXIT_NOT_FOUND, open_db
    from crmtui.services.sales.quotes import find_quote, quote_lines
    from crmtui.store.resolve import NotFound

    store = open_db(ctx, db, "read")
    try:
        with store.read() as session:
            quote = find_quote(session, ref)
            lines = quote_lines(session, quote.id)
            session.expunge_all()  # read after the session closes
            return quote, lines
    except NotFound as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    finally:
        store.close()


@app.command("show")
def show(
    ctx: typer.Context, quote: QuoteArg, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """A quote: number, version, status, validity, customer, lines and totals."""
    import json

    from crmtui.commands.common import check_format
    from crmtui.output import write_records

    check_format(fmt)
    row, lines = _read(ctx, db, quote)
    record = _record(row, lines, _today(), table=fmt == "table")
    if fmt == "json":
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        write_records(record["lines"], fmt, columns=tuple(record["lines"][0]))
        return
    for key in ("number", "version", "status", "customer", "valid_until", "net", "tax", "gross",
                "currency", "terms", "deal", "id"):  # fmt: skip
        typer.echo(f"{key:12} {record[key] if record[key] is not None else ''}")
    typer.echo("")
    write_records(record["lines"], fmt, columns=tuple(record["lines"][0]))


@app.command("list")
def list_quotes(
    ctx: typer.Context,
    deal: Annotated[str | None, typer.Option("--deal", help="Only this deal's quotes.")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List quotes, newest first."""
    import sqlite3

    from crmtui.commands.reading import read_db
    from crmtui.output import write_records

    today = _today()
    with read_db(ctx, db, fmt) as con:
        con.row_factory = sqlite3.Row
        sql = "SELECT * FROM quote WHERE deleted_at IS NULL"
        args: list[str] = []
        if deal is not None:
            sql += " AND deal_id LIKE ?"
            args.append(deal.lower() + "%")
        rows = con.execute(sql + " ORDER BY created_at DESC", args).fetchall()
    from datetime import date

    from crmtui.domain.money import format_amount
    from crmtui.services.sales.quotes import effective_status

    out = []
    for r in rows:
        valid_until = date.fromisoformat(r["valid_until"])
        out.append(
            {
                "number": r["number"], "version": r["version"],
                "status": effective_status(r["status"], valid_until, today), "customer": r["customer_name"],
                "valid_until": r["valid_until"],
                "gross": format_amount(r["gross_minor"], r["currency"]) if fmt == "table" else r["gross_minor"],
                "currency": r["currency"], "id": r["id"],
            }
        )  # fmt: skip
    cols = ("number", "version", "status", "customer", "valid_until", "gross", "currency", "id")
    write_records(out, fmt, columns=cols)


def quote_document(quote: Quote, lines: list[QuoteLine], *, company_name: str | None,
                   company_address: str | None, language: str | None = None,
                   logo: Path | None = None) -> QuoteDocument:  # fmt: skip
    """The printable form of a quote: amounts formatted, tax per class, totals, labels in
    `language` (English when it has no label set)."""
    from crmtui.domain.lines import LineValues, format_percent, totals
    from crmtui.domain.money import format_amount
    from crmtui.domain.pricing import format_quantity
    from crmtui.formats.quote_labels import labels_for
    from crmtui.formats.quote_pdf import SYMBOLS, QuoteDocument, QuoteLineText

    _, labels = labels_for(language)

    symbol = SYMBOLS.get(quote.currency, quote.currency)

    def money(minor: int) -> str:
        return f"{format_amount(minor, quote.currency)} {symbol}"

    sums = totals(
        LineValues(x.quantity_milli, x.unit_price_minor, x.discount_bp, x.tax_class,
                   x.tax_rate_bp, x.tax_rounding)
        for x in lines
    )  # fmt: skip
    rows = [(labels["net"], money(sums.net_minor))]
    rows += [(f"{labels['tax']} {t.tax_class or ''} {format_percent(t.rate_bp)}".replace("  ", " "),
              money(t.tax_minor)) for t in sums.taxes if t.rate_bp]  # fmt: skip
    rows.append((f"{labels['total']} {quote.currency}", money(sums.gross_minor)))
    return QuoteDocument(
        title=labels["quote"],
        number=f"{quote.number} v{quote.version}",
        issued=quote.created_at.date().isoformat(),
        valid_until=quote.valid_until.isoformat(),
        company_name=company_name or "",
        company_address=company_address or "",
        customer_name=quote.customer_name or "",
        customer_address=quote.customer_address or "",
        lines=[
            QuoteLineText(
                x.sku or "",
                x.description,
                format_quantity(x.quantity_milli)
                + (f" {x.unit}" if x.unit and x.unit != "unit" else ""),
                money(x.unit_price_minor),
                format_percent(x.discount_bp) if x.discount_bp else "",
                f"{x.tax_class or ''} {format_percent(x.tax_rate_bp)}".strip(),
                money(x.net_minor),
            )
            for x in lines
        ],
        totals=rows,
        terms=quote.terms or "",
        labels=dict(labels),
        logo=logo,
    )


def _customer_keys(ctx: typer.Context, db: Path | None, deal_id: str) -> tuple[list, list]:
    """What the config may name the quote's customer by: the deal's contact (id, name,
    emails) and account (id, name)."""
    from crmtui.commands.reading import read_db

    with read_db(ctx, db, "table") as con:
        row = con.execute(
            "SELECT c.id, c.name, a.id, a.name FROM deal d LEFT JOIN contact c ON c.id = d.contact_id"
            " LEFT JOIN account a ON a.id = d.account_id WHERE d.id = ?",
            (deal_id,),
        ).fetchone() or (None, None, None, None)
        emails = [
            r[0]
            for r in con.execute(
                "SELECT address FROM contact_email WHERE contact_id = ? AND deleted_at IS NULL",
                (row[0],),
            )
        ]
    return [row[0], row[1], *emails], [row[2], row[3]]


@app.command("pdf")
def pdf(
    ctx: typer.Context,
    quote: QuoteArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: NUMBER-vN.pdf here).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the quote as a PDF, made on this laptop with embedded fonts.

    A character no configured font can draw (e.g. a CJK name without a CJK font) is
    reported and nothing is written. Labels are in the customer's language
    (`quote_languages`, `quote_language` in the config; en, de, fr, cs, else English);
    `quote_logo` (a PNG or JPEG) is printed at the top. Exit codes: 0 ok, 1 no such
    quote, 2 missing glyphs or font, a logo that is missing or no image, or the file
    cannot be written.
    """
    from crmtui.formats.quote_labels import customer_language, labels_for
    from crmtui.formats.quote_pdf import (
        DROID_FALLBACK,
        FontMissing,
        LogoError,
        MissingGlyphs,
        render,
    )

    settings = settings_or_exit()
    row, lines = _read(ctx, db, quote)
    contact_keys, account_keys = _customer_keys(ctx, db, row.deal_id)
    language = customer_language(dict(settings.quote_languages), settings.quote_language,
                                 contact=contact_keys, account=account_keys)  # fmt: skip
    used, _ = labels_for(language)
    if language and used != language.strip().lower().split("-")[0]:
        typer.echo(f"no quote labels in {language!r}: English used (en, de, fr, cs)", err=True)
    logo = Path(settings.quote_logo).expanduser() if settings.quote_logo else None
    doc = quote_document(row, lines, company_name=settings.company_name,
                         company_address=settings.company_address, language=language,
                         logo=logo)  # fmt: skip
    if settings.quote_fallback_fonts is not None:
        fallbacks = [Path(p).expanduser() for p in settings.quote_fallback_fonts]
    else:
        fallbacks = [DROID_FALLBACK] if DROID_FALLBACK.is_file() else []
    try:
        data = render(doc, fallbacks=fallbacks)
    except (MissingGlyphs, FontMissing, LogoError) as exc:
        fail(f"{row.number} v{row.version}: {exc}; no PDF was written")
    target = output or Path(f"{row.number}-v{row.version}.pdf")
    try:
        target.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}")
    typer.echo(str(target))


@app.command("send-status")
def send_status(
    ctx: typer.Context,
    quote: QuoteArg,
    status: Annotated[str, typer.Argument(help="sent, accepted, declined or expired.")],
    win: Annotated[
        bool, typer.Option("--win/--no-win", help="Accepting wins the deal (default: yes).")
    ] = True,
    db: DbOption = None,
) -> None:
    """Record what happened to a quote: sent, then accepted or declined (or expired).

    Exit codes: 0 ok, 1 no such quote, 2 a status that cannot follow the current one,
    4 refused: the quote's discounts wait for a manager's approval (or were refused).
    """
    from crmtui.services.sales.approvals import NeedsApproval
    from crmtui.services.sales.quotes import set_status

    today = _today()
    try:
        row = run_write(
            ctx,
            db,
            lambda tx: set_status(tx=tx, quote_ref=quote, status=status, today=today, win=win),
        )
    except NeedsApproval as exc:
        fail(f"{exc.message} (nothing was saved)", EXIT_REFUSED)
    note = " (deal won)" if status == "accepted" and win else ""
    typer.echo(f"{row.number} v{row.version} {status}{note}", err=True)


def register(root: typer.Typer) -> None:
    """Add `crm quote` to the root app."""
    root.add_typer(app, name="quote")
