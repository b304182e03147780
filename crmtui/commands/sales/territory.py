"""`crm territory`: the hierarchy, reps, rules, realignment and the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import DbOption, FormatOption, fail
from crmtui.commands.reading import now, period_or_exit, read_db, user_zone
from crmtui.commands.sales.pipeline import PeriodOption, money_text
from crmtui.commands.writing import run_write

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Territories, reps, rules and summaries.", no_args_is_help=True)

TerritoryArg = Annotated[str, typer.Argument(help="Territory name or id.")]


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The territory's name (unique).")],
    parent: Annotated[str | None, typer.Option(help="Parent territory.")] = None,
    kind: Annotated[str | None, typer.Option(help="Level label: region, district ...")] = None,
    db: DbOption = None,
) -> None:
    """Add a territory; prints its id."""
    from crmtui.services.territories import TerritoryCreate, create_territory

    data = TerritoryCreate(name=name, parent=parent, kind=kind)
    typer.echo(run_write(ctx, db, lambda tx: create_territory(tx=tx, data=data)).id)


@app.command("add-rep")
def add_rep(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rep's name.")],
    email: Annotated[str | None, typer.Option(help="Email.")] = None,
    role: Annotated[str, typer.Option(help="rep, manager or admin.")] = "rep",
    db: DbOption = None,
) -> None:
    """Add a rep; prints the id."""
    from crmtui.services.territories import RepCreate, create_rep

    data = RepCreate(name=name, email=email, role=role)
    typer.echo(run_write(ctx, db, lambda tx: create_rep(tx=tx, data=data)).id)


@app.command()
def assign(
    ctx: typer.Context,
    territory: TerritoryArg,
    rep: Annotated[str | None, typer.Option(help="Assign this rep to the territory.")] = None,
    account: Annotated[
        str | None, typer.Option(help="Put this account in the territory (pinned: rules leave it).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Assign a rep or an account to a territory."""
    from crmtui.services.territories import assign_account, assign_rep, find_rep, find_territory

    if (rep is None) == (account is None):
        fail("give --rep or --account")

    def action(tx: WriteTx) -> None:
        tid = find_territory(tx, territory).id
        if rep is not None:
            assign_rep(tx=tx, territory_id=tid, rep_id=find_rep(tx, rep).id)
        else:
            assert account is not None
            assign_account(tx=tx, account_id=account, territory_id=tid)

    run_write(ctx, db, action)
    typer.echo("assigned", err=True)


@app.command("list")
def list_territories(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """List territories as a tree, with their reps."""
    from crmtui.output import write_records

    with read_db(ctx, db, fmt) as con:
        rows = con.execute(
            "WITH RECURSIVE tree(id, name, parent_id, kind, depth, path) AS ("
            " SELECT id, name, parent_id, kind, 0, name FROM territory"
            " WHERE parent_id IS NULL AND deleted_at IS NULL UNION ALL"
            " SELECT t.id, t.name, t.parent_id, t.kind, tree.depth + 1, tree.path || '/' || t.name"
            " FROM territory t JOIN tree ON t.parent_id = tree.id WHERE t.deleted_at IS NULL)"
            " SELECT tree.id, tree.name, tree.kind, tree.depth, tree.path,"
            " (SELECT group_concat(r.name, ', ') FROM territory_assignment a JOIN rep r"
            "  ON r.id = a.rep_id WHERE a.territory_id = tree.id AND a.deleted_at IS NULL)"
            " FROM tree ORDER BY tree.path"
        ).fetchall()
    records = [
        {
            "territory": ("  " * r[3] + r[1]) if fmt == "table" else r[1],
            "kind": r[2],
            "path": r[4],
            "reps": r[5],
            "id": r[0],
        }
        for r in rows
    ]
    write_records(records, fmt, columns=("territory", "kind", "reps", "id"))


@app.command()
def rules(
    ctx: typer.Context,
    territory: Annotated[str | None, typer.Argument(help="Only this territory's rules.")] = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            "--add",
            help="Add a rule KIND=VALUE (country, postcode_prefix, industry, employees_min, "
            "employees_max); needs TERRITORY.",
        ),
    ] = None,
    priority: Annotated[int, typer.Option(help="Priority of the added rules.")] = 0,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Remove a rule by id.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List territory rules; --add KIND=VALUE and --remove ID change them."""
    from crmtui.output import write_records

    if add or remove:
        from crmtui.services.territories import (
            TerritoryRuleCreate,
            add_rule,
            delete_rule,
            find_territory,
        )

        if add and territory is None:
            fail("--add needs the TERRITORY argument")

        def action(tx: WriteTx) -> None:
            for spec in add or []:
                kind, sep, value = spec.partition("=")
                if not sep:
                    fail(f"--add takes KIND=VALUE, not {spec!r}")
                tid = find_territory(tx, territory or "").id
                add_rule(
                    tx=tx,
                    data=TerritoryRuleCreate(
                        territory_id=tid, kind=kind.strip(), value=value, priority=priority
                    ),
                )
            for rule_id in remove or []:
                delete_rule(tx=tx, rule_id=rule_id)

        run_write(ctx, db, action)
    with read_db(ctx, db, fmt) as con:
        where, params = "r.deleted_at IS NULL", []
        if territory is not None:
            from crmtui.reports.scope import resolve_territory

            where += " AND r.territory_id = ?"
            params.append(resolve_territory(con, territory)[0])
        rows = [
            {"territory": x[0], "kind": x[1], "value": x[2], "priority": x[3], "id": x[4]}
            for x in con.execute(
                "SELECT t.name, r.kind, r.value, r.priority, r.id FROM territory_rule r"
                f" JOIN territory t ON t.id = r.territory_id WHERE {where}"
                " ORDER BY r.priority DESC, t.name, r.kind, r.value",
                params,
            )
        ]
    write_records(rows, fmt, columns=("territory", "kind", "value", "priority", "id"))


@app.command()
def realign(
    ctx: typer.Context,
    apply: Annotated[
        bool, typer.Option("--apply/--dry-run", help="Move the accounts (default: only show).")
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Show which accounts the rules move to another territory; --apply moves them.

    Accounts put in a territory by hand (`assign --account`) stay. Their contacts and
    open deals move with them. One transaction, journaled.
    """
    from crmtui.commands.common import check_format, open_db
    from crmtui.output import write_records
    from crmtui.services.territories import apply_realign, plan_realign

    check_format(fmt)
    if apply:
        moves = run_write(ctx, db, lambda tx: apply_realign(tx=tx))
    else:
        store = open_db(ctx, db, "read")
        try:
            with store.read() as session:
                moves = plan_realign(session)
        finally:
            store.close()
    with read_db(ctx, db, fmt) as con:
        names = dict(con.execute("SELECT id, name FROM territory").fetchall())
    records = [
        {
            "account": m.account_name,
            "from": names.get(m.from_territory_id or "", ""),
            "to": names.get(m.to_territory_id, ""),
            "rule": m.rule,
            "account_id": m.account_id,
        }
        for m in moves
    ]
    write_records(records, fmt, columns=("account", "from", "to", "rule", "account_id"))
    verb = "moved" if apply else "would move (run with --apply to move them)"
    typer.echo(f"{len(moves)} account(s) {verb}", err=True)


