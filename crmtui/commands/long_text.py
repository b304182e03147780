"""Long texts for the shell: `-` reads standard input, `--edit` opens `$VISUAL`/`$EDITOR`."""

from __future__ import annotations

import sys

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


def edit(initial: str, *, suffix: str = ".txt") -> str:
    """Open the editor on `initial`; the saved text (exit 2 when the editor fails)."""
    from crmtui.editor import EditorError, edit_text

    try:
        return edit_text(initial, suffix=suffix)
    except EditorError as exc:
        fail(str(exc))
