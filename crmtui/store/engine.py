"""The SQLite engine: pragmas, `BEGIN IMMEDIATE` for writes, sessions per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

BUSY_TIMEOUT_MS = 10_000

# WAL lets the app read while a sync writes; synchronous=FULL makes a committed
# write survive a power cut, which is the promise a rep's laptop relies on.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def unicode_lower(text: str | None) -> str | None:
    """Python's lower case, for SQL: SQLite's own lower() folds ASCII letters only."""
    return text.lower() if isinstance(text, str) else text


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module, so that the "begin"
    # hook below decides between DEFERRED (reads) and IMMEDIATE (writes).
    dbapi_conn.isolation_level = None
    # Names compared case-insensitively in SQL must fold as the importers fold them
    # in Python ("À" and "à" are one company to both).
    dbapi_conn.create_function("unicode_lower", 1, unicode_lower, deterministic=True)
    cursor = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_begin(conn: Any) -> None:
    # A deferred transaction that later upgrades to a write can fail with
    # SQLITE_BUSY without waiting for the busy timeout; IMMEDIATE takes the write
    # lock up front and waits properly.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path | str) -> Engine:
    """Build an engine for one SQLite file with the house pragmas."""
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction (`BEGIN IMMEDIATE`), committed on success."""
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(writer, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """One read-only unit of work."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
