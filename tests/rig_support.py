"""The scale-out rig for tests: scripts/rig.py started once per session, a database per test.

Skipped with the reason when the machine lacks PostgreSQL's server binaries or
PgBouncer, unless CRMTUI_REQUIRE_PG=1 (CI, where .ci/run installs PgBouncer), in
which case that fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "rig.py"


def rig_module() -> ModuleType:
    """scripts/rig.py as a module (scripts/ is not a package)."""
    name = "crmtui_rig_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def rig() -> Iterator[object]:
    """A running rig (primary, standby, PgBouncer; no server workers)."""
    module = rig_module()
    reason = module.missing()
    if reason:
        if os.environ.get("CRMTUI_REQUIRE_PG") == "1":
            pytest.fail(f"the scale-out rig is required (CRMTUI_REQUIRE_PG=1): {reason}")
        pytest.skip(f"the scale-out rig cannot start: {reason}; set CRMTUI_REQUIRE_PG=1 to fail")
    # Not under pytest's temporary directory: its folders are private to this user,
    # and the database processes run as `postgres` when the tests run as root.
    base = Path(tempfile.mkdtemp(prefix="crmtui-rig-"))
    base.chmod(0o755)
    directory = base / "rig"
    try:
        started = module.up(directory, workers=0)
        yield started
    finally:
        module.down(directory)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def rig_db(rig: object) -> Iterator[str]:
    """A fresh database on the rig's primary, replicated to its standby; dropped afterwards."""
    import psycopg

    name = f"crmtui_rig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(rig.dsn("primary", "postgres"), autocommit=True) as admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')
    rig_module().wait_replayed(rig)
    try:
        yield name
    finally:
        with psycopg.connect(rig.dsn("primary", "postgres"), autocommit=True) as admin:  # type: ignore[attr-defined]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def replay(rig: object, *, paused: bool) -> None:
    """Pause or resume the standby's WAL replay (it keeps receiving WAL meanwhile)."""
    import psycopg

    call = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
    with psycopg.connect(rig.dsn("replica", "postgres"), autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(f"SELECT {call}")
