"""`crm deal add|show|edit|move|won|lost|reopen` and `crm deals` (the list)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import DbOption, FormatOption, fail
from crmtui.commands.reading import now, read_db, user_zone
from crmtui.commands.sales.pipeline import CurrencyOption, OwnerOption, TerritoryOption
from crmtui.commands.sales.scores import ExplainOption, print_score
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crmtui.domain.lead_scoring import Score
    from crmtui.domain.money import Money
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Open deals and move them through the pipeline.", no_args_is_help=True)

IdArg = Annotated[
    str, typer.Argument(help="Deal id (or a unique prefix of at least 6 characters).")
]
AmountOption = Annotated[
    str | None,
    typer.Option("--amount", help='Amount, e.g. "12,500.50 EUR" or 12500 (default currency EUR).'),
]
CloseOption = Annotated[
    str | None,
    typer.Option("--close", help="Expected close date: 2026-06-30, next fri, in 3 weeks."),
]
ProbabilityOption = Annotated[
    int | None, typer.Option("--probability", help="Override the stage's win probability (0-100).")
]
DEAL_COLUMNS = ("name", "stage", "amount", "currency", "close", "owner", "territory", "id")
SortOption = Annotated[
    str, typer.Option("--sort", help="newest (the default) or score (highest first).")
]


def parse_amount(text: str | None, currency: str | None) -> Money | None:
    """An amount option as Money, or exit 2."""
    from crmtui.domain.money import BadMoney, parse_money

    if text is None:
        return None
    try:
        return parse_money(text, default_currency=currency or "EUR")
    except BadMoney as exc:
        fail(f"invalid amount: {exc}")


def parse_close(text: str | None) -> date | None:
    """An expected-close option as a date in the user's zone, or exit 2."""
    from crmtui.domain.when import BadWhen, parse_when

    if text is None or not text.strip():
        return None
    try:
        return parse_when(text, now=now().astimezone(user_zone())).date()
    except BadWhen as exc:
        fail(f"invalid close date: {exc}")


def me(tx: WriteTx) -> str | None:
    """The rep working on this laptop (settings.rep_name), if one has that name."""
    from crmtui.services.territories import me_rep_id

    return me_rep_id(tx, settings_or_exit().rep_name)


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the deal is, e.g. 'Acme – 40 licences'.")],
    account: Annotated[str | None, typer.Option(help="Account id.")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact id.")] = None,
    amount: AmountOption = None,
    currency: Annotated[str | None, typer.Option(help="Currency when --amount has none.")] = None,
    close: CloseOption = None,
    stage: Annotated[str | None, typer.Option(help="Stage name (default: the first).")] = None,
    pipeline: Annotated[str | None, typer.Option(help="Pipeline (default: the default).")] = None,
    probability: ProbabilityOption = None,
    owner: Annotated[str | None, typer.Option(help="Owner rep (default: you).")] = None,
    db: DbOption = None,
) -> None:
    """Open a deal; prints its id."""
    from crmtui.services.sales.deals import DealCreate, create_deal
    from crmtui.services.territories import find_rep

    money = parse_amount(amount, currency)
    expected = parse_close(close)

    def action(tx: WriteTx) -> Any:
        data = DealCreate(
            name=name,
            account_id=account,
            contact_id=contact,
            pipeline=pipeline,
            stage=stage,
            amount_minor=money.minor if money else None,
            currency=money.currency if money else (currency or "EUR"),
            expected_close=expected,
            probability=probability,
            owner_id=find_rep(tx, owner).id if owner else None,
        )
        return create_deal(tx=tx, data=data, by=me(tx))

    deal = run_write(ctx, db, action, undo=lambda d: f"New deal: {d.name}")
    typer.echo(deal.id)


@app.command()
def edit(
    ctx: typer.Context,
    deal_id: IdArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    amount: AmountOption = None,
    close: CloseOption = None,
    probability: ProbabilityOption = None,
    no_probability: Annotated[
        bool, typer.Option("--stage-probability", help="Drop the override; use the stage's.")
    ] = False,
    owner: Annotated[str | None, typer.Option(help="New owner rep.")] = None,
    territory: Annotated[str | None, typer.Option(help="New territory.")] = None,
    db: DbOption = None,
) -> None:
    """Change a deal's name, amount, close date, probability, owner or territory."""
    from crmtui.services.sales.deals import DealUpdate, update_deal
    from crmtui.services.territories import find_rep, find_territory

    given: dict[str, Any] = {}
    if name is not None:
        given["name"] = name
    if amount is not None:
        money = parse_amount(amount, None)
        assert money is not None
        given |= {"amount_minor": money.minor, "currency": money.currency}
    if close is not None:
        given["expected_close"] = parse_close(close)
    if probability is not None:
        given["probability"] = probability
    if no_probability:
        given["probability"] = None

    def action(tx: WriteTx) -> tuple[list[str], str]:
        from crmtui.store.models import Deal
        from crmtui.store.resolve import get_live

        if owner is not None:
            given["owner_id"] = find_rep(tx, owner).id
        if territory is not None:
            given["territory_id"] = find_territory(tx, territory).id
        if not given:
            fail("nothing to change: give at least one option")
        changed = update_deal(tx=tx, deal_id=deal_id, data=DealUpdate.model_validate(given))
        return changed, get_live(tx, Deal, deal_id).name

    changed, _name = run_write(ctx, db, action, undo=lambda r: f"Edit deal {r[1]}")
    typer.echo(f"changed: {', '.join(changed)}" if changed else "nothing changed", err=True)


