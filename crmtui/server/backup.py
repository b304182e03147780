"""Backing up and restoring the server's database, on SQLite and PostgreSQL.

A backup is one consistent moment of the whole database. On SQLite it is the
online backup API (`sqlite3.Connection.backup`, every page in one step under one
read transaction, so writers that commit meanwhile are either wholly in it or
not at all); the file it writes is a SQLite database. On PostgreSQL it is
`pg_dump --format=custom`, which reads every table in one REPEATABLE READ
transaction (one snapshot); the file is a pg_dump archive. `pg_dump` must be
the server's major version or newer and reach the primary (or a standby)
directly: PgBouncer in transaction pooling cannot carry its session.

A restore puts the server back at that moment, and the laptops are ahead of it:
their cursors name feed numbers the restored server will hand out again to other
entries, and they hold ops (theirs and others') it no longer has, marked pushed.
So a restored server takes a **new identity** (`srv_meta server_id`) and opens a
reseed window: each laptop sees the identity change before it sends anything
(`SyncClient.check_server`), sends back its full state (a union merge, in any
order) and pulls from 0, exactly the path of a server rebuilt from nothing,
except that reps, territories and tokens issued before the backup still work.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, inspect, make_url, select

from crmtui.server import tables as t
from crmtui.server.db import POOLER_PARAM, make_server_engine, normalise_url, upgrade_server
from crmtui.server.reseed import SERVER_ID, allow_reseed

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
VERSION_TABLE = "crmtui_server_version"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done (the message says why and what to do)."""


class BadBackupFile(BackupError):
    """The file given is not a backup this server can restore."""


class LiveDatabase(BackupError):
    """The restore target already holds a server; `--force` replaces it."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup holds (or a restore put back): the feed's head and devices."""

    store: str
    head: int
    devices: int


def _sqlite_path(url: str) -> Path:
    return Path(normalise_url(url).removeprefix("sqlite:///"))


def _is_sqlite(url: str) -> bool:
    return normalise_url(url).startswith("sqlite")


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for pg_dump/pg_restore from a server URL."""
    parsed = make_url(normalise_url(url))
    if parsed.query.get(POOLER_PARAM):
        raise BackupError(
            "pg_dump and pg_restore need a session: give the primary's URL, not PgBouncer's"
        )
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    args = []
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", str(parsed.database or "")]
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (the PostgreSQL client package has it)")
    return found


def _snapshot(engine: Engine) -> Snapshot:
    """The feed head and live devices of a server database."""
    with engine.connect() as conn:
        head = conn.execute(select(t.counter.c.value)).scalar() or 0
        devices = (
            conn.execute(
                select(func.count()).select_from(t.device).where(t.device.c.revoked_at.is_(None))
            ).scalar()
            or 0
        )
    return Snapshot(engine.dialect.name, int(head), int(devices))


def holds_server(url: str) -> bool:
    """Tell whether the database at `url` already holds a crmtui server schema."""
    if _is_sqlite(url):
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return False
    engine = make_server_engine(url, pool_size=1)
    try:
        return VERSION_TABLE in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def backup(url: str, dest: Path) -> Snapshot:
    """Write one consistent copy of the server database at `url` to `dest`."""
    if not holds_server(url):
        raise BackupError("the database holds no crmtui server (nothing to back up)")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    try:
        if _is_sqlite(url):
            _sqlite_backup(_sqlite_path(url), part)
        else:
            args, env = _pg_env(url)
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    *args,
                    "--file",
                    str(part),
                ],
                env,
                "pg_dump",
            )
        os.replace(part, dest)  # a half-written backup never takes the name
    finally:
        part.unlink(missing_ok=True)
    return read_backup(dest)


def _sqlite_backup(source: Path, dest: Path) -> None:
    src = sqlite3.connect(source)
    out = sqlite3.connect(dest)
    try:
        # pages=-1: the whole database in one step, under one read transaction.
        src.backup(out, pages=-1)
    finally:
        out.close()
        src.close()


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit {done.returncode}'}")


def backup_kind(path: Path) -> str:
    """`sqlite` or `pg` from a backup file's first bytes; BackupError for anything else."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BadBackupFile(f"cannot read {path}: {exc.strerror}") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg"
    raise BadBackupFile(f"{path} is not a crmtui server backup (neither SQLite nor pg_dump)")


def read_backup(path: Path) -> Snapshot:
    """What a backup file holds: its store, feed head and live devices (pg: head unknown, -1)."""
    kind = backup_kind(path)
    if kind == "pg":
        return Snapshot("postgresql", -1, -1)
    engine = make_server_engine(f"sqlite:///{path}", pool_size=1)
    try:
        if VERSION_TABLE not in inspect(engine).get_table_names():
            raise BadBackupFile(f"{path} is a SQLite file but not a crmtui server backup")
        return _snapshot(engine)
    finally:
        engine.dispose()


def restore(url: str, source: Path, *, force: bool = False, reseed_hours: float = 72) -> Snapshot:
    """Put the backup `source` into the database at `url`; a new identity, a reseed window.

    Refused (`LiveDatabase`) when `url` already holds a server, unless `force`.
    The schema is upgraded to this crmtui's head afterwards (a backup of an older
    server). Stop the workers first: they keep the identity they started with.
    """
    kind = backup_kind(source)
    target = "sqlite" if _is_sqlite(url) else "pg"
    if kind != target:
        raise BadBackupFile(
            f"{source} is a {'SQLite' if kind == 'sqlite' else 'pg_dump'} backup; it restores"
            f" into a {'SQLite file' if kind == 'sqlite' else 'PostgreSQL database'} only"
        )
    if kind == "sqlite":
        read_backup(source)  # a SQLite file that is not a server is refused before anything
    if holds_server(url) and not force:
        raise LiveDatabase(
            "the database already holds a crmtui server: pass --force to replace it"
            " with the backup (stop the server first)"
        )
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(url))
    else:
        args, env = _pg_env(url)
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                *args,
                str(source),
            ],
            env,
            "pg_restore",
        )
    engine = make_server_engine(url, pool_size=1)
    try:
        upgrade_server(engine)
        with engine.begin() as conn:
            # The feed numbers past the backup's head were handed out before: the
            # laptops must not take this for the server they synced with.
            conn.execute(delete(t.meta).where(t.meta.c.key == SERVER_ID))
            conn.execute(insert(t.meta).values(key=SERVER_ID, value=str(uuid.uuid4())))
        allow_reseed(engine, reseed_hours)
        return _snapshot(engine)
    finally:
        engine.dispose()


def _sqlite_restore(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    out = sqlite3.connect(dest, timeout=30)
    try:
        # The backup API writes the whole file under the target's write lock, WAL
        # and all, so a reader never sees half of the old and half of the new.
        src.backup(out, pages=-1)
    finally:
        out.close()
        src.close()
