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


# --------------------------------------------------------------------------- Tab on the fast path

# Where a contact is the word being completed: the command words, and how many words
# (command words included) come before the contact; None: any position after the words.
_CONTACT_SLOTS: dict[tuple[str, ...], int | None] = {
    ("show",): None,
    ("log",): 2,  # crm log KIND WHO
    ("activities",): 1,
    ("remind",): 1,
    ("mail", "write"): None,
}


def _split_words(text: str) -> list[str]:
    import shlex

    try:
        return shlex.split(text)
    except ValueError:  # an open quote while typing
        return text.split()


def _typed(shell: str, env: dict[str, str]) -> tuple[list[str], str] | None:
    """(words before the cursor, the word being typed), as Typer reads them for `shell`."""
    if shell == "bash":
        words = _split_words(env.get("COMP_WORDS", ""))
        try:
            cword = int(env.get("COMP_CWORD", ""))
        except ValueError:
            return None
        return words[1:cword], words[cword] if cword < len(words) else ""
    raw = env.get("_TYPER_COMPLETE_ARGS", "")
    words = _split_words(raw)[1:]
    if words and not raw.endswith(" "):
        return words[:-1], words[-1]
    return words, ""


def _contact_slot(args: list[str]) -> tuple[bool, str | None]:
    """Whether the word being typed is a contact, and the --db named on the line."""
    db = None
    plain: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--db" and i + 1 < len(args):
            db, i = args[i + 1], i + 2
            continue
        if args[i].startswith("-"):
            return False, db  # other options (and their values): Typer knows them
        plain.append(args[i])
        i += 1
    for words, before in _CONTACT_SLOTS.items():
        if tuple(plain[: len(words)]) == words:
            at = len(words) if before is None else before
            return (len(plain) >= at if before is None else len(plain) == at), db
    return False, db


def complete_fast(env: dict[str, str]) -> tuple[str, int] | None:
    """A shell's completion request for a contact, answered without Typer: (output, exit code).

    None when the word is not a contact (a command, an option, a kind): Typer answers
    those. The output is what Typer's own completion classes print for the shell.
    """
    shell = env.get("_CRM_COMPLETE", "").removeprefix("complete_")
    if shell not in ("bash", "zsh", "fish"):
        return None
    typed = _typed(shell, env)
    if typed is None:
        return None
    args, incomplete = typed
    if incomplete.startswith("-"):
        return None
    is_contact, db = _contact_slot(args)
    if not is_contact:
        return None
    found = _contacts(db, incomplete)
    # Typer keeps only the values that start with the typed word; so do we.
    found = [(v, h) for v, h in found if v.startswith(incomplete)]
    if shell == "bash":
        return "\n".join(v.replace(" ", "\\ ") for v, _ in found), EXIT_OK
    if shell == "fish":
        if env.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
            return "", EXIT_OK if found else EXIT_NOT_FOUND
        return "\n".join(f"{v}\t{' '.join(h.split())}" for v, h in found), EXIT_OK
    if not found:
        return "_files", EXIT_OK

    def esc(s: str) -> str:
        return (
            s.replace('"', '""')
            .replace("'", "''")
            .replace("$", "\\$")
            .replace("`", "\\`")
            .replace(":", r"\\:")
        )

    items = "\n".join(f'"{esc(v)}":"{esc(h)}"' for v, h in found)
    return f"_arguments '*: :(({items}))'", EXIT_OK


def _contacts(db: str | None, typed: str) -> list[tuple[str, str]]:
    """Contact completions from the database (nothing when it cannot be read)."""
    from pathlib import Path

    from crmtui.config import ConfigError
    from crmtui.dbfile import choose
    from crmtui.search.complete import contact_completions
    from crmtui.search.lookup import LookupDatabaseError, connect

    try:
        conn = connect(choose(Path(db) if db else None).path)
    except (ConfigError, LookupDatabaseError, OSError):
        return []
    try:
        return contact_completions(conn, typed)
    except sqlite3.Error:
        return []
    finally:
        conn.close()
