"""Running one service call from a command: settings, errors and exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from crmtui.commands.common import EXIT_NOT_FOUND, fail, open_db
from crmtui.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

T = TypeVar("T")


def settings_or_exit() -> Settings:
    """The user's settings, or exit 2 with the config file's problem."""
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    from crmtui.domain.validate import InvalidInput
    from crmtui.store.resolve import NotFound

    try:
        yield
    except InvalidInput as exc:
        fail(f"invalid {exc.field}: {exc.message} (nothing was saved)")
    except NotFound as exc:
        fail(str(exc), EXIT_NOT_FOUND)


def run_write(
    ctx: typer.Context,
    db: Path | None,
    action: Callable[[WriteTx], T],
    *,
    undo: str | Callable[[T], str] | None = None,
) -> T:
    """Open the store and run `action` in one write transaction, mapping errors to exits.

    With `undo` (the change's name, or a function of the result giving it), the write
    is recorded as the app records its own: `crm undo` and the app's recent actions
    list show it and can reverse it.
    """
    store = open_db(ctx, db)
    try:
        with _errors_to_exit(), store.write() as tx:
            if undo is None:
                return action(tx)
            from crmtui.services.upkeep.undo import record

            return record(tx, undo, action)[0]
    finally:
        store.close()


def publish_file(
    ctx: typer.Context,
    db: Path | None,
    file: Path,
    *,
    check: Callable[[str, str], object],
    refused: type[Exception],
    publish: Callable[[WriteTx, str, str], T],
) -> T:
    """Read a reference file (a plan, call script or scoring rules), check it, publish it.

    `check(text, source)` raises `refused` naming the file's line and field (exit 2,
    nothing saved); `publish(tx, text, source)` writes it in one transaction.
    """
    from crmtui.commands.common import input_file, one_line

    path = input_file(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it ({one_line(exc)})")
    try:
        check(text, str(path))
    except refused as exc:
        fail(f"{exc} (nothing was saved)")
    return run_write(ctx, db, lambda tx: publish(tx, text, str(path)))
