"""Opening the full-screen app from the command line (`crm`, `crm tui`)."""

from __future__ import annotations

import sys
from pathlib import Path


def _confirm_new(path: Path) -> bool:
    """Ask a person at a terminal whether to start a new, empty database at `path`."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    sys.stderr.write(f"crm: no database at {path}. Create a new, empty one there? [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def open_app(db: str | Path | None) -> int:
    """Resolve the database, create or upgrade it if needed, and run the app."""
    from crmtui.config import ConfigError
    from crmtui.dbfile import DbFileError, check, choose
    from crmtui.store.migrate import MigrationError, needs_upgrade, upgrade

    try:
        choice = choose(db)
    except ConfigError as exc:
        sys.stderr.write(f"crm: {exc}\n")
        return 2
    path = choice.path
    try:
        # The app writes, so the default database is made on first start; a path the
        # user named is made only after they confirm it (a typo must not become a file).
        check(choice, "write")
    except DbFileError as exc:
        missing = choice.explicit and not path.exists() and not path.is_symlink()
        if not (missing and _confirm_new(path)):
            sys.stderr.write(f"crm: {exc}\n")
            return 3
        try:
            check(choice, "create")
        except DbFileError as again:
            sys.stderr.write(f"crm: {again}\n")
            return 3
    try:
        # Only a new or old file pays for alembic; an up-to-date one opens straight away.
        made = None
        if needs_upgrade(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            made = upgrade(path)
    except (MigrationError, OSError) as exc:
        reason = " ".join(str(exc).split("\n")[0].split())
        sys.stderr.write(f"crm: cannot open database {path}: {reason}\n")
        return 3
    if made is not None:
        sys.stderr.write(f"crm: upgraded {path}; backup written to {made}\n")
    from crmtui.app import make_app

    app = make_app(db_path=path)
    app.run()
    # 129 when the terminal went away (crmtui/terminal_watch.py), else 0.
    return app.return_code or 0
