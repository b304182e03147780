"""`crm pipeline` (the board), `crm pipeline stages ...` and `crm forecast`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmtui.commands.common import EXIT_USAGE, DbOption, FormatOption, fail
from crmtui.commands.reading import now, period_or_exit, read_db, user_zone
from crmtui.commands.writing import run_write, settings_or_exit

app = typer.Typer(
    help="The pipeline board, and its stages.", invoke_without_command=True, no_args_is_help=False
)

OwnerOption = Annotated[str | None, typer.Option("--owner", help="A rep's name, email or id.")]
TerritoryOption = Annotated[
    str | None, typer.Option("--territory", help="A territory (its whole subtree counts).")
]
CurrencyOption = Annotated[
    str | None, typer.Option("--currency", help="Only deals in this currency (e.g. EUR).")
]
PipelineOption = Annotated[
    str | None, typer.Option("--pipeline", help="Pipeline name or id (default: the default one).")
]
PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="this-quarter, next-quarter, 2026-Q1, 2026-03, last-90d ..."),
]


def money_text(amounts: dict[str, int]) -> str:
    """Per-currency amounts as "12,500.00 EUR; 300.00 GBP"."""
    from crmtui.domain.money import format_money

    return "; ".join(format_money(v, c) for c, v in amounts.items())


def _pipeline_id(con: Any, ref: str | None) -> str | None:
    if ref is None:
        return None
    wanted = ref.strip().lower()
    row = con.execute(
        "SELECT id FROM pipeline WHERE deleted_at IS NULL AND (lower(name) = ? OR id LIKE ?)",
        (wanted, wanted + "%"),
    ).fetchone()
    if row is None:
        fail(f"no pipeline {ref!r}", 1)
    return str(row[0])


@app.callback()
def board(
    ctx: typer.Context,
    owner: OwnerOption = None,
    territory: TerritoryOption = None,
    pipeline: PipelineOption = None,
    currency: CurrencyOption = None,
    closed: Annotated[
        str | None,
        typer.Option("--closed", help="Also show deals closed in this period (e.g. this-month)."),
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Print the board: per stage the number of deals, their sum and weighted sum."""
    if ctx.invoked_subcommand is not None:
        return
    from crmtui.output import write_records
    from crmtui.reports.forecast import board as make_board
    from crmtui.reports.scope import make_scope

    tz = user_zone()
    with read_db(ctx, db, fmt) as con:
        scope = make_scope(con, territory=territory, owner=owner)
        result = make_board(
            con,
            scope=scope,
            tz=tz,
            now=now(),
            pipeline_id=_pipeline_id(con, pipeline),
            closed_in=period_or_exit(closed, tz),
            currency=currency,
        )
    if fmt == "json":
        import json

        payload = {
            "pipeline": result.pipeline_name,
            "scope": scope.label,
            "stages": [c.as_dict() for c in result.columns],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    rows = [
        {
            "stage": c.name,
            "probability": f"{c.probability}%",
            "category": c.forecast_category,
            "deals": c.count,
            "stale": c.stale,
            "amount": money_text(c.amount_minor) if fmt == "table" else c.amount_minor,
            "weighted": money_text(c.weighted_minor) if fmt == "table" else c.weighted_minor,
        }
        for c in result.columns
    ]
    columns = ("stage", "probability", "category", "deals", "stale", "amount", "weighted")
    write_records(rows, fmt, columns=columns)


@app.command("stages")
def stages(
    ctx: typer.Context,
    pipeline: PipelineOption = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List a pipeline's stages with probability, forecast category and stale limit."""
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        from crmtui.reports.forecast import default_pipeline_id

        pid = _pipeline_id(con, pipeline) or default_pipeline_id(con)[0]
        rows = [
            {
                "position": r[0],
                "name": r[1],
                "probability": r[2],
                "category": r[3],
                "stale_after_days": r[4],
                "id": r[5],
            }
            for r in con.execute(
                "SELECT position, name, probability, forecast_category, stale_after_days, id"
                " FROM stage WHERE pipeline_id = ? AND deleted_at IS NULL ORDER BY position",
                (pid,),
            )
        ]
    write_records(
        rows,
        fmt,
        columns=("position", "name", "probability", "category", "stale_after_days", "id"),
    )


StaleOption = Annotated[
    int | None, typer.Option("--stale-after", help="Days without activity before a deal is stale.")
]
CategoryOption = Annotated[
    str | None,
    typer.Option(
        "--category", help="pipeline, best_case, commit, closed_won, closed_lost or omitted."
    ),
]


@app.command("stage-add")
def stage_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new stage's name.")],
    probability: Annotated[int, typer.Option(help="Default win probability, 0-100.")] = 0,
    category: CategoryOption = None,
    stale_after: StaleOption = None,
    position: Annotated[int | None, typer.Option(help="Position (0 = first).")] = None,
    pipeline: PipelineOption = None,
    db: DbOption = None,
) -> None:
    """Add a stage (by default before the closed stages); prints its id."""
    from crmtui.services.sales.pipelines import StageCreate, add_stage, find_pipeline

    def action(tx: Any) -> Any:
        data = StageCreate(
            pipeline_id=find_pipeline(tx, pipeline).id,
            name=name,
            probability=probability,
            forecast_category=category or "pipeline",
            stale_after_days=stale_after,
            position=position,
        )
        return add_stage(tx=tx, data=data)

    stage = run_write(ctx, db, action)
    typer.echo(stage.id)


@app.command("stage-edit")
def stage_edit(
    ctx: typer.Context,
    stage: Annotated[str, typer.Argument(help="Stage name or id.")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    probability: Annotated[int | None, typer.Option(help="Win probability, 0-100.")] = None,
    category: CategoryOption = None,
    stale_after: StaleOption = None,
    no_stale: Annotated[bool, typer.Option("--no-stale", help="Remove the stale limit.")] = False,
    position: Annotated[int | None, typer.Option(help="Move to this position.")] = None,
    pipeline: PipelineOption = None,
    db: DbOption = None,
) -> None:
    """Change a stage's name, probability, category, stale limit or position."""
    from crmtui.services.sales.pipelines import StageUpdate, find_pipeline, find_stage, update_stage

    given: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "probability": probability,
            "forecast_category": category,
            "stale_after_days": stale_after,
            "position": position,
        }.items()
        if v is not None
    }
    if no_stale:
        given["stale_after_days"] = None
    if not given:
        fail("nothing to change: give at least one option", EXIT_USAGE)
    data = StageUpdate.model_validate(given)

    def action(tx: Any) -> list[str]:
        target = find_stage(tx, find_pipeline(tx, pipeline).id, stage)
        return update_stage(tx=tx, stage_id=target.id, data=data)

    changed = run_write(ctx, db, action)
    typer.echo(f"changed: {', '.join(changed)}" if changed else "nothing changed", err=True)


