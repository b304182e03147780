"""`crm contact`: add, edit, tag, archive, delete and restore contacts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from crmtui.commands.common import DbOption
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Add and change contacts.", no_args_is_help=True)
T = TypeVar("T")


def _named(contact_id: str, action: Callable[[WriteTx], T]) -> Callable[[WriteTx], tuple[T, str]]:
    """`action`, also returning the contact's name (read in the same transaction, for undo)."""

    def named(tx: WriteTx) -> tuple[T, str]:
        from crmtui.store.models import Contact
        from crmtui.store.resolve import get_live

        result = action(tx)
        return result, get_live(tx, Contact, contact_id).name

    return named


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
Notes = Annotated[
    str | None, typer.Option(help="Free text notes (several lines; `-` reads them from stdin).")
]


def _notes(value: str | None) -> str | None:
    """`--notes -` reads the notes from stdin."""
    from crmtui.commands.long_text import text_argument

    return text_argument(value, "--notes")


Tags = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat for several).")]
PhoneSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--phone",
        help='A phone, repeatable: "[KIND:]NUMBER[;ext=N][;primary]", KIND one of work, mobile,'
        ' home, fax, other (work when left out), e.g. "work:+49 30 1234;ext=12". The first'
        " that is not a fax is the one the call list dials, unless another says ;primary.",
    ),
]
EmailSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--email",
        help='An email, repeatable: "[KIND:]ADDRESS[;primary]", KIND work, home or other.',
    ),
]
AddressSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--address",
        help='A postal address, repeatable: "[KIND:]street=..;postcode=..;city=..;region=..;'
        'country=DE[;primary]".',
    ),
]
Birthday = Annotated[str | None, typer.Option(help="Birthday, YYYY-MM-DD.")]
Nickname = Annotated[str | None, typer.Option(help="Nickname.")]
Salutation = Annotated[str | None, typer.Option(help='Salutation, e.g. "Dr." or "Frau".')]
Department = Annotated[str | None, typer.Option(help="Department.")]
Website = Annotated[str | None, typer.Option(help="Website address.")]


def _birthday(text: str | None) -> object:
    """A birthday option as a date ("" clears); a bad one exits 2 naming the option."""
    from datetime import date

    from crmtui.commands.common import fail

    if text is None or not text.strip():
        return None if text is None else ""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--birthday: {text!r} is not a date (write YYYY-MM-DD)")


def _person(**values: object) -> dict[str, object]:
    """The person options given (None: not given; "" clears)."""
    return {k: (None if v == "" else v) for k, v in values.items() if v is not None}


