"""Every command's `--help` at 80 columns: flags without a value type, paragraphs wrapped whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from crmtui.cli import app

runner = CliRunner()


def _paths(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in sorted(command.list_commands(ctx)):
            yield from _paths(command.get_command(ctx, name), [*path, name])


def _help(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, (path, result.output)
    return result.output


def test_every_command_has_help_and_no_flag_reads_as_taking_a_value() -> None:
    commands = list(_paths(get_command(app), []))
    assert len(commands) > 150  # the walk found the whole tree, groups and their commands
    for path in commands:
        text = _help(path)
        assert "Traceback" not in text, path
        assert "<bool>" not in text, (path, text)


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        # Text in angle brackets is a placeholder, not markup to drop.
        (["import", "csv"], "<file>.rejects.csv"),
        (["export", "vcard"], "<id>.vcf"),
        # A config section's name in brackets is text, not console markup.
        (["mail", "scan"], "[mail]"),
    ],
)
def test_help_text_keeps_what_the_docstring_says(path: list[str], kept: str) -> None:
    text = " ".join(_help(path).replace("│", " ").split())
    assert kept in text


def test_a_paragraph_wraps_at_the_terminal_not_at_the_docstring_s_line_breaks() -> None:
    # The source breaks after "(unless"; at 80 columns that line did not fit, so it
    # wrapped once more and left "(unless" alone on a line of its own.
    lines = _help(["import", "csv"]).splitlines()
    assert any("(unless --skip-bad)" in line for line in lines), "\n".join(lines)
