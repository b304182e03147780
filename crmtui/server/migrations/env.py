"""Alembic environment of the server's own schema (separate from the client's).

Its version table is `crmtui_server_version`, so a server database can never be
mistaken for a laptop's, and the same scripts run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from crmtui.server.tables import metadata

VERSION_TABLE = "crmtui_server_version"
config = context.config


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///server.db")
    with engine.connect() as conn:
        _configure(conn)
