"""Finding rows by id or id prefix for the services and commands."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel, select

from crmtui.store.journal import WriteTx

T = TypeVar("T", bound=SQLModel)

MIN_PREFIX = 6


USER_WORDS = {"tickler": "reminder"}


class NotFound(LookupError):
    """No live row has that id (or the prefix is ambiguous)."""


def get_live(tx: WriteTx | Session, model: type[T], ref: str, *, deleted: bool = False) -> T:
    """A row by full id or unique id prefix; `deleted=True` looks among tombstones."""
    session = tx.session if isinstance(tx, WriteTx) else tx
    # The word a user reads: the tickler table holds what everyone calls reminders.
    table = str(model.__tablename__)
    label = USER_WORDS.get(table, table)
    ref = ref.strip().lower()
    id_col = model.id  # type: ignore[attr-defined]
    dead = model.deleted_at  # type: ignore[attr-defined]
    alive = dead.is_not(None) if deleted else dead.is_(None)
    row = session.get(model, ref)
    if row is not None and (row.deleted_at is not None) == deleted:  # type: ignore[attr-defined]
        return row
    if len(ref) < MIN_PREFIX:
        raise NotFound(f"no {label} with id {ref!r} (give at least {MIN_PREFIX} characters)")
    rows = list(session.exec(select(model).where(id_col.startswith(ref), alive).limit(3)))
    if not rows:
        state = "deleted " if deleted else ""
        raise NotFound(f"no {state}{label} with id {ref!r}")
    if len(rows) > 1:
        raise NotFound(f"id prefix {ref!r} matches several {label}s; give more characters")
    return rows[0]
