"""Printing `crm forecast` across currencies: a section per currency, the converted total."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from crmtui.reports.converted_forecast import ConvertedTotal, MultiForecast


def _single(multi: MultiForecast) -> bool:
    """One currency and nothing to convert into another: the one-currency report says it all."""
    if len(multi.sections) > 1:
        return False
    if not multi.sections:
        return True
    converted = multi.converted
    return converted is None or converted.currency == multi.sections[0].currency


def _explain_rows(converted: ConvertedTotal, table: bool) -> list[dict[str, Any]]:
    from crmtui.domain.money import format_amount

    code = converted.currency
    rows: list[dict[str, Any]] = []
    for line in converted.lines:
        deal = line.deal
        rows.append(
            {
                "deal": deal.name,
                "close": line.day.isoformat(),
                "amount": format_amount(deal.amount_minor, deal.currency)
                if table
                else deal.amount_minor,
                "weighted": format_amount(deal.weighted_minor, deal.currency)
                if table
                else deal.weighted_minor,
                "currency": deal.currency,
                "rate": line.amount.describe(),
                "converted": format_amount(line.amount.converted_minor, code)
                if table
                else line.amount.converted_minor,
                "converted_weighted": format_amount(line.weighted.converted_minor, code)
                if table
                else line.weighted.converted_minor,
                "to": code,
                "id": deal.id,
            }
        )
    if table:
        rows.append(
            {
                "deal": "TOTAL",
                "converted": format_amount(converted.amount_minor, code),
                "converted_weighted": format_amount(converted.weighted_minor, code),
                "to": code,
            }
        )
    return rows


def show_multi(multi: MultiForecast, *, fmt: str, explain: bool) -> bool:
    """Print the forecast per currency and converted; False when one currency says it all."""
    from crmtui.domain.money import format_amount
    from crmtui.output import write_records

    if _single(multi):
        return False
    converted = multi.converted
    if fmt == "json":
        payload = {
            "scope": multi.scope.label,
            "period": None if multi.period is None else multi.period.label,
            "company_currency": multi.company_currency,
            "sections": [f.as_dict(explain=explain) for f in multi.sections],
            "converted": None if converted is None else converted.as_dict(explain=explain),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return True
    table = fmt == "table"
    if explain and converted is not None:
        cols = ("deal", "close", "amount", "weighted", "currency", "rate", "converted",
                "converted_weighted", "to", "id")  # fmt: skip
        write_records(_explain_rows(converted, table), fmt, columns=cols)
    else:
        rows: list[dict[str, Any]] = []
        sections = [(f.currency or "", f.totals, len(f.lines), f.amount_minor, f.weighted_minor)
                    for f in multi.sections]  # fmt: skip
        if converted is not None:
            sections.append(
                (f"{converted.currency} (converted)", converted.totals(), len(converted.lines),
                 converted.amount_minor, converted.weighted_minor)
            )  # fmt: skip
        for label, totals, count, amount, weighted in sections:
            code = label[:3]

            def money(minor: int, code: str = code) -> Any:
                return format_amount(minor, code) if table else minor

            rows += [
                {"currency": label, "category": t.category, "deals": t.count,
                 "amount": money(t.amount_minor), "weighted": money(t.weighted_minor)}
                for t in totals
                if t.count or not table
            ]  # fmt: skip
            rows.append(
                {"currency": label, "category": "TOTAL", "deals": count,
                 "amount": money(amount), "weighted": money(weighted)}
            )  # fmt: skip
        write_records(rows, fmt, columns=("currency", "category", "deals", "amount", "weighted"))
    if table:
        label = multi.period.label if multi.period else "all dates"
        typer.echo(f"scope: {multi.scope.label}; period: {label}", err=True)
        if converted is None:
            hint = (
                "set company_currency in the config (or --to EUR) for a converted total"
                if multi.company_currency is None
                else f"no exchange rates into {multi.company_currency}: `crm rates import FILE`"
            )
            typer.echo(f"no converted total: {hint}", err=True)
        else:
            typer.echo(
                f"converted into {converted.currency} at the latest rate on or before each "
                "deal's close date (--explain lists them)",
                err=True,
            )
            old = [
                line for line in converted.lines
                if line.amount.rate_day is not None and (line.day - line.amount.rate_day).days > 7
            ]  # fmt: skip
            if old:
                newest = max(line.amount.rate_day for line in old if line.amount.rate_day)
                typer.echo(
                    f"{len(old)} deal(s) converted at a rate more than a week older than their "
                    f"close date (the newest rate used is of {newest}; close dates ahead have "
                    "no rate yet)",
                    err=True,
                )
            for row, why in converted.unconverted:
                typer.echo(f"not in the converted total: {row.name} ({why})", err=True)
    return True
