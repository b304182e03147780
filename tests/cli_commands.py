"""Every command of the Typer app, enumerated, with arguments good enough to reach the database.

Used by the `--db` tests and the option fuzzing, so a new command is covered by both
without anyone remembering to add it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main
import typer.testing

from crmtui.cli import app
from crmtui.store.schema_version import SCHEMA_HEAD

_CLICK = typer.main.get_command(app)
_RUNNER = typer.testing.CliRunner()


@dataclass(frozen=True)
class Ran:
    """What one command did."""

    code: int
    out: str
    err: str
    error: BaseException | None
    """An exception that escaped the command (a traceback for a user), else None."""


def run(args: Sequence[str], **kwargs: Any) -> Ran:
    """Invoke the app like `crm ARGS` (Typer's runner; conftest builds its click tree once)."""
    result = _RUNNER.invoke(app, list(args), **kwargs)
    error = result.exception
    if isinstance(error, SystemExit):
        error = None
    return Ran(result.exit_code, result.stdout, result.stderr, error)


CREATORS = frozenset(
    {
        "demo",
        "import csv",
        "import jsonl",
        "import vcard",
        "import accounts",
        "import deals",
        "db upgrade",
        "sync login",
        "server init",
        "server run",
        "server restore",
    }
)
"""Commands that may create a missing database named with --db (README, crmtui.dbfile)."""

SYNC_CODES = frozenset({65, 75, 76, 77})
DOCUMENTED = frozenset({0, 1, 2, 3, 4})


@dataclass(frozen=True)
class Param:
    """One parameter of a command, as the fuzzer and the `--db` test need it."""

    name: str
    opts: tuple[str, ...]
    is_argument: bool
    required: bool
    is_flag: bool
    multiple: bool
    nargs: int
    kind: Any  # the Python annotation


@dataclass(frozen=True)
class Command:
    """A command's words (`["contact", "edit"]`) and its parameters."""

    words: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def name(self) -> str:
        """The command as typed after `crm`."""
        return " ".join(self.words) or "(crm)"


def _params(cmd: Any) -> tuple[Param, ...]:
    out = []
    for p in cmd.params:
        if p.name in ("version",):
            continue
        out.append(
            Param(
                name=p.name,
                opts=tuple(p.opts),
                is_argument=type(p).__name__ == "TyperArgument",
                required=bool(p.required),
                is_flag=bool(getattr(p, "is_flag", False)),
                multiple=bool(p.multiple),
                nargs=int(p.nargs),
                kind=p.type_descriptor.annotation,
            )
        )
    return tuple(out)


def all_commands() -> list[Command]:
    """Every runnable command: leaf commands and groups that run on their own."""
    found: list[Command] = []

    def walk(cmd: Any, words: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            if getattr(cmd, "invoke_without_command", False):
                found.append(Command(words, _params(cmd)))
            for name, sub in cmd.commands.items():
                if name == "tui" and not words:
                    continue  # the same as `crm` alone, which the root entry covers
                walk(sub, (*words, name))
        else:
            found.append(Command(words, _params(cmd)))

    walk(_CLICK, ())
    return found


def _is_path(kind: Any) -> bool:
    return "Path" in str(kind)


def sample_value(command: Command, param: Param, files: Path) -> str:
    """A plausible value for a required parameter, so the command gets as far as its database."""
    specific = {
        ("log", "kind"): "call",
        ("snooze", "until"): "1h",
        ("defer", "to"): "1d",
        ("remind", "due"): "tomorrow 9am",
        ("lead status", "new_status"): "contacted",
        ("conflicts resolve", "keep"): "mine",
        ("sync login", "server"): "http://127.0.0.1:9",
        ("sync login", "token"): "t0ken",
        ("dav setup", "url"): "http://127.0.0.1:9",
        ("deal lost", "reason"): "price",
        ("lead disqualify", "reason"): "spam",
        ("server issue-token", "device"): "laptop",
        ("export csv", "entity"): "contacts",
        ("db backup", "target"): str(files / "backup-target.db"),
        ("import csv", "file"): str(files / "in.csv"),
        ("import jsonl", "file"): str(files / "in.jsonl"),
        ("import vcard", "path"): str(files / "in.vcf"),
        ("import accounts", "file"): str(files / "in-accounts.csv"),
        ("import deals", "file"): str(files / "in-deals.csv"),
        ("sync rescue replay", "file"): str(files / "rescue.jsonl"),
        ("plan add", "file"): str(files / "in-plan.toml"),
        ("script add", "file"): str(files / "in-script.toml"),
        ("rates import", "path"): str(files / "in-rates.csv"),
        ("rates convert", "amount"): "10 EUR",
        ("rates convert", "to"): "USD",
        ("product import", "path"): str(files / "in-products.csv"),
        ("price-list import", "path"): str(files / "in-prices.csv"),
        ("tax-class set", "rate"): "19",
        ("product cross-sell", "missing"): "y",
        ("server form add", "file"): str(files / "in-form.toml"),
        ("score rules add", "file"): str(files / "in-scoring.toml"),
    }
    key = (command.name, param.name)
    if key in specific:
        return specific[key]
    if "int" in str(param.kind) or "float" in str(param.kind):
        return "1"
    if _is_path(param.kind):
        return str(files / f"{param.name}.out")
    return "x"


def write_input_files(files: Path) -> None:
    """Small valid inputs for the import commands."""
    files.mkdir(parents=True, exist_ok=True)
    (files / "in.csv").write_text("name,email\nJo Bloggs,jo@example.com\n", encoding="utf-8")
    header = {"format": "crmtui-jsonl", "version": 1, "schema": SCHEMA_HEAD}
    (files / "in.jsonl").write_text(json.dumps(header) + "\n", encoding="utf-8")
    (files / "in-accounts.csv").write_text("name,city\nInitech,Austin\n", encoding="utf-8")
    (files / "in-deals.csv").write_text(
        "name,account,stage,amount\nTPS,Initech,Lead In,100 EUR\n", encoding="utf-8"
    )
    rescue = {"crmtui_rescue": 1, "device_id": "01a00000-0000-7000-8000-000000000000"}
    (files / "rescue.jsonl").write_text(json.dumps(rescue) + "\n", encoding="utf-8")
    (files / "in-plan.toml").write_text(
        'name = "Intro"\n\n[[step]]\nkind = "call"\nwait = 0\n', encoding="utf-8"
    )
    (files / "in-script.toml").write_text(
        'name = "Intro"\n\n[[question]]\ntext = "Budget?"\n', encoding="utf-8"
    )
    (files / "in-rates.csv").write_text("Date,USD\n2025-04-25,1.1357\n", encoding="utf-8")
    (files / "in-products.csv").write_text("sku,name\nW-1,Widget\n", encoding="utf-8")
    (files / "in-prices.csv").write_text("sku,price\nW-1,10.00\n", encoding="utf-8")
    (files / "in-scoring.toml").write_text(
        '[[rule]]\nwhen = "source"\nis = "web"\npoints = 5\n', encoding="utf-8"
    )
    (files / "in-form.toml").write_text(
        'name = "web"\nterritory = "North"\n\n[[field]]\nname = "name"\nrequired = true\n',
        encoding="utf-8",
    )
    (files / "in.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jo Bloggs\r\nEND:VCARD\r\n", encoding="utf-8"
    )


def base_args(command: Command, files: Path) -> list[str]:
    """The command's words and a sample value for each required parameter."""
    args = list(command.words)
    # Options that are optional one by one but of which a command needs some.
    args += {
        "merge": ["x", "y"],
        "remind": ["x"],
        "contact edit": ["--city", "x"],
        "contact tag": ["x"],
        "account edit": ["--city", "x"],
        "pipeline stage-edit": ["--name", "x"],
        "territory assign": ["--rep", "x"],
        "plan enrol": ["x"],
        "server rep leave": ["--clear"],
        "dav restore": ["--all"],
    }.get(command.name, [])
    for param in command.params:
        if not param.required or param.name == "db":
            continue
        value = sample_value(command, param, files)
        if param.is_argument:
            args.append(value)
        else:
            args += [param.opts[0], value]
    if command.name == "log":
        args.append("x")  # WHO: optional only for `crm log email`, which reads a mail instead
    return args
