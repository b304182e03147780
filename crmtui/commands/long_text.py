"""Long texts for the shell: `-` reads standard input, `--edit` opens `$VISUAL`/`$EDITOR`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from crmtui.commands.common import fail

MAX_TEXT_BYTES = 1_000_000


def from_stdin(what: str) -> str:
    """The whole of standard input as text (exit 2 when it is a terminal or not UTF-8)."""
    if sys.stdin.isatty():
        fail(f"{what} '-' reads standard input: pipe the text in (or use --edit)")
    data = sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        fail(f"{what} from standard input is larger than {MAX_TEXT_BYTES // 1000} kB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{what} from standard input is not UTF-8 text ({exc.reason} at byte {exc.start})")


def text_argument(value: str | None, what: str) -> str | None:
    """A text argument as given, or standard input when it is `-`."""
    return from_stdin(what) if value == "-" else value


def editor_command() -> list[str]:
    """The user's editor as a command line: $VISUAL, then $EDITOR, then vi."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(chosen)
    except ValueError:
        fail(f"cannot read the editor command {chosen!r} ($VISUAL/$EDITOR)")
    return words or ["vi"]


def edit(initial: str, *, suffix: str = ".txt") -> str:
    """Open the editor on `initial`; the saved text (exit 2 when the editor fails)."""
    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="crm-") as folder:
        path = Path(folder) / f"crm-edit{suffix}"
        path.write_text(initial, encoding="utf-8")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            fail(f"cannot run the editor {command[0]!r}: {exc.strerror or exc}")
        if done.returncode != 0:
            fail(f"the editor {command[0]!r} exited with {done.returncode}; nothing was saved")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the edited text: {exc}")
