"""Bulk indexing (`index_many`) writes exactly the index that one `index_document` per contact writes."""

from __future__ import annotations

import random
import re
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.domain.text import _fold_unicode, digits, fold
from crmtui.search.search_index import (
    BULK_FTS_ROWS,
    FTS_DEFAULT_AUTOMERGE,
    SearchDocument,
    index_document,
    index_many,
)
from crmtui.search.search_schema import DDL
from tests.budget import examples

GIVEN = ["Jürgen", "Zoë", "José", "Łukasz", "Søren", "Æsa", "Straße", "İlker", "Yıldız",
         "Αλέξανδρος", "Борис", "Ёлка", "太郎", "Li", "Ng", "Anne-Marie", "O'Brien", "Ω"]  # fmt: skip
FAMILY = ["Müller", "García", "Nowak", "Øre", "山田", "Παπαδόπουλος", "Иванов", "Smith",
          "Dvořák", "Nguyễn", "Ærø", "X" * 30, "Ltd", "Co"]  # fmt: skip
COMPANIES = [None, "Siemens AG", "株式会社 山田", "Ελληνική Εταιρεία", "ООО Ромашка",
             "Müller & Söhne GmbH", "3M", "AB", "Société Générale 2024"]  # fmt: skip
CITIES = [None, "München", "Zürich", "東京", "Αθήνα", "Москва", "Kraków", "São Paulo", "Łódź"]
PHONES = [
    (None, None),
    ("030 2000123", "+49302000123"),
    ("+49 151 30000001", "+4915130000001"),
    ("(0)40-123 456", "+4940123456"),
    ("+1 (555) 010-1234", "+15550101234"),
    ("03-1234-5678", "+81312345678"),
    ("garbage 12", None),
]


def _documents(seed: int, count: int) -> list[SearchDocument]:
    """A varied, deterministic set of contacts: scripts, accents, phones, tags, repeats."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        docs.append(
            SearchDocument(
                ref_id=f"c{seed}-{i:05d}",
                name=name,
                company=rng.choice(COMPANIES),
                email=rng.choice([None, f"{name.split(maxsplit=1)[0].lower()}.{i}@Example.COM"]),
                phones=[rng.choice(PHONES), rng.choice(PHONES)],
                city=rng.choice(CITIES),
                tags=tuple(rng.sample(["vip", "Kunde", "données", "客户", "2024", "a"], 2)),
                archived=rng.random() < 0.1,
            )
        )
    return docs


def _index_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for statement in DDL:
        db.execute(statement)
    return db


def _tables(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Everything the index holds: documents, FTS content and postings, vocabulary."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, search_fts, instance)"
    )
    return {
        "doc": db.execute("SELECT * FROM search_doc ORDER BY doc").fetchall(),
        "fts": db.execute("SELECT rowid, * FROM search_fts ORDER BY rowid").fetchall(),
        "postings": db.execute("SELECT * FROM temp.v ORDER BY 1, 2, 3, 4").fetchall(),
        "term": db.execute("SELECT * FROM search_term ORDER BY 1").fetchall(),
        "del": db.execute("SELECT * FROM search_term_del ORDER BY 1, 2").fetchall(),
    }


def test_bulk_index_equals_one_document_at_a_time() -> None:
    earlier, docs = _documents(1, 40), _documents(2, 600)
    one, bulk = _index_db(), _index_db()
    # Both start from the same index, so new words are told apart from known ones.
    for db in (one, bulk):
        for document in earlier:
            index_document(db, document)
    for document in docs:
        index_document(one, document)
    assert index_many(bulk, iter(docs)) == len(docs)
    expected, got = _tables(one), _tables(bulk)
    assert len(got["fts"]) == 640 and len(got["term"]) > 40 and len(got["del"]) > 500
    for table in expected:
        assert got[table] == expected[table], table
    # The fixture reaches every script and the folding it must survive.
    text = " ".join(" ".join(map(str, row)) for row in got["fts"])
    for word in ("jurgen", "ore", "lukasz", "山田", "αλεξανδροσ", "борис", "елка", "strasse"):
        assert word in text, word


def test_a_large_bulk_index_skips_merging_but_leaves_the_setting_as_it_was() -> None:
    docs = _documents(3, BULK_FTS_ROWS)
    one, bulk = _index_db(), _index_db()
    bulk.execute("INSERT INTO search_fts(search_fts, rank) VALUES('automerge', 8)")
    for document in docs[:50]:
        index_document(one, document)
    assert index_many(one, iter(docs[50:])) == BULK_FTS_ROWS - 50  # no setting stored
    for document in docs[:50]:
        index_document(bulk, document)
    index_many(bulk, iter(docs[50:]))
    assert _tables(one) == _tables(bulk)  # the same postings, however segmented

    def setting(db: sqlite3.Connection) -> object:
        row = db.execute("SELECT v FROM search_fts_config WHERE k = 'automerge'").fetchone()
        return row[0] if row else None

    assert setting(bulk) == 8  # what the user's database had
    assert setting(one) in (None, FTS_DEFAULT_AUTOMERGE)  # FTS5 keeps no row for its default


def test_bulk_index_of_nothing_writes_nothing() -> None:
    db = _index_db()
    assert index_many(db, []) == 0
    assert all(not rows for rows in _tables(db).values())


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=0x7F)))
def test_ascii_fold_shortcut_equals_the_unicode_fold(text: str) -> None:
    assert fold(text) == _fold_unicode(text)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("0123456789 +-()./x٣۴²\u00a0")))
def test_phone_digits_shortcut_equals_the_regex(text: str) -> None:
    assert digits(text) == re.sub(r"\D+", "", text)


def _contact_rows(seed: int, count: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Contact table rows (as an import holds them) and the account names they point at."""
    rng = random.Random(seed)
    accounts = {f"a{i}": name for i, name in enumerate(COMPANIES) if name}
    rows: list[dict[str, Any]] = []
    for i in range(count):
        phone, mobile = rng.choice(PHONES), rng.choice(PHONES)
        rows.append(
            {
                "id": f"r{seed}-{i:05d}",
                "name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
                "account_id": rng.choice([None, "gone", *accounts]),
                "email": rng.choice([None, "", f"x.{i}@Example.COM", f"zoë.{i}@bücher.de"]),
                "phone": phone[0],
                "phone_e164": phone[1],
                "mobile": mobile[0],
                "mobile_e164": mobile[1],
                "city": rng.choice(CITIES),
                "tags": rng.choice([[], None, ["vip", "Kunde"], ["données", "客户", "2024"]]),
                "archived_at": rng.choice([None, None, "2026-01-01T00:00:00.000000Z"]),
            }
        )
    return rows, accounts