def _block_record(block: Any, weeks: int, table: bool) -> dict[str, Any]:
    pipeline = {p.currency: p.amount_minor for p in block.pipeline}
    weighted = {p.currency: p.weighted_minor for p in block.pipeline}
    rate = block.win_rate
    activities = {k: sum(v) for k, v in block.activities.items()}
    return {
        "scope": block.label,
        "kind": block.kind,
        "open": block.open_count,
        "amount": money_text(pipeline) if table else pipeline,
        "weighted": money_text(weighted) if table else weighted,
        "won": block.won_count,
        "lost": block.lost_count,
        "win_rate": (f"{rate:.0%}" if rate is not None else "") if table else rate,
        "activities": " ".join(f"{k}:{v}" for k, v in activities.items() if v)
        if table
        else activities,
        "per_week": round(sum(activities.values()) / max(weeks, 1), 1),
        "overdue": block.overdue_ticklers,
        "stale": block.stale_deals,
        "gaps": block.coverage_gaps,
    }


@app.command()
def summary(
    ctx: typer.Context,
    territory: Annotated[
        str | None, typer.Argument(help="Territory (default: everything).")
    ] = None,
    period: PeriodOption = "this-quarter",
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Per territory and per rep: open pipeline, won/lost and win rate in the period,
    activities, overdue ticklers, stale deals and coverage gaps (no activity in 90 days);
    the follow-up plans' per-step results (table and JSON)."""
    from crmtui.output import write_records
    from crmtui.reports.scope import resolve_territory
    from crmtui.reports.summary import territory_summary

    tz = user_zone()
    chosen = period_or_exit(period or "this-quarter", tz)
    assert chosen is not None
    with read_db(ctx, db, fmt) as con:
        tid = resolve_territory(con, territory)[0] if territory else None
        report = territory_summary(con, territory_id=tid, period=chosen, tz=tz, now=now())
    if fmt == "json":
        import json

        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    table = fmt == "table"
    blocks = [report.total, *report.territories, *report.reps]
    records = [_block_record(b, len(report.weeks), table) for b in blocks]
    columns = (
        "scope", "kind", "open", "amount", "weighted", "won", "lost", "win_rate",
        "activities", "per_week", "overdue", "stale", "gaps",
    )  # fmt: skip
    write_records(records, fmt, columns=columns)
    if table and report.plans:
        from crmtui.reports.plan_stats import STATS_COLUMNS

        typer.echo("\nFollow-up plans")
        write_records([p.as_dict() for p in report.plans], fmt, columns=STATS_COLUMNS)
    if table:
        typer.echo(
            f"\n{report.scope.label}, {chosen.label} ({chosen.start} to {chosen.end}):"
            f" {len(report.stale)} stale deal(s), {report.total.coverage_gaps} account(s)"
            " without activity in 90 days",
            err=True,
        )


def register(root: typer.Typer) -> None:
    """Add `crm territory` to the root app."""
    root.add_typer(app, name="territory")
