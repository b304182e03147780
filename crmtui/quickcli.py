"""The fast path's answers for other programs: `crm email QUERY` and `crm due --count|--prompt`.

Called by `crmtui.fastcli.run` (argparse, a read-only sqlite3 connection, no
Typer, no SQLModel), so a mail client's address query and a shell prompt cost
little more than Python's start-up.

`crm email QUERY --parsable` answers mutt's `query_command`: a first line that
mutt shows as a message, then `address<TAB>name<TAB>extra` lines; exit 1 when
nothing matches. `--aerc` prints `address<TAB>name` lines only (aerc's
`address-book-cmd` reads every line as an entry). alot reads the mutt format
with a regexp (docs/mail.md).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime, tzinfo

from crmtui import output

EXIT_OK = 0
EXIT_NOT_FOUND = 1


def _clean(text: str | None) -> str:
    """One field of a tab-separated line: no tabs or line breaks inside."""
    return " ".join((text or "").split())


def address_query(db: sqlite3.Connection, args: argparse.Namespace) -> int:
    """Print the addresses of the contacts the query finds, in the client's format."""
    from crmtui.search.addresses import address_book

    query = " ".join(args.query)
    book = address_book(db, query)
    out = sys.stdout
    if args.parsable:
        if not book:
            out.write(f"crm: no contact with an address matches {query!r}\n")
            return EXIT_NOT_FOUND
        out.write(f"crm: {len(book)} address{'es' if len(book) != 1 else ''} for {query!r}\n")
    elif not book:
        sys.stderr.write(f"crm: no contact with an address matches {query!r}\n")
        return EXIT_NOT_FOUND
    if args.parsable or args.aerc:
        for hit in book:
            extra = _clean(hit.company) + (" (do not email)" if hit.do_not_email else "")
            fields = [_clean(hit.address), _clean(hit.name)]
            if args.parsable:
                fields.append(extra.strip())
            out.write("\t".join(fields) + "\n")
        return EXIT_OK
    records = [
        {
            "address": h.address,
            "name": h.name,
            "company": h.company,
            "do_not_email": h.do_not_email,
        }
        for h in book
    ]
    output.write_records(records, args.format, columns=("address", "name", "company"))
    return EXIT_OK


def _zone() -> tzinfo:
    from crmtui.config import load_settings

    name = load_settings().timezone
    if name:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def due_line(db: sqlite3.Connection, args: argparse.Namespace) -> int:
    """Print the count of due reminders, or the prompt text; exit 0 either way."""
    from crmtui.reports.due_count import due_counts, prompt_text

    overdue, today = due_counts(db, datetime.now(_zone()))
    if args.count:
        sys.stdout.write(f"{overdue + today}\n")
    else:
        text = prompt_text(overdue, today)
        if text:
            sys.stdout.write(text + "\n")
    return EXIT_OK
