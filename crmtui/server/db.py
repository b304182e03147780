"""The server's database: engine per URL, schema upgrades through its alembic environment."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_SQLITE_BUSY_MS = 30_000
POOLER_PARAM = "pooler"
"""`?pooler=transaction` on a PostgreSQL URL: it goes through PgBouncer in transaction pooling."""


def normalise_url(url: str) -> str:
    """Accept a bare path for SQLite and `postgresql://` for psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(url: str) -> bool:
    """Tell whether a (normalised) URL names a SQLite database."""
    return normalise_url(url).startswith("sqlite")


SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={DEFAULT_SQLITE_BUSY_MS}",
)
"""Set on every connection to a SQLite server database (read when it connects)."""


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # The server's SQLite store takes the write lock up front like the client's:
    # one writer at a time, waiting instead of failing with SQLITE_BUSY.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_server_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build the engine for a server database URL (SQLite file or PostgreSQL)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": DEFAULT_SQLITE_BUSY_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.query.get(POOLER_PARAM) == "transaction":
        # PgBouncer in transaction pooling hands each transaction any server
        # connection: a statement prepared on one is unknown on the next.
        connect_args["prepare_threshold"] = None
        url = parsed.difference_update_query([POOLER_PARAM]).render_as_string(hide_password=False)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("crmtui.server.migrations")))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade_server(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the server schema in the database behind `engine`."""
    from alembic import command

    config = _alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def server_head() -> str:
    """The newest server schema revision."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("no server migrations found")
    return head


def current_server_revision(engine: Engine) -> str | None:
    """The revision stamped in the server database, or None when it has none."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "crmtui_server_version"}
        )
        return context.get_current_revision()
