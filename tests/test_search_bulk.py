"""Bulk indexing (`index_many`) writes exactly the index that one `index_document` per contact writes."""

from __future__ import annotations

import random
import re
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.store.search_index import SearchDocument, index_document, index_many
from crmtui.store.search_schema import DDL
from crmtui.store.text import _fold_unicode, digits, fold

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
