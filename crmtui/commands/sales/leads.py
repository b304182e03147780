"""`crm lead add|status|disqualify|convert` and `crm leads` (the list)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import DbOption, FormatOption, fail, open_db
from crmtui.commands.reading import read_db
from crmtui.commands.sales.deals import (
    AmountOption,
    CloseOption,
    SortOption,
    me,
    parse_amount,
    parse_close,
)
from crmtui.commands.sales.scores import ExplainOption, print_score
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Add, qualify and convert leads.", no_args_is_help=True)

IdArg = Annotated[
    str, typer.Argument(help="Lead id (or a unique prefix of at least 6 characters).")
]
LEAD_COLUMNS = ("name", "company", "phone", "email", "source", "status", "reason", "id")
SCORED_COLUMNS = ("score", "name", "company", "source", "status", "id")


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person's name.")],
    company: Annotated[str | None, typer.Option(help="Their company.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone as you would dial it.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    source: Annotated[str | None, typer.Option(help="Where the lead came from.")] = None,
    industry: Annotated[str | None, typer.Option(help="The company's industry.")] = None,
    employees: Annotated[
        int | None, typer.Option(help="The company's head count.", min=1, max=10_000_000)
    ] = None,
    country: Annotated[str | None, typer.Option(help="Two-letter country code (DE).")] = None,
    db: DbOption = None,
) -> None:
    """Add a lead; prints its id."""
    from crmtui.services.sales.leads import LeadCreate, create_lead

    region = settings_or_exit().default_region
    data = LeadCreate(
        name=name,
        company=company,
        phone=phone,
        email=email,
        source=source,
        industry=industry,
        employees=employees,
        country=country,
    )

    def action(tx: WriteTx) -> Any:
        data.owner_id = me(tx)
        return create_lead(tx=tx, data=data, region=region)

    typer.echo(run_write(ctx, db, action, undo=lambda lead: f"New lead {lead.name}").id)


@app.command()
def status(
    ctx: typer.Context,
    lead_id: IdArg,
    new_status: Annotated[str, typer.Argument(help="new, working or qualified.")],
    db: DbOption = None,
) -> None:
    """Set a lead's status."""
    from crmtui.services.sales.leads import set_lead_status

    run_write(
        ctx,
        db,
        lambda tx: set_lead_status(tx=tx, lead_id=lead_id, status=new_status),
        undo=lambda lead: f"{lead.name}: {new_status}",
    )
    typer.echo(new_status, err=True)


@app.command()
def disqualify(
    ctx: typer.Context,
    lead_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    db: DbOption = None,
) -> None:
    """Disqualify a lead, with the reason."""
    from crmtui.services.sales.leads import disqualify_lead

    run_write(
        ctx,
        db,
        lambda tx: disqualify_lead(tx=tx, lead_id=lead_id, reason=reason),
        undo=lambda lead: f"Disqualify {lead.name}",
    )
    typer.echo("disqualified", err=True)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