def test_contact_rows_index_equals_documents_index() -> None:
    from crmtui.search.search_index import index_contact_rows

    earlier = _documents(1, 40)
    rows, accounts = _contact_rows(3, 600)
    documents = [
        SearchDocument(
            ref_id=r["id"],
            name=r["name"],
            company=accounts.get(r["account_id"]) if r["account_id"] else None,
            email=r["email"],
            phones=[(r["phone"], r["phone_e164"]), (r["mobile"], r["mobile_e164"])],
            city=r["city"],
            tags=tuple(r["tags"] or ()),
            archived=r["archived_at"] is not None,
        )
        for r in rows
    ]
    by_documents, by_rows = _index_db(), _index_db()
    for db in (by_documents, by_rows):
        index_many(db, earlier)
    assert index_many(by_documents, documents) == len(rows)
    assert index_contact_rows(by_rows, rows, accounts) == len(rows)
    expected, got = _tables(by_documents), _tables(by_rows)
    assert len(got["fts"]) == 640 and any(row[3] for row in got["doc"])
    for table in expected:
        assert got[table] == expected[table], table
    assert index_contact_rows(by_rows, [], accounts) == 0


_PHONE_TEXT = st.one_of(
    st.none(),
    st.just(""),
    st.text(st.sampled_from("0123456789 +-()/x٣"), max_size=14),
    st.from_regex(r"\+[1-9][0-9]{4,13}", fullmatch=True),
)


@settings(max_examples=examples(1500), deadline=None)
@given(_PHONE_TEXT, _PHONE_TEXT, _PHONE_TEXT, _PHONE_TEXT)
def test_contact_phone_column_equals_phone_column(
    phone: str | None, phone_e164: str | None, mobile: str | None, mobile_e164: str | None
) -> None:
    from crmtui.search.search_index import contact_phone_column, phone_column

    assert contact_phone_column(phone, phone_e164, mobile, mobile_e164) == phone_column(
        ((phone, phone_e164), (mobile, mobile_e164))
    )


def test_contact_phone_column_keeps_each_key_once_in_order() -> None:
    from crmtui.search.search_index import contact_phone_column

    # The mobile repeats the phone: its keys are not written twice.
    assert contact_phone_column("030 1234", "+49301234", "030 1234", "+49301234") == (
        "49301234 43210394 301234"
    )
    assert contact_phone_column(None, None, "0151 1", "+491511") == "491511 115194 1511"


@settings(max_examples=examples(3000), deadline=None)
@given(
    st.text(st.characters(max_codepoint=0x17F), max_size=30)
    | st.text(st.sampled_from("aeß½ŉĿ\u0301\u0308ëé한국ㅎㅏ\u1100\u1161Σς.@ İ"), max_size=12)
)
def test_latin_fold_equals_fold(text: str) -> None:
    from crmtui.search.search_index import fold_latin

    assert fold_latin(text) == fold(text)


def test_latin_fold_of_every_pair_of_latin_characters() -> None:
    from crmtui.search.search_index import fold_latin

    latin = [chr(i) for i in range(0x180)]
    assert all(fold_latin(a + b) == fold(a + b) for a in latin for b in latin)
