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


def live_id(tx: WriteTx, model: type[SQLModel], ref: str) -> str:
    """The id of a live row by full id or unique prefix, as `get_live(...).id`, without loading it.

    A write that only points at a row (an activity's contact, a reminder's deal)
    needs its id, not the ORM object: loading a contact builds ~40 attributes, ~0.5 ms
    of a write that must take 10. The session is flushed first when it holds
    changes, so the row is read as this transaction left it. A prefix, or an id
    that is no live row, goes through `get_live` for its message.
    """
    session = tx.session
    if session.new or session.dirty or session.deleted:
        session.flush()
    wanted = ref.strip().lower()
    row = tx.db.execute(
        f"SELECT id FROM {model.__tablename__} WHERE id = ? AND deleted_at IS NULL", (wanted,)
    ).fetchone()
    if row is not None:
        return str(row[0])
    return str(get_live(tx, model, ref).id)  # type: ignore[attr-defined]