def convert(
    ctx: typer.Context,
    lead_id: IdArg,
    deal_name: Annotated[str | None, typer.Option("--deal-name", help="Name of the deal.")] = None,
    amount: AmountOption = None,
    close: CloseOption = None,
    stage: Annotated[str | None, typer.Option(help="Stage to open the deal in.")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Reuse the matching account and contact.")
    ] = False,
    new: Annotated[
        bool, typer.Option("--new", help="Make a new account and contact even if some match.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Convert a lead into an account, a contact and a deal (one transaction).

    An account with the same name and a contact with the lead's email (any of its
    emails), or its phone and a name that agrees, are offered for reuse, never duplicated silently: asked at a terminal, otherwise
    --yes (reuse) or --new is required. Reused records get only missing fields.
    Prints the deal id. Exit codes: 0 converted, 1 no such lead, 2 bad input or a
    match that needs --yes/--new.
    """
    from crmtui.services.sales.leads import LeadConversion, conversion_matches, convert_lead

    if yes and new:
        fail("give --yes or --new, not both")
    region = settings_or_exit().default_region
    money = parse_amount(amount, None)
    expected = parse_close(close)
    reuse: bool | None = True if yes else False if new else None
    if reuse is None and _interactive():
        store = open_db(ctx, db)
        try:
            with store.write() as tx:
                matches = conversion_matches(tx=tx, lead_id=lead_id)
                found = [
                    f"account {matches.account.name} ({matches.account.id})"
                    if matches.account
                    else "",
                    f"contact {matches.contact.name} <{matches.contact.email or ''}> "
                    f"{matches.contact.phone or ''} ({matches.contact.id})"
                    if matches.contact
                    else "",
                ]
        finally:
            store.close()
        if matches.any:
            typer.echo("Existing records match this lead:", err=True)
            for line in filter(None, found):
                typer.echo(f"  {line}", err=True)
            reuse = typer.confirm("Reuse them?", default=True, err=True)
    data = LeadConversion(
        deal_name=deal_name,
        amount_minor=money.minor if money else None,
        currency=money.currency if money else "EUR",
        expected_close=expected,
        stage=stage,
        reuse=reuse,
    )
    result = run_write(
        ctx,
        db,
        lambda tx: convert_lead(tx=tx, lead_id=lead_id, data=data, region=region, by=me(tx)),
        undo=lambda r: f"Convert {r.contact.name}",
    )
    typer.echo(result.deal.id)
    how = lambda reused: "reused" if reused else "new"  # noqa: E731
    if result.account is not None:
        typer.echo(f"account: {result.account.name} ({how(result.reused_account)})", err=True)
    typer.echo(f"contact: {result.contact.name} ({how(result.reused_contact)})", err=True)
    for what, fields in result.filled.items():
        if fields:
            typer.echo(f"filled on the {what}: {', '.join(fields)}", err=True)


def leads_list(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            help="new, working, qualified, disqualified, converted (default: not converted)."
        ),
    ] = None,
    sort: SortOption = "newest",
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List leads, newest first (`--sort score`: highest score first, with the score)."""
    from crmtui.output import write_records
    from crmtui.reports.lead_scores import lead_scores, score_sort_key

    if sort not in ("newest", "score"):
        fail(f"--sort must be newest or score, not {sort!r}")

    where, params = "deleted_at IS NULL", []
    if status is None:
        where += " AND status != 'converted'"
    else:
        where += " AND status = ?"
        params.append(status)
    with read_db(ctx, db, fmt) as con:
        rows = [
            {
                "name": r[0],
                "company": r[1],
                "phone": r[2],
                "email": r[3],
                "source": r[4],
                "status": r[5],
                "reason": r[6],
                "created_at": r[7],
                "id": r[8],
            }
            for r in con.execute(
                "SELECT name, company, phone, email, source, status, disqualify_reason,"
                f" created_at, id FROM lead WHERE {where} ORDER BY id DESC",
                params,
            )
        ]
        if sort == "score":
            found = lead_scores(con)
            rows.sort(key=lambda r: score_sort_key(found)(r["id"]))
            for row in rows:
                hit = found.get(row["id"])
                row["score"] = None if hit is None else hit.points
                row["p_win"] = None if hit is None or hit.p_win is None else round(hit.p_win, 4)
    write_records(rows, fmt, columns=SCORED_COLUMNS if sort == "score" else LEAD_COLUMNS)


@app.command("score")
def score(
    ctx: typer.Context,
    lead_id: IdArg,
    explain: ExplainOption = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """A lead's score from the scoring rules and the territory's won/lost history.

    `--explain` lists each rule and history variable with its points; they add up to
    the score. Exit codes: 0 shown, 1 no such lead, 2 bad option.
    """
    print_score(ctx, "lead", lead_id, explain=explain, fmt=fmt, db=db)


def register(root: typer.Typer) -> None:
    """Add `crm lead` (with `crm lead list`) and `crm leads` to the root app."""
    app.command("list")(leads_list)
    root.add_typer(app, name="lead")
    root.command("leads")(leads_list)


@app.command()
def reassign(
    ctx: typer.Context,
    from_rep: Annotated[str, typer.Option("--from", help="The rep whose open leads move.")],
    to_rep: Annotated[str, typer.Option("--to", help="The rep who gets them.")],
    territory: Annotated[
        str | None, typer.Option(help="Only leads in this territory (name or id).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Give a rep's open leads (with their plans and reminders) to another rep, in one go.

    A manager's step: the server takes it at sync for the leads in the manager's
    territories whose new owner works there, and refuses the rest with the reason
    (`crm conflicts`). Prints the ids of the leads moved; undo with `crm undo`.
    """
    from crmtui.services.sales.lead_assign import reassign_leads
    from crmtui.services.territories import find_rep, find_territory

    def action(tx: WriteTx) -> Any:
        return reassign_leads(
            tx=tx,
            from_rep_id=find_rep(tx, from_rep).id,
            to_rep_id=find_rep(tx, to_rep).id,
            territory_id=find_territory(tx, territory).id if territory else None,
        )

    done = run_write(
        ctx, db, action, undo=lambda r: f"Reassign {len(r.lead_ids)} lead(s) to {to_rep}"
    )
    for lead_id in done.lead_ids:
        typer.echo(lead_id)
    typer.echo(
        f"{len(done.lead_ids)} lead(s) from {from_rep} to {to_rep}"
        f" ({done.enrolments} plan enrolment(s), {done.reminders} reminder(s))",
        err=True,
    )
    if not done.lead_ids:
        raise typer.Exit(1)