@app.command()
def move(
    ctx: typer.Context,
    deal_id: IdArg,
    stage: Annotated[str, typer.Argument(help="Stage name or id.")],
    reason: Annotated[str | None, typer.Option(help="Why, when moving to a lost stage.")] = None,
    db: DbOption = None,
) -> None:
    """Move a deal to another stage (recorded in its history)."""
    from crmtui.services.sales.deals import move_deal

    deal = run_write(
        ctx,
        db,
        lambda tx: move_deal(tx=tx, deal_id=deal_id, stage=stage, by=me(tx), reason=reason),
        undo=lambda d: f"{d.name} → {stage}",
    )
    typer.echo(f"{deal.name}: {deal.status}", err=True)


@app.command()
def won(ctx: typer.Context, deal_id: IdArg, db: DbOption = None) -> None:
    """Mark a deal won."""
    from crmtui.services.sales.deals import win_deal

    deal = run_write(
        ctx,
        db,
        lambda tx: win_deal(tx=tx, deal_id=deal_id, by=me(tx)),
        undo=lambda d: f"{d.name} won",
    )
    typer.echo(f"won: {deal.name}", err=True)


@app.command()
def lost(
    ctx: typer.Context,
    deal_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the deal was lost.")],
    db: DbOption = None,
) -> None:
    """Mark a deal lost, with the reason."""
    from crmtui.services.sales.deals import lose_deal

    deal = run_write(
        ctx,
        db,
        lambda tx: lose_deal(tx=tx, deal_id=deal_id, reason=reason, by=me(tx)),
        undo=lambda d: f"{d.name} lost",
    )
    typer.echo(f"lost: {deal.name}", err=True)


