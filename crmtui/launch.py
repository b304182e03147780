"""Opening the full-screen app from the command line (`crm`, `crm tui`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def open_app(db: str | Path | None) -> int:
    """Resolve the database, create or upgrade it if needed, and run the app."""
    from crmtui.config import ConfigError, resolve_db_path
    from crmtui.store.migrate import MigrationError, needs_upgrade, upgrade

    try:
        path = resolve_db_path(db)
    except ConfigError as exc:
        sys.stderr.write(f"crm: {exc}\n")
        return 2
    explicit = db or os.environ.get("CRMTUI_DB")
    if explicit and not path.exists():
        # A mistyped --db must not quietly become a new, empty database.
        sys.stderr.write(
            f"crm: no database at {path}\n"
            f"  build a demo:   crm demo --db {path}\n"
            f"  or start empty: crm db upgrade --db {path}\n"
        )
        return 3
    try:
        # Only a new or old file pays for alembic; an up-to-date one opens straight away.
        made = None
        if needs_upgrade(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            made = upgrade(path)
    except (MigrationError, OSError) as exc:
        sys.stderr.write(f"crm: cannot open database {path}: {exc}\n")
        return 3
    if made is not None:
        sys.stderr.write(f"crm: upgraded {path}; backup written to {made}\n")
    from crmtui.app import make_app

    make_app(db_path=path).run()
    return 0