@app.command("stage-delete")
def stage_delete(
    ctx: typer.Context,
    stage: Annotated[str, typer.Argument(help="Stage name or id.")],
    pipeline: PipelineOption = None,
    db: DbOption = None,
) -> None:
    """Remove a stage that holds no deals."""
    from crmtui.services.sales.pipelines import delete_stage, find_pipeline, find_stage

    def action(tx: Any) -> Any:
        target = find_stage(tx, find_pipeline(tx, pipeline).id, stage)
        return delete_stage(tx=tx, stage_id=target.id)

    removed = run_write(ctx, db, action)
    typer.echo(f"removed stage {removed.name}", err=True)


def forecast(
    ctx: typer.Context,
    period: PeriodOption = None,
    territory: TerritoryOption = None,
    owner: OwnerOption = None,
    currency: CurrencyOption = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="List every deal: amount × probability = weighted (and the rate it was "
            "converted at).",
        ),
    ] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Convert into this currency (default: company_currency)."),
    ] = None,
    no_convert: Annotated[
        bool,
        typer.Option("--no-convert", help="Refuse to show deals in several currencies together."),
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Forecast per category (pipeline, best case, commit, closed won/lost), weighted.

    Open deals count when their expected close is in the period, closed deals when
    they were won or lost in it. Deals in several currencies get one section per
    currency, plus a total converted into the company currency (`company_currency`
    in the config, or --to) at the rate of each deal's close date: the latest rate
    on or before it (`crm rates import`). --currency shows one currency only;
    --no-convert refuses a mix. Exit codes: 0 ok, 1 unknown territory or rep,
    2 bad option or (with --no-convert) mixed currencies.
    """
    from crmtui.domain.money import BadMoney, check_currency, format_amount
    from crmtui.output import write_records
    from crmtui.reports.forecast import MixedCurrencies
    from crmtui.reports.forecast import forecast as make_forecast
    from crmtui.reports.scope import make_scope

    tz = user_zone()
    try:
        currency = check_currency(currency) if currency is not None else None
        target = check_currency(to) if to is not None else settings_or_exit().company_currency
    except BadMoney as exc:
        fail(str(exc))
    with read_db(ctx, db, fmt) as con:
        scope = make_scope(con, territory=territory, owner=owner)
        span = period_or_exit(period, tz)
        if currency is None and not no_convert:
            from crmtui.commands.sales.forecast_money import show_multi
            from crmtui.reports.converted_forecast import forecast_by_currency

            multi = forecast_by_currency(
                con, scope=scope, period=span, tz=tz, company_currency=target,
                today=now().astimezone(tz).date(),
            )  # fmt: skip
            if show_multi(multi, fmt=fmt, explain=explain):
                return
        try:
            result = make_forecast(con, scope=scope, period=span, tz=tz, currency=currency)
        except MixedCurrencies as exc:
            fail(str(exc))
    code = result.currency or currency or ""
    if fmt == "json":
        import json

        typer.echo(json.dumps(result.as_dict(explain=explain), ensure_ascii=False, indent=2))
        return
    table = fmt == "table"

    def amount(minor: int) -> Any:
        return format_amount(minor, code) if table and code else minor

    if explain:
        rows: list[dict[str, Any]] = [
            {
                "deal": line.name,
                "stage": line.stage_name,
                "category": line.forecast_category,
                "close": line.closed_at[:10] if line.closed_at else line.expected_close,
                "amount": amount(line.amount_minor),
                "probability": f"{line.probability}%" if table else line.probability,
                "from": line.probability_source,
                "weighted": amount(line.weighted_minor),
                "currency": line.currency,
                "id": line.id,
            }
            for line in result.lines
        ]
        if table:
            rows.append(
                {
                    "deal": "TOTAL",
                    "amount": amount(result.amount_minor),
                    "weighted": amount(result.weighted_minor),
                    "currency": code,
                }
            )
        cols = ("deal", "stage", "category", "close", "amount", "probability", "from", "weighted")
        write_records(rows, fmt, columns=(*cols, "currency", "id"))
    else:
        rows = [
            {
                "category": t.category,
                "deals": t.count,
                "amount": amount(t.amount_minor),
                "weighted": amount(t.weighted_minor),
                "currency": code,
            }
            for t in result.totals
        ]
        if table:
            rows.append(
                {
                    "category": "TOTAL",
                    "deals": len(result.lines),
                    "amount": amount(result.amount_minor),
                    "weighted": amount(result.weighted_minor),
                    "currency": code,
                }
            )
        write_records(rows, fmt, columns=("category", "deals", "amount", "weighted", "currency"))
    if table:
        label = result.period.label if result.period else "all dates"
        typer.echo(f"scope: {scope.label}; period: {label}", err=True)
        if result.excluded:
            others = sorted({r.currency for r in result.excluded})
            typer.echo(f"excluded {len(result.excluded)} deal(s) in {', '.join(others)}", err=True)


def register(root: typer.Typer) -> None:
    """Add `crm pipeline` and `crm forecast` to the root app."""
    root.add_typer(app, name="pipeline")
    root.command("forecast")(forecast)
