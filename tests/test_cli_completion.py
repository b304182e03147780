"""Tab completion through the installed `crm` entry point, as a shell runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

CRM = Path(sys.executable).parent / "crm"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _people() -> None:
    open_store(Path(os.environ["CRMTUI_DB"])).close()
    for name, company in (("René Haber", "Habr"), ("Renate Klein", None), ("Bob Stone", None)):
        args = ["contact", "add", name] + (["--company", company] if company else [])
        assert runner.invoke(app, args).exit_code == 0


def complete(shell: str, words: str, **extra: str) -> str:
    """What the completion script of `shell` would get back for the typed `words`."""
    env = {**os.environ, "_CRM_COMPLETE": f"complete_{shell}", **extra}
    if shell == "bash":
        env |= {
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
    else:
        env |= {"_TYPER_COMPLETE_ARGS": words}
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    done = subprocess.run(
        [str(CRM)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def test_bash_completes_contact_names_with_escaped_spaces_and_kinds() -> None:
    assert complete("bash", "crm log call Ren").split() == ["René\\", "Haber", "Renate\\", "Klein"]
    assert complete("bash", "crm log call ren").splitlines() == ["rené\\ Haber", "renate\\ Klein"]
    assert complete("bash", "crm log me").split() == ["meeting"]
    assert complete("bash", "crm ma").split() == ["mail"]


def test_zsh_and_fish_show_the_company_beside_the_name() -> None:
    assert '"René Haber":"Habr"' in complete("zsh", "crm show Ren")
    fish = complete("fish", "crm mail write Bo").splitlines()
    assert fish[0].startswith("Bob Stone\t")


def test_show_completion_prints_a_script_for_each_shell() -> None:
    # Named, not detected from the parent process (as `crm --show-completion` does in a shell).
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in (
        ("bash", "complete -o default -F"),
        ("zsh", "compdef"),
        ("fish", "complete --command crm"),
    ):
        done = subprocess.run(
            [str(CRM), "--show-completion", shell],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and marker in done.stdout, (shell, done.stdout, done.stderr)
        assert "_CRM_COMPLETE" in done.stdout


def test_a_missing_database_completes_nothing_quietly(tmp_path: Path) -> None:
    assert complete("bash", f"crm --db {tmp_path / 'none.db'} show Ren").strip() == ""


@pytest.mark.parametrize(
    ("shell", "words"),
    [
        ("bash", "crm log call Ren"),
        ("bash", "crm show "),
        ("zsh", "crm show Ren"),
        ("zsh", "crm mail write Xy"),
        ("fish", "crm activities Bo"),
    ],
)
def test_the_fast_answer_is_what_typer_would_print(shell: str, words: str) -> None:
    """Contact words are answered by `quickcli.complete_fast` (no Typer): same output."""
    from crmtui.quickcli import complete_fast

    env = {"_CRM_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env |= {
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
    else:
        env |= {"_TYPER_COMPLETE_ARGS": words, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    fast = complete_fast({**os.environ, **env})
    assert fast is not None
    typer_said = runner.invoke(app, [], env=env, prog_name="crm")
    assert (fast[0], fast[1]) == (typer_said.stdout.rstrip("\n"), typer_said.exit_code)


def test_commands_and_options_are_left_to_typer() -> None:
    from crmtui.quickcli import complete_fast

    for words in ("crm ma", "crm log ca", "crm show --fo", "crm find Ren"):
        env = {"_CRM_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
        assert complete_fast(env) is None, words
