"""`crm deal approve|refuse|approval|approval-threshold`: discounts a manager decides on."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmtui.commands.common import EXIT_NOT_FOUND, DbOption, FormatOption, fail
from crmtui.commands.reading import read_db
from crmtui.commands.writing import run_write, settings_or_exit

DealArg = Annotated[str, typer.Argument(help="Deal id (or a unique prefix).")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (shown to the rep; a refusal needs one).")
]


def _decide(ctx: typer.Context, deal: str, decision: str, reason: str | None, db: Any) -> None:
    from crmtui.services.sales.approvals import decide, explain

    rep = settings_or_exit().rep_name
    row, state = run_write(
        ctx,
        db,
        lambda tx: decide(tx=tx, deal_ref=deal, decision=decision, reason=reason, rep_name=rep),
    )
    typer.echo(row.id)
    typer.echo(f"{explain(state)}; the rep sees it after their next sync", err=True)


def approve(
    ctx: typer.Context, deal: DealArg, reason: ReasonOption = None, db: DbOption = None
) -> None:
    """Approve the deal's discounts on its lines as they are now (a manager's decision).

    A later change of those lines asks again. Exit codes: 0 ok, 1 no such deal,
    2 nothing above the threshold, not a manager, or the deal is closed.
    """
    _decide(ctx, deal, "approved", reason, db)


def refuse(
    ctx: typer.Context,
    deal: DealArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the rep).")],
    db: DbOption = None,
) -> None:
    """Refuse the deal's discounts on its lines as they are now; its quotes cannot be sent.

    Exit codes: 0 ok, 1 no such deal, 2 nothing above the threshold, no reason, not a
    manager, or the deal is closed.
    """
    _decide(ctx, deal, "refused", reason, db)


def approval(
    ctx: typer.Context, deal: DealArg, fmt: FormatOption = "table", db: DbOption = None
) -> None:
    """Whether the deal's lines need a manager's approval, and the decisions made on it."""
    import json

    from crmtui.domain.lines import format_percent
    from crmtui.output import write_records
    from crmtui.services.sales.approvals import deal_state, decisions, explain

    with read_db(ctx, db, fmt) as con:
        found = con.execute(
            "SELECT id, name FROM deal WHERE deleted_at IS NULL AND id LIKE ?",
            (deal.lower() + "%",),
        ).fetchall()
        if len(found) != 1:
            fail(f"{'no' if not found else 'more than one'} deal {deal!r}", EXIT_NOT_FOUND)
        deal_id, name = found[0]
        state = deal_state(con, deal_id)
        made = sorted(decisions(con, deal_id), key=lambda d: (d.decided_at, d.row_id))
    records = [
        {
            "decided_at": d.decided_at,
            "decision": d.decision,
            "by": d.decided_by or "",
            "reason": d.reason or "",
            "current_lines": d.lines_digest == state.digest,
            "id": d.row_id,
        }
        for d in made
    ]
    if fmt == "json":
        payload = {
            "deal": deal_id,
            "name": name,
            "state": state.state,
            "threshold_bp": state.threshold_bp,
            "max_discount_bp": state.max_discount_bp,
            "lines_digest": state.digest,
            "decisions": records,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if fmt == "table":
        limit = "none" if state.threshold_bp is None else format_percent(state.threshold_bp)
        typer.echo(f"{name}: {explain(state)} (threshold {limit})", err=True)
    write_records(
        records, fmt, columns=("decided_at", "decision", "by", "reason", "current_lines", "id")
    )


def approval_threshold(
    ctx: typer.Context,
    percent: Annotated[
        str | None, typer.Argument(help="Discount above which a manager approves, e.g. 15.")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="No approval asked at all.")] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Show or set the discount threshold (reference data: an admin's change reaches every
    laptop at sync; the server refuses a rep's).

    Exit codes: 0 ok, 2 a bad percent.
    """
    import json

    from crmtui.domain.lines import format_percent, parse_percent_bp
    from crmtui.services.sales.approvals import set_threshold, threshold

    if percent is not None or off:
        if percent is not None and off:
            fail("give a percent or --off, not both")
        bp = None
        if percent is not None:
            try:
                bp = parse_percent_bp(percent)
            except ValueError as exc:
                fail(f"invalid threshold: {exc}")
        run_write(ctx, db, lambda tx: set_threshold(tx=tx, threshold_bp=bp))
    with read_db(ctx, db, fmt) as con:
        value = threshold(con)
    if fmt == "json":
        typer.echo(json.dumps({"discount_threshold_bp": value}))
    elif fmt == "csv":
        typer.echo(f"discount_threshold_bp\n{'' if value is None else value}")
    elif value is None:
        typer.echo("no discount approval (crm deal approval-threshold 15 sets one)")
    else:
        typer.echo(f"discounts above {format_percent(value)} need a manager's approval")


def register(deal_app: typer.Typer) -> None:
    """Add the approval commands under `crm deal`."""
    deal_app.command("approve")(approve)
    deal_app.command("refuse")(refuse)
    deal_app.command("approval")(approval)
    deal_app.command("approval-threshold")(approval_threshold)
