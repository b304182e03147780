"""The shell fast path: `crm find`, `who`, `show`, `email` and `due --count` with argparse and sqlite3.

`crmtui.entry` routes `find` and `who` here without loading Typer; the Typer
commands in `crmtui.commands.everyday.lookup` call `run` too, so there is one
implementation. Exit codes: 0 found, 1 nothing matched (or a NAME fits several
contacts), 2 usage error, 3 database missing or unopenable.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from crmtui import output
from crmtui.domain.text import query_phone_digits
from crmtui.search import lookup

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3


def _message(text: str) -> None:
    sys.stderr.write(f"crm: {text}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse grammar of the fast commands (mirrors the Typer help)."""
    parser = argparse.ArgumentParser(prog="crm", description="Look up contacts.")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--format", "-f", choices=output.FORMATS, default="table")
        sub.add_argument("--db", type=Path, default=None, help="database file")

    find = commands.add_parser("find", help="find contacts by name, company, email, city or phone")
    find.add_argument("query", nargs="+")
    find.add_argument("--limit", "-n", type=_positive, default=20)
    find.add_argument("--archived", action="store_true", help="include archived contacts")
    common(find)
    who = commands.add_parser("who", help="who owns a phone number (any format, or its end)")
    who.add_argument("phone", nargs="+")
    who.add_argument("--limit", "-n", type=_positive, default=20)
    common(who)
    show = commands.add_parser("show", help="a contact's card, by ID or NAME")
    show.add_argument("ref", nargs="+")
    common(show)
    email = commands.add_parser("email", help="mail addresses for a mail client's address query")
    email.add_argument("query", nargs="+")
    email.add_argument("--parsable", action="store_true", help="mutt's query_command format")
    email.add_argument("--aerc", action="store_true", help="aerc's address-book-cmd format")
    common(email)
    due = commands.add_parser("due", help="how many reminders are due (for a prompt)")
    shape = due.add_mutually_exclusive_group(required=True)
    shape.add_argument("--count", action="store_true", help="one number: overdue + due today")
    shape.add_argument("--prompt", action="store_true", help='"3 due, 1 overdue"')
    due.add_argument("--db", type=Path, default=None, help="database file")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def open_lookup(path: Path) -> sqlite3.Connection:
    """Open the database for reading, upgrading it first when it is behind.

    Raises LookupDatabaseError (one line) when the file is missing, is not a crmtui
    database, or cannot be brought up to date: reading never creates a file.
    """
    from crmtui.dbfile import DbChoice, DbFileError, check

    try:
        check(DbChoice(path, explicit=True), "read")
    except DbFileError as exc:
        raise lookup.LookupDatabaseError(str(exc)) from None
    try:
        return lookup.connect(path)
    except lookup.LookupDatabaseError as first:
        # Rare slow path: a database behind the code is migrated (with a backup)
        # by the full store, which costs the SQLAlchemy import once.
        from crmtui.store.database import open_store
        from crmtui.store.migrate import MigrationError

        try:
            open_store(path).close()
        except (MigrationError, OSError) as exc:
            reason = " ".join(str(exc).split("\n")[0].split())
            raise lookup.LookupDatabaseError(f"{first}; upgrading failed: {reason}") from exc
        return lookup.connect(path)


def run(argv: list[str]) -> int:
    """Parse `argv` (after the program name) and run one fast command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error already
        return int(exc.code or 0)
    from crmtui.config import ConfigError
    from crmtui.dbfile import choose

    try:
        path = choose(args.db).path
    except ConfigError as exc:
        _message(str(exc))
        return EXIT_USAGE
    try:
        db = open_lookup(path)
    except lookup.LookupDatabaseError as exc:
        _message(str(exc))
        return EXIT_DATABASE
    try:
        if args.command == "find":
            return _find(db, " ".join(args.query), args)
        if args.command == "who":
            return _who(db, " ".join(args.phone), args)
        if args.command in ("email", "due"):
            from crmtui.quickcli import address_query, due_line

            return address_query(db, args) if args.command == "email" else due_line(db, args)
        return _show(db, " ".join(args.ref), args)
    except sqlite3.Error as exc:
        _message(f"cannot read database {path}: {exc}")
        return EXIT_DATABASE
    finally:
        db.close()


def _print_hits(hits: list[lookup.ContactHit], fmt: str) -> None:
    records = [h.as_dict() for h in hits]
    if fmt == "table":
        for record in records:
            if record["archived"]:
                record["name"] = f"{record['name']} (archived)"
    output.write_records(records, fmt)


def _find(db: sqlite3.Connection, query: str, args: argparse.Namespace) -> int:
    hits = lookup.search_contacts(db, query, limit=args.limit, include_archived=args.archived)
    if not hits:
        _message(f"no contact matches {query!r}")
        return EXIT_NOT_FOUND
    _print_hits(hits, args.format)
    return EXIT_OK


def _who(db: sqlite3.Connection, phone: str, args: argparse.Namespace) -> int:
    if len(query_phone_digits(phone)) < lookup.MIN_PHONE_DIGITS:
        _message(f"{phone!r} is not a phone number (give at least 3 digits)")
        return EXIT_USAGE
    hits = lookup.find_by_phone(db, phone, limit=args.limit)
    if not hits:
        _message(f"no contact has the number {phone!r}")
        return EXIT_NOT_FOUND
    _print_hits(hits, args.format)
    return EXIT_OK


def _show(db: sqlite3.Connection, ref: str, args: argparse.Namespace) -> int:
    hits = lookup.resolve_contact(db, ref)
    if not hits:
        _message(f"no contact matches {ref!r}")
        return EXIT_NOT_FOUND
    winner = lookup.clear_winner(ref, hits)
    if winner is None:
        _message(f"{ref!r} matches several contacts; say which by ID:")
        for line in output.format_table(
            [h.as_dict() for h in hits],
            ("id", "name", "company", "city"),
            width=output.terminal_width(),
        ):
            sys.stderr.write(f"  {line}\n")
        return EXIT_NOT_FOUND
    card = lookup.contact_card(db, winner.id)
    if card is None:  # deleted between the search and now
        _message(f"no contact matches {ref!r}")
        return EXIT_NOT_FOUND
    output.write_card(card.as_dict(), args.format)
    return EXIT_OK
