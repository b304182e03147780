"""Running a report command: an up-to-date database opened read-only, the user's zone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crmtui.commands.common import EXIT_NOT_FOUND, check_format, fail, open_db
from crmtui.commands.writing import settings_or_exit
from crmtui.dbfile import ro_uri

if TYPE_CHECKING:
    from crmtui.domain.periods import Period


@contextmanager
def read_db(ctx: typer.Context, db: Path | None, fmt: str) -> Iterator[sqlite3.Connection]:
    """A read-only sqlite3 connection to the (migrated) database; lookup errors exit 1."""
    from crmtui.reports.scope import ScopeError

    check_format(fmt)
    store = open_db(ctx, db, "read")  # upgrades the file first when it is behind
    path = store.path
    store.close()
    con = sqlite3.connect(ro_uri(path), uri=True)
    try:
        yield con
    except ScopeError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    finally:
        con.close()


def user_zone() -> tzinfo:
    """The zone from the settings (the system's when unset)."""
    from crmtui.domain.when import BadWhen, zone

    try:
        return zone(settings_or_exit().timezone)
    except BadWhen as exc:
        fail(str(exc))


def now() -> datetime:
    """The current moment, aware."""
    return datetime.now(UTC)


def period_or_exit(text: str | None, tz: tzinfo) -> Period | None:
    """A `Period` from the user's words (None stays None), or exit 2."""
    from crmtui.domain.periods import BadPeriod, parse_period

    if text is None:
        return None
    try:
        return parse_period(text, today=now().astimezone(tz).date())
    except BadPeriod as exc:
        fail(str(exc))