@app.command()
def reopen(
    ctx: typer.Context,
    deal_id: IdArg,
    stage: Annotated[
        str | None, typer.Option(help="Stage to reopen in (default: the last open one).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Reopen a won or lost deal."""
    from crmtui.services.sales.deals import reopen_deal

    deal = run_write(
        ctx,
        db,
        lambda tx: reopen_deal(tx=tx, deal_id=deal_id, stage=stage, by=me(tx)),
        undo=lambda d: f"Reopen {d.name}",
    )
    typer.echo(f"reopened: {deal.name}", err=True)


@app.command()
def show(
    ctx: typer.Context, deal_id: IdArg, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """Show a deal with its stage history and the time spent in each stage."""
    from crmtui.output import write_records
    from crmtui.reports.deal_history import DealNotFound, deal_card

    with read_db(ctx, db, fmt) as con:
        try:
            card = deal_card(con, deal_id, now=now())
        except DealNotFound as exc:
            fail(str(exc), 1)
        # 0015: how many lines the amount comes from, and whether it was typed over them.
        line_count, override = con.execute(
            "SELECT (SELECT count(*) FROM deal_line WHERE deal_id = d.id AND deleted_at IS NULL),"
            " amount_override FROM deal d WHERE id = ?",
            (card.deal.id,),
        ).fetchone()
        from crmtui.services.sales.approvals import deal_state, explain

        approval = deal_state(con, card.deal.id)
    if fmt == "json":
        import json

        payload = {
            **card.as_dict(),
            "lines": line_count,
            "amount_override": bool(override),
            "approval": approval.state,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    if fmt == "csv":
        write_records([h.as_dict() for h in card.history], "csv")
        return
    from crmtui.domain.money import format_money

    d = card.deal
    amount = format_money(d.amount_minor, d.currency) if d.amount_minor is not None else ""
    if override:
        amount += f" (typed over its {line_count} line(s): crm deal line list)"
    elif line_count:
        amount += f" (sum of {line_count} line(s): crm deal line list)"
    lines = [
        d.name,
        f"status       {d.status}" + (f" ({d.lost_reason})" if d.lost_reason else ""),
        f"stage        {d.stage_name} ({d.probability}% from {d.probability_source})",
        f"amount       {amount}",
        *([f"approval     {explain(approval)}"] if approval.state != "not needed" else []),
        f"expected     {d.expected_close or ''}",
        f"owner        {d.owner_name or ''}",
        f"territory    {d.territory_name or ''}",
        f"account      {d.account_name or ''}",
        f"contact      {d.contact_name or ''}",
        f"id           {d.id}",
        "",
        "stage history",
    ]
    for line in lines:
        typer.echo(line.rstrip())
    write_records(
        [h.as_dict() for h in card.history],
        "table",
        columns=("changed_at", "from_stage", "to_stage", "days_in_stage", "changed_by"),
    )


def deals_list(
    ctx: typer.Context,
    stale: Annotated[bool, typer.Option("--stale", help="Only stale deals.")] = False,
    owner: OwnerOption = None,
    territory: TerritoryOption = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only deals in this stage.")] = None,
    status: Annotated[str, typer.Option(help="open, won, lost or all.")] = "open",
    currency: CurrencyOption = None,
    sort: SortOption = "newest",
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List deals (open ones unless --status says otherwise); --stale lists stale deals.

    `--sort score` puts the highest-scored first and adds the score (`crm deal score`).

    A deal is stale when it is open, has no open tickler and no activity within its
    stage's "stale after" days (counted from its last activity or stage change).
    Exit codes: 0 listed (even none), 1 unknown territory, rep or stage, 2 bad option.
    """
    from crmtui.domain.money import format_amount
    from crmtui.output import write_records
    from crmtui.reports.scope import ScopeError, deal_rows, make_scope

    if status not in ("open", "won", "lost", "all"):
        fail("--status must be open, won, lost or all")
    if sort not in ("newest", "score"):
        fail(f"--sort must be newest or score, not {sort!r}")
    tz = user_zone()
    moment = now()
    with read_db(ctx, db, fmt) as con:
        scope = make_scope(con, territory=territory, owner=owner)
        stage_id = None
        if stage is not None:
            found = con.execute(
                "SELECT id FROM stage WHERE deleted_at IS NULL AND (lower(name) = ? OR id = ?)",
                (stage.strip().lower(), stage.strip().lower()),
            ).fetchall()
            if len(found) != 1:
                raise ScopeError(f"no single stage {stage!r}")
            stage_id = found[0][0]
        rows = deal_rows(
            con,
            scope,
            tz=tz,
            status="open" if stale else (None if status == "all" else status),
            stage_id=stage_id,
            with_activity=True,
        )
        by_score: dict[str, Score] | None = None
        if sort == "score":
            from crmtui.reports.lead_scores import deal_scores, score_sort_key

            by_score = deal_scores(con)
            key = score_sort_key(by_score)
            rows = sorted(rows, key=lambda r: key(r.id))
    if stale:
        rows = sorted((r for r in rows if r.is_stale(moment)), key=lambda r: r.last_touch())
    if currency is not None:
        rows = [r for r in rows if r.currency == currency.upper()]

    def scored(record: Mapping[str, object], record_id: str) -> dict[str, object]:
        if by_score is None:
            return dict(record)
        hit = by_score.get(record_id)
        return {"score": None if hit is None else hit.points, **record}

    if fmt == "json":
        import json

        payload = [scored(r.as_dict(), r.id) for r in rows]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    records = [
        {
            "name": r.name,
            "stage": r.stage_name,
            "amount": format_amount(r.amount_minor, r.currency)
            if fmt == "table"
            else r.amount_minor,
            "currency": r.currency,
            "close": r.expected_close,
            "owner": r.owner_name,
            "territory": r.territory_name,
            "idle_days": (moment - r.last_touch()).days,
            "id": r.id,
        }
        for r in rows
    ]
    shown = [scored(rec, r.id) for rec, r in zip(records, rows, strict=True)]
    columns = DEAL_COLUMNS if not stale else (*DEAL_COLUMNS[:-1], "idle_days", "id")
    if by_score is not None:
        columns = ("score", *columns)
    write_records(shown, fmt, columns=columns)


@app.command("score")
def score(
    ctx: typer.Context,
    deal_id: IdArg,
    explain: ExplainOption = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """A deal's score from the scoring rules and the territory's won/lost deals.

    `--explain` lists each rule and history variable with its points; they add up to
    the score. Exit codes: 0 shown, 1 no such deal, 2 bad option.
    """
    print_score(ctx, "deal", deal_id, explain=explain, fmt=fmt, db=db)


def register(root: typer.Typer) -> None:
    """Add `crm deal` and `crm deals` to the root app."""
    root.add_typer(app, name="deal")
    root.command("deals")(deals_list)
