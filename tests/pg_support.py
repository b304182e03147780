"""The test PostgreSQL server (127.0.0.1:5432): how a test database is made."""

from __future__ import annotations

from typing import Any

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
"""The test PostgreSQL server's admin database (CRMTUI_PG_DSN overrides it)."""


def pg_test_database(admin: Any, name: str, template: str | None = None) -> None:
    """CREATE DATABASE `name` (a copy of `template` if given) for one test.

    Its commits do not wait for the WAL to reach the disk (`synchronous_commit = off`):
    that wait is what survives a crash of PostgreSQL itself, which no test makes; what
    a transaction sees, locks and commits is the same. (A copy made with TEMPLATE does
    not inherit the setting, hence one place that makes both.)
    """
    copy = f' TEMPLATE "{template}"' if template else ""
    admin.execute(f'CREATE DATABASE "{name}"{copy}')
    admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
