"""Set-based reads and writes of the server's tables: one statement per table and batch.

A push batch reads the state of its rows once and writes its results back at the
end. SQLAlchemy's `executemany` on psycopg sends one statement per row (pipelined),
which made the write-back most of a push; here PostgreSQL gets one statement per
table with the rows as arrays (`unnest`), and SQLite gets `executemany` of one
prepared statement, which is what is fastest there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Table

_PAIRS_PER_QUERY = 400
"""Keys per SQLite query (two variables each, well under its variable limit)."""


def is_postgres(conn: Connection) -> bool:
    """Tell whether the connection talks to PostgreSQL (otherwise SQLite)."""
    return conn.dialect.name == "postgresql"


def _array_type(column: Any) -> str:
    if isinstance(column.type, Boolean):
        return "boolean[]"
    if isinstance(column.type, BigInteger):
        return "bigint[]"
    return "text[]"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


Row = Sequence[Any]
"""A row as the values of every column of its table, in the table's column order."""


def insert_rows(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert new rows: COPY on PostgreSQL, `executemany` on SQLite."""
    if not rows:
        return
    names = [c.name for c in table.columns]
    if is_postgres(conn):
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({_quoted(names)}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in names)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({_quoted(names)}) VALUES ({marks})', [tuple(r) for r in rows]
    )


def upsert_rows(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Write rows, overwriting the stored row with the same key."""
    if not rows:
        return
    columns = list(table.columns)
    names = [c.name for c in columns]
    keys = [c.name for c in table.primary_key.columns]
    changed = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n not in keys)
    head = f'INSERT INTO "{table.name}" ({_quoted(names)}) '
    conflict = f" ON CONFLICT ({_quoted(keys)}) DO UPDATE SET {changed}"
    if is_postgres(conn):
        arrays = ", ".join(f"%s::{_array_type(c)}" for c in columns)
        params = tuple(list(column) for column in zip(*rows, strict=True))
        conn.exec_driver_sql(f"{head}SELECT * FROM unnest({arrays}){conflict}", params)
        return
    marks = ", ".join("?" for _ in names)
    conn.exec_driver_sql(f"{head}VALUES ({marks}){conflict}", [tuple(r) for r in rows])


def rows_by_keys(
    conn: Connection, table: Table, keys: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The rows of a table keyed by (entity, row_id) whose key is one of `keys`."""
    if not keys:
        return []
    names = [c.name for c in table.columns]
    select = f'SELECT {", ".join(f"t.{chr(34)}{n}{chr(34)}" for n in names)} FROM "{table.name}" t'
    found: list[dict[str, Any]] = []
    if is_postgres(conn):
        query = (
            f"{select} JOIN unnest(%s::text[], %s::text[]) AS k(entity, row_id)"
            " ON t.entity = k.entity AND t.row_id = k.row_id"
        )
        result = conn.exec_driver_sql(query, ([k[0] for k in keys], [k[1] for k in keys]))
        return [dict(zip(names, r, strict=True)) for r in result]
    for start in range(0, len(keys), _PAIRS_PER_QUERY):
        chunk = keys[start : start + _PAIRS_PER_QUERY]
        values = ", ".join("(?, ?)" for _ in chunk)
        query = f"{select} WHERE (t.entity, t.row_id) IN (VALUES {values})"
        params = tuple(part for key in chunk for part in key)
        found.extend(dict(zip(names, r, strict=True)) for r in conn.exec_driver_sql(query, params))
    return found


def existing_ids(conn: Connection, table: Table, column: str, ids: Sequence[str]) -> list[Any]:
    """The rows of `table` whose `column` is one of `ids` (a key lookup)."""
    if not ids:
        return []
    if is_postgres(conn):
        query = f'SELECT * FROM "{table.name}" WHERE "{column}" = ANY(%s::text[])'
        return list(conn.exec_driver_sql(query, (list(ids),)))
    found: list[Any] = []
    for start in range(0, len(ids), 2 * _PAIRS_PER_QUERY):
        chunk = ids[start : start + 2 * _PAIRS_PER_QUERY]
        marks = ", ".join("?" for _ in chunk)
        query = f'SELECT * FROM "{table.name}" WHERE "{column}" IN ({marks})'
        found.extend(conn.exec_driver_sql(query, tuple(chunk)))
    return found
