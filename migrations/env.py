"""Alembic environment: targets SQLModel.metadata, batch mode for SQLite."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from crmtui.search.search_schema import is_search_table
from crmtui.store import models  # noqa: F401  (registers every table on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """Leave the FTS5 tables (made by raw SQL in the migrations) out of autogenerate."""
    return not (type_ == "table" and name is not None and is_search_table(name))


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    # `alembic -c migrations/alembic.ini -x db=dev.db ...` points a developer's run at a file.
    db_arg = context.get_x_argument(as_dictionary=True).get("db")
    url = f"sqlite:///{db_arg}" if db_arg else config.get_main_option("sqlalchemy.url")
    engine = create_engine(url or "sqlite:///dev.db")
    with engine.connect() as conn:
        _configure(conn)
