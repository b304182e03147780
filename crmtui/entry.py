"""The `crm` console script: routes shell lookups to the fast path, the rest to Typer.

`crm` alone opens the app directly. `crm find` and `crm who` must answer in little more than Python's own start-up
(TARGETS.md), so they are parsed with argparse and answered with sqlite3 and
rapidfuzz alone; importing Typer runs pydantic and costs more than the whole
lookup. Everything else, `--help` included, goes through the Typer app.
"""

from __future__ import annotations

import sys

FAST_COMMANDS = frozenset({"find", "who", "email"})
PROMPT_FLAGS = frozenset({"--count", "--prompt"})
"""`crm due` with one of these is a prompt's question: the fast path answers it."""


def _split_global_db(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate a leading `--db PATH` (global option) from the command words."""
    head: list[str] = []
    rest = list(argv)
    while rest:
        if rest[0] == "--db" and len(rest) > 1:
            head += rest[:2]
            rest = rest[2:]
        elif rest[0].startswith("--db="):
            head.append(rest.pop(0))
        else:
            break
    return head, rest


def main(argv: list[str] | None = None) -> None:
    """Run the crm command line."""
    try:
        _dispatch(argv)
    except BrokenPipeError:
        # `crm find x | head`: the reader left; that is not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def _dispatch(argv: list[str] | None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    import os

    if os.environ.get("_CRM_COMPLETE"):
        # A shell asking for completions (COMP_WORDS, not argv, holds the words). A
        # contact name is answered here with sqlite3; the rest (commands, options) by Typer.
        from crmtui.quickcli import complete_fast

        answer = complete_fast(dict(os.environ))
        if answer is not None:
            sys.stdout.write(answer[0] + ("\n" if answer[0] else ""))
            sys.exit(answer[1])
        from crmtui.cli import app as completing

        completing(args=argv, prog_name="crm")
        return
    head, rest = _split_global_db(argv)
    wants_help = any(a in ("-h", "--help") for a in rest)
    fast = rest and (
        rest[0] in FAST_COMMANDS or (rest[0] == "due" and PROMPT_FLAGS.intersection(rest))
    )
    if fast and not wants_help:
        from crmtui.fastcli import run

        sys.exit(run(rest + head))
    if (not rest or rest == ["tui"]) and not wants_help:
        # The app should paint as soon as a bare Textual app would: skip Typer.
        from crmtui.launch import open_app

        db = head[-1].removeprefix("--db=") if head else None
        sys.exit(open_app(db))
    from crmtui.cli import app

    app(args=argv, prog_name="crm")
