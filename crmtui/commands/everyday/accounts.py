"""`crm account`: add and change accounts (companies)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crmtui.commands.common import DbOption, fail
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx
    from crmtui.store.models import Account

app = typer.Typer(help="Add and change accounts (companies).", no_args_is_help=True)

Opt = typer.Option


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Company name.")],
    domain: Annotated[str | None, Opt(help="Web domain, e.g. acme.example.")] = None,
    industry: Annotated[str | None, Opt(help="Industry.")] = None,
    employees: Annotated[int | None, Opt(min=0, help="Number of employees.")] = None,
    phone: Annotated[str | None, Opt(help="Main phone number.")] = None,
    city: Annotated[str | None, Opt(help="City.")] = None,
    country: Annotated[str | None, Opt(help="ISO country code.")] = None,
    tag: Annotated[list[str] | None, Opt("--tag", help="A tag (repeat for several).")] = None,
    db: DbOption = None,
) -> None:
    """Add an account; prints its id. Refuses a name that already exists."""
    from crmtui.services.address_book.accounts import (
        AccountCreate,
        create_account,
        find_account_by_name,
    )

    region = settings_or_exit().default_region
    data = AccountCreate(
        name=name,
        domain=domain,
        industry=industry,
        employees=employees,
        phone=phone,
        city=city,
        country=country,
        tags=tag or [],
    )

    def action(tx: WriteTx) -> Account:
        existing = find_account_by_name(tx=tx, name=name)
        if existing is not None:
            fail(f"an account named {existing.name!r} exists already ({existing.id})")
        return create_account(tx=tx, data=data, region=region)

    account = run_write(ctx, db, action, undo=lambda a: f"Add account {a.name}")
    typer.echo(account.id)
    typer.echo(f"added account {account.name}", err=True)


@app.command()
def edit(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="Account id or unique prefix.")],
    name: Annotated[str | None, Opt(help="New name.")] = None,
    domain: Annotated[str | None, Opt(help="Web domain.")] = None,
    industry: Annotated[str | None, Opt(help="Industry.")] = None,
    employees: Annotated[int | None, Opt(min=0, help="Number of employees.")] = None,
    phone: Annotated[str | None, Opt(help="Main phone number.")] = None,
    city: Annotated[str | None, Opt(help="City.")] = None,
    country: Annotated[str | None, Opt(help="ISO country code.")] = None,
    db: DbOption = None,
) -> None:
    """Change an account's fields."""
    from crmtui.services.address_book.accounts import AccountUpdate, update_account

    given = {
        "name": name,
        "domain": domain,
        "industry": industry,
        "employees": employees,
        "phone": phone,
        "city": city,
        "country": country,
    }
    data = AccountUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    if not data.model_fields_set:
        fail("nothing to change: give at least one option (see crm account edit --help)")
    region = settings_or_exit().default_region

    def action(tx: WriteTx) -> tuple[list[str], str]:
        from crmtui.store.models import Account
        from crmtui.store.resolve import get_live

        changed = update_account(tx=tx, account_id=account_id, data=data, region=region)
        return changed, get_live(tx, Account, account_id).name

    changed, _name = run_write(ctx, db, action, undo=lambda r: f"Edit account {r[1]}")
    typer.echo(f"changed: {', '.join(changed)}" if changed else "nothing changed", err=True)
