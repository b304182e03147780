"""The Typer application: command groups joined here; `crm` alone opens the app."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from crmtui import __version__
from crmtui.commands.common import EXIT_DATABASE, EXIT_USAGE, DbOption, fail, one_line
from crmtui.commands.data import db as db_commands
from crmtui.commands.data import demo as demo_commands
from crmtui.commands.data import exports as export_commands
from crmtui.commands.data import imports as import_commands
from crmtui.commands.data import undo as undo_commands
from crmtui.commands.everyday import accounts as account_commands
from crmtui.commands.everyday import claims as claim_commands
from crmtui.commands.everyday import contacts as contact_commands
from crmtui.commands.everyday import daily as daily_commands
from crmtui.commands.everyday import dav as dav_commands
from crmtui.commands.everyday import dedupe as dedupe_commands
from crmtui.commands.everyday import lookup as lookup_commands
from crmtui.commands.everyday import mail as mail_commands
from crmtui.commands.everyday import notify as notify_commands
from crmtui.commands.everyday import plans as plan_commands
from crmtui.commands.everyday import scripts as script_commands
from crmtui.commands.sales import approvals as approval_commands
from crmtui.commands.sales import deal_lines as deal_line_commands
from crmtui.commands.sales import deals as deal_commands
from crmtui.commands.sales import leads as lead_commands
from crmtui.commands.sales import pipeline as pipeline_commands
from crmtui.commands.sales import products as product_commands
from crmtui.commands.sales import quotes as quote_commands
from crmtui.commands.sales import rates as rate_commands
from crmtui.commands.sales import scores as score_commands
from crmtui.commands.sales import territory as territory_commands
from crmtui.commands.team import server as server_commands
from crmtui.commands.team import sync as sync_commands


def _flags_show_no_value_type() -> None:
    """Help lists a flag alone (`--dry-run`), not as if it took a value (`--dry-run <bool>`).

    Typer's Rich help (0.29, pinned in requirements.lock) prints a value type after
    every option, flags included, which reads as "--dry-run takes a bool"; its plain
    help already leaves flags bare, and so does this.
    """
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_value_type()


class CrmGroup(TyperGroup):
    """The root command: checks every argument is text, and turns database faults into exit 3."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Refuse arguments no command can store or use, before any command runs."""
        for arg in args:
            if "\x00" in arg:
                fail(f"argument {arg!r} contains a NUL character", EXIT_USAGE)
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                # Bytes that are not UTF-8 reach Python as lone surrogates; no field,
                # and no SQLite text, can hold them.
                fail(f"argument {arg!r} is not valid UTF-8 text", EXIT_USAGE)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a database that fails under it (locked, I/O, corrupt) is exit 3."""
        try:
            return super().invoke(ctx)
        except sqlite3.OperationalError as exc:
            fail(f"database error: {one_line(exc)}", EXIT_DATABASE)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            fail(f"database error: {one_line(exc)}", EXIT_DATABASE)
        except OverflowError:
            # Only a number typed on the command line gets this large; each known option
            # has its own limit, this catches one that was missed.
            fail("a number given is too large to use", EXIT_USAGE)
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                fail(f"database error: {one_line(exc.orig or exc)}", EXIT_DATABASE)
            raise


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="crmtui: a terminal sales workstation. Run `crm` alone to open the app.",
    no_args_is_help=False,
    # Markdown joins a paragraph's lines, so help wraps to the terminal instead of at
    # the docstrings' source line breaks (Typer's "rich" mode keeps those: ragged at 80).
    rich_markup_mode="markdown",
    # `crm --install-completion` / `--show-completion` (bash, zsh, fish); the entry point
    # sends a shell's completion request (_CRM_COMPLETE) here, past the fast paths.
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db_commands.app, name="db")
app.add_typer(contact_commands.app, name="contact")
app.add_typer(account_commands.app, name="account")
app.add_typer(sync_commands.app, name="sync")
app.add_typer(sync_commands.conflicts_app, name="conflicts")
app.add_typer(server_commands.app, name="server")
app.add_typer(import_commands.app, name="import")
app.add_typer(export_commands.app, name="export")
app.add_typer(dedupe_commands.app, name="dedupe")
app.add_typer(plan_commands.app, name="plan")
app.add_typer(script_commands.app, name="script")
app.add_typer(claim_commands.app, name="claims")
app.add_typer(mail_commands.app, name="mail")
app.add_typer(dav_commands.app, name="dav")
app.command("merge")(dedupe_commands.merge)
# Command groups register below (one line each).
lookup_commands.register(app)
pipeline_commands.register(app)
deal_commands.register(app)
lead_commands.register(app)
score_commands.register(app)
territory_commands.register(app)
daily_commands.register(app)
notify_commands.register(app)
undo_commands.register(app)
rate_commands.register(app)
product_commands.register(app)
quote_commands.register(app)
deal_line_commands.register(deal_commands.app)
approval_commands.register(deal_commands.app)
app.command("demo")(demo_commands.demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crm {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: DbOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """crmtui: a terminal sales workstation. Run `crm` alone to open the app."""
    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is None:
        tui(ctx, db)


@app.command()
def tui(ctx: typer.Context, db: DbOption = None) -> None:
    """Open the full-screen app."""
    from crmtui.launch import open_app

    code = open_app(db or (ctx.obj or {}).get("db"))
    if code:
        raise typer.Exit(code)
