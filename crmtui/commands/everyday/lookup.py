"""`crm find`, `crm who`, `crm show`: Typer faces of the argparse fast path.

A shell normally reaches `find` and `who` through `crmtui.entry`, which skips
Typer for speed. These commands exist so `crm --help` documents them and tests
can drive them with CliRunner; they build an argv and call `crmtui.fastcli.run`,
so both routes share one implementation and the same exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmtui.commands.common import DbOption, FormatOption
from crmtui.commands.completion import complete_contact

LimitOption = Annotated[int, typer.Option("--limit", "-n", help="At most this many results.")]


def _run(ctx: typer.Context, argv: list[str], db: Path | None) -> None:
    from crmtui.fastcli import run

    chosen = db or (ctx.obj or {}).get("db")
    if chosen:
        argv += ["--db", str(chosen)]
    code = run(argv)
    if code:
        raise typer.Exit(code)


def find(
    ctx: typer.Context,
    query: Annotated[
        list[str], typer.Argument(help="Words of a name, company, email, city or tag, or a phone.")
    ],
    limit: LimitOption = 20,
    fmt: FormatOption = "table",
    archived: Annotated[
        bool, typer.Option("--archived", help="Include archived contacts.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Find contacts, typos forgiven ("smyth" finds Smith), best match first.

    Exit codes: 0 found, 1 nothing matched, 2 usage error, 3 database missing.
    """
    argv = ["find", *query, "--limit", str(limit), "--format", fmt]
    _run(ctx, [*argv, "--archived"] if archived else argv, db)


def who(
    ctx: typer.Context,
    phone: Annotated[
        list[str], typer.Argument(help="A phone number in any format, or its last digits.")
    ],
    limit: LimitOption = 20,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Who owns a phone number: exact matches first, then the longest suffix matches.

    Exit codes: 0 found, 1 nothing matched, 2 usage error, 3 database missing.
    """
    _run(ctx, ["who", *phone, "--limit", str(limit), "--format", fmt], db)


def show(
    ctx: typer.Context,
    ref: Annotated[
        list[str],
        typer.Argument(
            help="A contact ID, or a NAME to search for.", autocompletion=complete_contact
        ),
    ],
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Show a contact's card: consent, fields, account, activities, ticklers, deals.

    A NAME that fits several contacts equally well is not guessed: the
    candidates are listed on stderr with their IDs and the exit code is 1.
    Exit codes: 0 shown, 1 no match or ambiguous, 2 usage error, 3 database missing.
    """
    _run(ctx, ["show", *ref, "--format", fmt], db)


def email(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="Words of a name, company or address.")],
    parsable: Annotated[
        bool, typer.Option("--parsable", help="mutt's query_command format (a message line first).")
    ] = False,
    aerc: Annotated[
        bool, typer.Option("--aerc", help="aerc's address-book-cmd format (address, name).")
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Mail addresses of the contacts a query finds, for mutt, aerc or alot address lookups.

    Exit codes: 0 found, 1 nothing matched, 2 usage error, 3 database missing.
    """
    argv = ["email", *query, "--format", fmt]
    argv += ["--parsable"] if parsable else []
    _run(ctx, argv + (["--aerc"] if aerc else []), db)


def due_prompt(ctx: typer.Context, *, count: bool, db: Path | None) -> None:
    """`crm due --count` / `--prompt` through the fast path (see `crmtui.quickcli`)."""
    _run(ctx, ["due", "--count" if count else "--prompt"], db)


def register(app: typer.Typer) -> None:
    """Add the lookup commands to the root app."""
    app.command("email")(email)
    app.command("find")(find)
    app.command("who")(who)
    app.command("show")(show)
