"""`crm contact`: add, edit, tag, archive, delete and restore contacts."""

from __future__ import annotations

from typing import Annotated

import typer

from crmtui.commands.common import DbOption
from crmtui.commands.writing import run_write, settings_or_exit

app = typer.Typer(help="Add and change contacts.", no_args_is_help=True)

IdArg = Annotated[
    str, typer.Argument(help="Contact id (or a unique prefix of at least 6 characters).")
]
Company = Annotated[
    str | None, typer.Option(help="Company; an account is created when none has this name.")
]
Phone = Annotated[
    str | None, typer.Option(help="Phone as you would dial it; stored as typed and as E.164.")
]
Mobile = Annotated[str | None, typer.Option(help="Mobile number.")]
Email = Annotated[str | None, typer.Option(help="Email address.")]
City = Annotated[str | None, typer.Option(help="City.")]
Country = Annotated[str | None, typer.Option(help="ISO country code, e.g. DE.")]
Title = Annotated[str | None, typer.Option(help="Job title.")]
Notes = Annotated[str | None, typer.Option(help="Free text notes.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat for several).")]


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='Full name, e.g. "Anna Müller".')],
    company: Company = None,
    phone: Phone = None,
    mobile: Mobile = None,
    email: Email = None,
    city: City = None,
    country: Country = None,
    title: Title = None,
    tag: Tags = None,
    notes: Notes = None,
    do_not_call: Annotated[
        bool, typer.Option("--do-not-call", help="Never call this person.")
    ] = False,
    do_not_email: Annotated[
        bool, typer.Option("--do-not-email", help="Never email this person.")
    ] = False,
    allow_duplicate: Annotated[
        bool,
        typer.Option("--allow-duplicate", help="Add even if a similar contact exists."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a contact; prints its id. A probable duplicate is shown first (exit 1 unless confirmed)."""
    from crmtui.commands.dedupe import warn_duplicates
    from crmtui.services.contacts import ContactCreate, create_contact

    region = settings_or_exit().default_region
    warn_duplicates(
        ctx, db, name=name, email=email, phones=[phone, mobile], region=region,
        allow=allow_duplicate,
    )  # fmt: skip
    data = ContactCreate(
        name=name,
        company=company,
        phone=phone,
        mobile=mobile,
        email=email,
        city=city,
        country=country,
        title=title,
        tags=tag or [],
        notes=notes,
        do_not_call=do_not_call,
        do_not_email=do_not_email,
    )
    contact = run_write(ctx, db, lambda tx: create_contact(tx=tx, data=data, region=region))
    typer.echo(contact.id)
    typer.echo(f"added {contact.name}", err=True)


@app.command()
def edit(
    ctx: typer.Context,
    contact_id: IdArg,
    name: Annotated[str | None, typer.Option(help="New full name.")] = None,
    company: Company = None,
    phone: Phone = None,
    mobile: Mobile = None,
    email: Email = None,
    city: City = None,
    country: Country = None,
    title: Title = None,
    notes: Notes = None,
    do_not_call: Annotated[
        bool | None, typer.Option("--do-not-call/--call-ok", help="Set or clear do-not-call.")
    ] = None,
    do_not_email: Annotated[
        bool | None, typer.Option("--do-not-email/--email-ok", help="Set or clear do-not-email.")
    ] = None,
    stay_in_touch: Annotated[
        str | None, typer.Option(help='Cadence: "30d", "2 weeks"; "off" clears it.')
    ] = None,
    call_cap: Annotated[
        str | None, typer.Option(help='At most N calls in a period: "3/30d"; "default" clears.')
    ] = None,
    db: DbOption = None,
) -> None:
    """Change a contact's fields; an empty value ("") clears a field."""
    from crmtui.commands.daily import call_cap_fields, stay_in_touch_fields
    from crmtui.services.contacts import ContactUpdate, update_contact

    given = {
        "name": name,
        "company": company,
        "phone": phone,
        "mobile": mobile,
        "email": email,
        "city": city,
        "country": country,
        "title": title,
        "notes": notes,
        "do_not_call": do_not_call,
        "do_not_email": do_not_email,
    }
    values: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    values |= stay_in_touch_fields(stay_in_touch) | call_cap_fields(call_cap)
    data = ContactUpdate.model_validate(values)
    if not data.model_fields_set:
        from crmtui.commands.common import fail

        fail("nothing to change: give at least one option (see crm contact edit --help)")
    region = settings_or_exit().default_region
    changed = run_write(
        ctx, db, lambda tx: update_contact(tx=tx, contact_id=contact_id, data=data, region=region)
    )
    typer.echo(f"changed: {', '.join(changed)}" if changed else "nothing changed", err=True)


@app.command()
def tag(
    ctx: typer.Context,
    contact_id: IdArg,
    tags: Annotated[list[str] | None, typer.Argument(help="Tags to add.")] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", "-r", help="A tag to remove (repeat for several)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add tags to a contact and remove others; prints the resulting tags."""
    from crmtui.commands.common import fail
    from crmtui.services.contacts import tag_contact

    if not tags and not remove:
        fail("give tags to add, or --remove TAG")
    result = run_write(
        ctx,
        db,
        lambda tx: tag_contact(tx=tx, contact_id=contact_id, add=tags or [], remove=remove or []),
    )
    typer.echo(" ".join(result))


@app.command()
def archive(
    ctx: typer.Context,
    contact_id: IdArg,
    undo: Annotated[bool, typer.Option("--undo", help="Unarchive instead.")] = False,
    db: DbOption = None,
) -> None:
    """Archive a contact: kept, but left out of search unless asked for."""
    from crmtui.services.contacts import archive_contact

    run_write(ctx, db, lambda tx: archive_contact(tx=tx, contact_id=contact_id, archived=not undo))
    typer.echo("unarchived" if undo else "archived", err=True)


@app.command()
def delete(ctx: typer.Context, contact_id: IdArg, db: DbOption = None) -> None:
    """Delete a contact (a tombstone: `crm contact restore ID` brings it back)."""
    from crmtui.services.contacts import delete_contact

    contact = run_write(ctx, db, lambda tx: delete_contact(tx=tx, contact_id=contact_id))
    typer.echo(f"deleted {contact.name} — undo with: crm contact restore {contact.id}", err=True)


@app.command()
def restore(ctx: typer.Context, contact_id: IdArg, db: DbOption = None) -> None:
    """Bring back a deleted contact."""
    from crmtui.services.contacts import restore_contact

    contact = run_write(ctx, db, lambda tx: restore_contact(tx=tx, contact_id=contact_id))
    typer.echo(f"restored {contact.name}", err=True)
