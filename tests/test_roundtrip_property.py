"""Property: our own exports come back unchanged (issue 15, item 6/7).

Hypothesis makes contacts with awkward text (commas, semicolons, backslashes,
quotes, accents and scripts, long values, formula-looking cells, extensions)
within today's model (the person's salutation, nickname, department, website and
birthday too). For vCard 3.0, vCard 4.0 and CSV:

- re-importing the export into the same database changes nothing: every card or
  row is "unchanged", no row is added, no field differs;
- importing it into an empty database gives every field the model holds back,
  and the source id is kept (as the external id);

and JSONL (the lossless backup) restored into an empty file exports to the same bytes.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store

FIELDS = (
    "name", "title", "email", "phone", "mobile", "city", "country", "tags", "notes",
    "salutation", "nickname", "department", "website", "birthday",
)  # fmt: skip
COLUMNS = ", ".join(FIELDS) + ", (SELECT name FROM account WHERE id = account_id) AS company"

# Text as people type it into one line: letters of several scripts, digits, the
# characters vCard and CSV escape (, ; \ " '), leading formula characters.
_CHARS = st.characters(
    codec="utf-8",
    categories=("L", "N", "Zs"),
    include_characters=",;\\\"'=+-@:./()&#–’é",
    exclude_characters="\x85\xa0\u1680\u2028\u2029\u3000",
)


def _one_line(max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(_CHARS, min_size=1, max_size=max_size)
        .map(lambda t: " ".join(t.split()))
        .filter(bool)
    )


_PHONES = st.sampled_from(
    [
        "+49 30 1234567",
        "+1 212 555 0100 ext. 12",
        "+44 20 7946 0000",
        "+33 1 42 68 53 00",
        "+39 02 12345678",
        "+353 1 555 0101",
    ]
)
_CONTACTS = st.fixed_dictionaries(
    {"name": _one_line(120)},
    optional={
        "title": _one_line(120),
        "company": _one_line(80),
        "email": st.sampled_from(
            ["jane@example.com", "o'brien+crm@example.ie", "x.y@müller.example"]
        ),
        "phone": _PHONES,
        "mobile": _PHONES,
        "city": _one_line(60),
        "country": st.sampled_from(["DE", "US", "GB", "FR", "IE"]),
        "tags": st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True), max_size=3),
        "notes": _one_line(600),
        "salutation": st.sampled_from(["Dr.", "Ms.", "Prof. Dr.", "Mr"]),
        "nickname": _one_line(40),
        "department": _one_line(60),
        "website": st.sampled_from(["https://example.com/a?b=1;c=2", "www.müller.example"]),
        "birthday": st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)),
    },
)
runner = CliRunner()


def _examples(count: int) -> Any:
    """Few examples, no deadline: each one imports and exports through the CLI."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def empty_db() -> Iterator[Path]:
    """A migrated, empty database made once; each example copies it."""
    folder = Path(tempfile.mkdtemp(prefix="roundtrip-"))
    path = folder / "empty.db"
    open_store(path).close()
    yield path
    shutil.rmtree(folder)


def _crm(db: Path, *args: str) -> str:
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 0, (args, result.stderr)
    return result.stderr


def _rows(db: Path) -> dict[str, dict[str, object]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return {
            r["id"]: dict(r)
            for r in con.execute(
                f"SELECT id, external_id, {COLUMNS} FROM contact WHERE deleted_at IS NULL"
            )
        }
    finally:
        con.close()


def _seed(db: Path, people: list[dict[str, object]]) -> None:
    store = open_store(db)
    try:
        with store.write() as tx:
            for person in people:
                create_contact(tx=tx, data=ContactCreate(**person), region="DE")  # type: ignore[arg-type]
    finally:
        store.close()


def _fields(row: dict[str, object]) -> dict[str, object]:
    return {k: row[k] for k in (*FIELDS, "company")}


EXPORTS = {
    "vcard3": (("export", "vcard"), ("import", "vcard"), ".vcf"),
    "vcard4": (("export", "vcard", "--version", "4.0"), ("import", "vcard"), ".vcf"),
    "csv": (("export", "csv", "contacts"), ("import", "csv"), ".csv"),
}


@pytest.mark.parametrize("kind", list(EXPORTS))
@_examples(6)
@given(people=st.lists(_CONTACTS, min_size=1, max_size=3))
def test_our_export_comes_back_unchanged(
    empty_db: Path, tmp_path: Path, kind: str, people: list[dict[str, object]]
) -> None:
    export, import_, suffix = EXPORTS[kind]
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    db, fresh, file = work / "crm.db", work / "fresh.db", work / f"out{suffix}"
    shutil.copy(empty_db, db)
    shutil.copy(empty_db, fresh)
    _seed(db, people)
    before = _rows(db)
    _crm(db, *export, str(file))

    summary = _crm(db, *import_, str(file))
    assert _rows(db) == before, summary  # no new rows, no changed fields
    assert f"{len(people)} unchanged" in summary

    _crm(fresh, *import_, str(file))
    arrived = {r["external_id"]: _fields(r) for r in _rows(fresh).values()}
    assert arrived == {cid: _fields(r) for cid, r in before.items()}  # source ids kept
    again = work / f"again{suffix}"
    _crm(fresh, *export, str(again))
    _crm(fresh, *import_, str(again))
    assert {r["external_id"]: _fields(r) for r in _rows(fresh).values()} == arrived


@_examples(5)
@given(people=st.lists(_CONTACTS, min_size=1, max_size=3))
def test_jsonl_restores_to_the_same_bytes(
    empty_db: Path, tmp_path: Path, people: list[dict[str, object]]
) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    db, restored = work / "crm.db", work / "restored.db"
    shutil.copy(empty_db, db)
    _seed(db, people)
    first, second = work / "one.jsonl", work / "two.jsonl"
    _crm(db, "export", "jsonl", str(first))
    _crm(restored, "import", "jsonl", str(first))
    _crm(restored, "export", "jsonl", str(second))
    assert second.read_bytes() == first.read_bytes()
