"""Opening a local store: migrate if needed, then hand out units of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from crmtui.store.engine import make_engine, read_session, write_session
from crmtui.store.journal import WriteTx
from crmtui.store.migrate import needs_upgrade, upgrade


class Store:
    """A local SQLite database: the engine, and units of work over it."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        """One write transaction; the rows and the journal commit together or not at all."""
        with write_session(self.engine) as session:
            tx = WriteTx(session)
            yield tx
            tx.flush()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading."""
        with read_session(self.engine) as session:
            yield session

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def open_store(path: Path | str, *, migrate: bool = True) -> Store:
    """Open (and create or upgrade, with a backup first) the database at `path`."""
    path = Path(path).expanduser()
    if migrate and needs_upgrade(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        upgrade(path)
    return Store(path, make_engine(path))
