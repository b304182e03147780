"""The user's text editor ($VISUAL, then $EDITOR, then vi), for the CLI and for the app."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path


class EditorError(Exception):
    """The editor could not be run, failed, or its text cannot be read; nothing was saved."""


def editor_command() -> list[str]:
    """The user's editor as a command line; raises EditorError when it cannot be read."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(chosen)
    except ValueError:
        raise EditorError(f"cannot read the editor command {chosen!r} ($VISUAL/$EDITOR)") from None
    return words or ["vi"]


def edit_text(initial: str, *, suffix: str = ".txt") -> str:
    """Open the editor on `initial` in a private temporary file; the text as saved."""
    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="crm-") as folder:
        path = Path(folder) / f"crm-edit{suffix}"
        path.write_text(initial, encoding="utf-8")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise EditorError(
                f"cannot run the editor {command[0]!r}: {exc.strerror or exc}"
            ) from None
        if done.returncode != 0:
            raise EditorError(
                f"the editor {command[0]!r} exited with {done.returncode}; nothing was saved"
            )
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EditorError(f"cannot read the edited text: {exc}") from None
