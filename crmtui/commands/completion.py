"""Tab completion callbacks: contact names and ids, activity kinds.

Typer calls these while the shell waits (`_CRM_COMPLETE` set by the script
`crm --show-completion` prints). They read the database read-only with sqlite3
and never fail loudly: a missing or unreadable database completes nothing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import typer


def _db_for(ctx: typer.Context) -> Path | None:
    """The --db given on the command line so far (its own, then the global one)."""
    here: typer.Context | None = ctx
    while here is not None:
        value = here.params.get("db")
        if value:
            return Path(value)
        here = here.parent  # type: ignore[assignment]
    return None


def complete_contact(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Contacts whose name (or a word of it) or id starts with what was typed."""
    from crmtui.config import ConfigError
    from crmtui.dbfile import choose
    from crmtui.search.complete import contact_completions
    from crmtui.search.lookup import LookupDatabaseError, connect

    try:
        conn = connect(choose(_db_for(ctx)).path)
    except (ConfigError, LookupDatabaseError, OSError):
        return []
    try:
        found = contact_completions(conn, incomplete)
    except sqlite3.Error:  # a Tab press must never print a traceback into the prompt
        return []
    finally:
        conn.close()
    if os.environ.get("_CRM_COMPLETE", "").endswith("bash"):
        # bash inserts the words as they are: a name's spaces must be escaped to stay one word.
        return [(value.replace(" ", "\\ "), help_) for value, help_ in found]
    return found


def complete_kind(incomplete: str) -> list[str]:
    """Activity kinds that start with what was typed."""
    kinds = ("call", "email", "meeting", "visit", "note")
    return [k for k in kinds if k.startswith(incomplete)]
