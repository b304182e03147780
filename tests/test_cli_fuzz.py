"""Every command, fed extreme and malformed values, ends with a documented exit code and
no traceback (README "Exit codes": 0-4, and 65/75/76/77 for sync).

The commands are enumerated from the Typer app, so a new command is fuzzed too. Each
command gets a few examples (CRMTUI_FUZZ_EXAMPLES, default 6) against one shared
database with a contact, an account, a deal, a territory and a tickler in it, so that
real ids reach the deeper code paths.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_commands import (
    DOCUMENTED,
    SYNC_CODES,
    Command,
    Param,
    all_commands,
    run,
    write_input_files,
)

EXAMPLES = int(os.environ.get("CRMTUI_FUZZ_EXAMPLES", "6"))

# `crm` alone and `crm server run` start the app or a server and wait for it.
SKIP = {"(crm)", "server run"}
COMMANDS = [c for c in all_commands() if c.name not in SKIP]

ODD = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1e309",
    "nan",
    "inf",
    "9" * 30,
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "1180591620717411303424/30d",
    "99999999999999999999 days",
    "99999999999999999999",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udcff",
    "x" * 5000,
    "2026-02-30",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31 23:59",
    "10000-01-01",
    "1969-12-31",
    "yesterday",
    "next fri 9am",
    "in 99999999 years",
    "24:61",
    "-",
    "..",
    "/",
    "/dev/null",
    "%s%n{0}",
    "'; DROP TABLE contact;--",
    "🙂",
    "\u202e",
    "１２３",
    "²",
    "1,000,000.00 EUR",
    "92,233,720,368,547,758.07 EUR",
    "-5 EUR",
    "3/30d",
    "30d",
    "0d",
    "-5d",
    "1:99",
    "100",
    "101",
    "table",
    "json",
    "xml",
    "mine",
    "theirs",
    "won",
    "call",
]
NUMBERS = st.integers(min_value=-(2**70), max_value=2**70).map(str)
SHAPED = st.from_regex(
    r"-?[0-9]{1,22}([.,][0-9]{1,4})?( ?(EUR|JPY|KWD|usd|d|w|h|m|days|weeks))?", fullmatch=True
)


def _values(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD),
        st.sampled_from(known),
        NUMBERS,
        SHAPED,
        st.text(max_size=30),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """A working folder with a local and a server database and some rows to aim at."""
    root = tmp_path_factory.mktemp("fuzz")
    write_input_files(root / "inputs")
    local = root / "crm.db"
    server = root / "server.db"
    db = ["--db", str(local)]
    steps = [
        ["db", "upgrade", *db],
        ["contact", "add", "Jo Bloggs", "--company", "Acme", "--phone", "0151 1234567", *db],
        ["territory", "add", "North", *db],
        ["territory", "add-rep", "Ann", *db],
        ["deal", "add", "Big", "--amount", "12,500 EUR", *db],
        ["remind", "Jo Bloggs", "call back", "--due", "tomorrow 9am", *db],
        ["lead", "add", "Lee", "--company", "Leeco", *db],
        ["server", "init", "--db", str(server)],
        ["server", "add-territory", "North", "--db", str(server)],
        ["server", "add-rep", "ann", "--territory", "North", "--db", str(server)],
    ]
    for step in steps:
        ran = run(step)
        assert ran.code == 0, (step, ran.err)
    con = sqlite3.connect(local)
    known = ["Jo Bloggs", "North", "Ann", "ann", "Big", "Lee", "Acme"]
    for table in ("contact", "account", "deal", "territory", "rep", "tickler", "lead", "stage"):
        known += [row[0] for row in con.execute(f"SELECT id FROM {table}")]
    con.close()
    here = Path.cwd()
    os.chdir(root)  # commands that write files given as relative names write them here
    try:
        yield root, known
    finally:
        os.chdir(here)


def _draw_args(data: st.DataObject, command: Command, values: st.SearchStrategy[str]) -> list[str]:
    args = list(command.words)
    for param in command.params:
        if param.name == "db":
            continue
        if param.is_flag:
            if data.draw(st.booleans()):
                args.append(param.opts[0])
            continue
        wanted = param.required or data.draw(st.booleans())
        if not wanted:
            continue
        count = data.draw(st.integers(1, 2)) if param.multiple or param.nargs == -1 else 1
        for _ in range(count):
            value = _value_for(data, command, param, values)
            if param.is_argument:
                args.append(value)
            else:
                args += [data.draw(st.sampled_from(param.opts)), value]
    return args


def _value_for(
    data: st.DataObject, command: Command, param: Param, values: st.SearchStrategy[str]
) -> str:
    if command.name == "demo" and param.name == "contacts":
        # Any number of contacts is valid; a large one only takes long.
        return data.draw(st.sampled_from(["0", "-1", "1", "3", "x", "", "1e3", "9" * 30]))
    if param.kind is int or "int" in str(param.kind):
        return data.draw(st.one_of(NUMBERS, values))
    return data.draw(values)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_no_command_shows_a_traceback(command: Command, world: tuple[Path, list[str]]) -> None:
    root, known = world
    values = _values(known)
    server_db = str(root / "server.db")
    local_db = str(root / "crm.db")
    # A request to any server fails at once: no test waits on DNS or the network.
    env = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    env |= {"ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    allowed = DOCUMENTED | (
        SYNC_CODES if command.words[:1] in (("sync",), ("conflicts",)) else set()
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        args = _draw_args(data, command, values)
        db = server_db if command.words[:1] == ("server",) else local_db
        ran = run([*args, "--db", db], env=env)
        shown = f"crm {' '.join(map(repr, args))}: exit {ran.code}\n{ran.err[-2000:]}"
        assert ran.error is None, f"{shown}\n{ran.error!r}"
        assert ran.code in allowed, shown
        assert "Traceback" not in ran.out + ran.err, shown

    check()