def _plain(spec: str) -> str:
    """The number or address of a spec, for the duplicate check ("work:+4930..;ext=1" -> "+4930..")."""
    _, _, rest = spec.rpartition(":") if ":" in spec.split(";", maxsplit=1)[0] else ("", "", spec)
    return rest.split(";")[0].strip()


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='Full name, e.g. "Anna Müller".')],
    company: Company = None,
    phone: PhoneSpecs = None,
    mobile: Mobile = None,
    email: EmailSpecs = None,
    address: AddressSpecs = None,
    city: City = None,
    country: Country = None,
    title: Title = None,
    birthday: Birthday = None,
    nickname: Nickname = None,
    salutation: Salutation = None,
    department: Department = None,
    website: Website = None,
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
    from crmtui.commands.everyday.dedupe import warn_duplicates
    from crmtui.services.address_book.contacts import ContactCreate, create_contact

    region = settings_or_exit().default_region
    phones, emails = phone or [], email or []
    warn_duplicates(
        ctx, db, name=name, email=_plain(emails[0]) if emails else None,
        phones=[*(_plain(p) for p in phones), mobile], region=region, allow=allow_duplicate,
    )  # fmt: skip
    data = ContactCreate.model_validate(
        {
            "name": name,
            "company": company,
            "mobile": mobile,
            "city": city,
            "country": country,
            "title": title,
            "tags": tag or [],
            "notes": _notes(notes),
            "do_not_call": do_not_call,
            "do_not_email": do_not_email,
            "phones": phones,
            "emails": emails,
            "addresses": address or [],
            **_person(
                birthday=_birthday(birthday),
                nickname=nickname,
                salutation=salutation,
                department=department,
                website=website,
            ),
        }
    )
    contact = run_write(
        ctx,
        db,
        lambda tx: create_contact(tx=tx, data=data, region=region),
        undo=lambda c: f"Add {c.name}",
    )
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
    birthday: Birthday = None,
    nickname: Nickname = None,
    salutation: Salutation = None,
    department: Department = None,
    website: Website = None,
    add_phone: Annotated[
        list[str] | None,
        typer.Option(help='Add a phone (repeatable): "[KIND:]NUMBER[;ext=N][;primary]".'),
    ] = None,
    add_email: Annotated[
        list[str] | None, typer.Option(help='Add an email (repeatable): "[KIND:]ADDRESS".')
    ] = None,
    add_address: Annotated[
        list[str] | None,
        typer.Option(help='Add a postal address (repeatable): "[KIND:]street=..;city=..".'),
    ] = None,
    remove_phone: Annotated[
        list[str] | None, typer.Option(help="Remove a phone, named by its number or kind.")
    ] = None,
    remove_email: Annotated[list[str] | None, typer.Option(help="Remove an email.")] = None,
    remove_address: Annotated[
        list[str] | None, typer.Option(help="Remove an address, named by its city or kind.")
    ] = None,
    primary_phone: Annotated[
        str | None, typer.Option(help="The phone the call list dials (never a fax).")
    ] = None,
    primary_email: Annotated[str | None, typer.Option(help="The email mail goes to.")] = None,
    primary_address: Annotated[str | None, typer.Option(help="The main postal address.")] = None,
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
    from crmtui.commands.everyday.daily import call_cap_fields, stay_in_touch_fields
    from crmtui.services.address_book.contacts import ContactUpdate, update_contact

    given = {
        "name": name,
        "company": company,
        "phone": phone,
        "mobile": mobile,
        "email": email,
        "city": city,
        "country": country,
        "title": title,
        "notes": _notes(notes),
        "do_not_call": do_not_call,
        "do_not_email": do_not_email,
    }
    values: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    values |= _person(
        birthday=_birthday(birthday),
        nickname=nickname,
        salutation=salutation,
        department=department,
        website=website,
    )
    items = {
        "phones": add_phone,
        "emails": add_email,
        "addresses": add_address,
        "remove_phones": remove_phone,
        "remove_emails": remove_email,
        "remove_addresses": remove_address,
        "primary_phone": primary_phone,
        "primary_email": primary_email,
        "primary_address": primary_address,
    }
    values |= {k: v for k, v in items.items() if v}
    values |= stay_in_touch_fields(stay_in_touch) | call_cap_fields(call_cap)
    data = ContactUpdate.model_validate(values)
    if not data.model_fields_set:
        from crmtui.commands.common import fail

        fail("nothing to change: give at least one option (see crm contact edit --help)")
    region = settings_or_exit().default_region
    changed = run_write(
        ctx,
        db,
        _named(
            contact_id,
            lambda tx: update_contact(tx=tx, contact_id=contact_id, data=data, region=region),
        ),
        undo=lambda r: f"Edit {r[1]}",
    )[0]
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
    from crmtui.services.address_book.contacts import tag_contact

    if not tags and not remove:
        fail("give tags to add, or --remove TAG")
    result = run_write(
        ctx,
        db,
        _named(
            contact_id,
            lambda tx: tag_contact(
                tx=tx, contact_id=contact_id, add=tags or [], remove=remove or []
            ),
        ),
        undo=lambda r: f"Tags of {r[1]}",
    )[0]
    typer.echo(" ".join(result))


@app.command()
def archive(
    ctx: typer.Context,
    contact_id: IdArg,
    undo: Annotated[bool, typer.Option("--undo", help="Unarchive instead.")] = False,
    db: DbOption = None,
) -> None:
    """Archive a contact: kept, but left out of search unless asked for."""
    from crmtui.services.address_book.contacts import archive_contact

    run_write(
        ctx,
        db,
        _named(
            contact_id, lambda tx: archive_contact(tx=tx, contact_id=contact_id, archived=not undo)
        ),
        undo=lambda r: f"{'Unarchive' if undo else 'Archive'} {r[1]}",
    )
    typer.echo("unarchived" if undo else "archived", err=True)


@app.command()
def delete(ctx: typer.Context, contact_id: IdArg, db: DbOption = None) -> None:
    """Delete a contact (a tombstone: `crm contact restore ID` brings it back)."""
    from crmtui.services.address_book.contacts import delete_contact

    contact = run_write(
        ctx,
        db,
        lambda tx: delete_contact(tx=tx, contact_id=contact_id),
        undo=lambda c: f"Delete {c.name}",
    )
    typer.echo(f"deleted {contact.name} — undo with: crm contact restore {contact.id}", err=True)


@app.command()
def restore(ctx: typer.Context, contact_id: IdArg, db: DbOption = None) -> None:
    """Bring back a deleted contact."""
    from crmtui.services.address_book.contacts import restore_contact

    contact = run_write(
        ctx,
        db,
        lambda tx: restore_contact(tx=tx, contact_id=contact_id),
        undo=lambda c: f"Restore {c.name}",
    )
    typer.echo(f"restored {contact.name}", err=True)
