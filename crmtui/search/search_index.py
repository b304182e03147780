"""Keeps the search index in step with contacts (the write side of search).

Called by the services inside their write transaction, on the same sqlite3
connection, so an index entry can never disagree with a committed row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from crmtui.domain.text import digits, fold, phone_keys, tokens

MIN_VOCAB_LEN = 3
MAX_VOCAB_LEN = 24


def max_edits(word: str) -> int:
    """How many edits a word of this length may carry and still be corrected."""
    n = len(word)
    if n < MIN_VOCAB_LEN:
        return 0
    return 1 if n <= 4 else 2


def deletions(word: str, depth: int) -> set[str]:
    """All strings made by removing up to `depth` characters from `word`."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        nxt: set[str] = set()
        for w in frontier:
            if len(w) <= 1:
                continue
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        found |= nxt
        frontier = nxt
    return found


@dataclass(frozen=True)
class SearchDocument:
    """The searchable text of one contact, before folding."""

    ref_id: str
    name: str
    company: str | None = None
    email: str | None = None
    phones: Sequence[tuple[str | None, str | None]] = ()  # (as typed, E.164)
    city: str | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    archived: bool = False
    kind: str = "contact"

    def columns(self) -> tuple[str, str, str, str, str, str]:
        """Folded values for the FTS columns, in table order."""
        return (
            fold(self.name),
            fold(self.company or ""),
            fold(self.email or ""),
            phone_column(self.phones),
            fold(self.city or ""),
            fold(" ".join(self.tags)),
        )

    def texts(self) -> tuple[str, str, str, str]:
        """The texts whose words make up the vocabulary: name, company, city and tags."""
        return (self.name or "", self.company or "", self.city or "", " ".join(self.tags))

    def vocabulary(self) -> set[str]:
        """Words worth correcting typos towards: names, company, city and tags."""
        words: set[str] = set()
        for text in self.texts():
            words |= vocabulary_words(text)
        return words


def phone_column(phones: Sequence[tuple[str | None, str | None]]) -> str:
    """The `phones` column: every phone's keys (see `phone_keys`), each once, in order."""
    keys: list[str] = []
    for typed, e164 in phones:
        for key in phone_keys(e164, typed):
            if key not in keys:
                keys.append(key)
    return " ".join(keys)


_LATIN_END = "\u0180"  # Basic Latin, Latin-1 Supplement and Latin Extended-A


@cache
def _latin_table() -> dict[int, str]:
    """`fold` of each character below U+0180, as a `str.translate` table."""
    return {i: fold(chr(i)) for i in range(ord(_LATIN_END))}


def fold_latin(text: str) -> str:
    """`fold(text)`, for Latin text one `translate` instead of two normalisations.

    Below U+0180 there are no combining marks, and what each character folds to
    (ASCII, "ss", "ae", "1⁄2", "l·", "ʼn", "μ") never composes with its neighbour,
    so folding the text is folding each character (tests/test_search_bulk.py).
    """
    if text.isascii():
        return text.lower()
    if max(text) < _LATIN_END:
        return text.translate(_latin_table())
    return fold(text)


def contact_phone_column(
    phone: str | None, phone_e164: str | None, mobile: str | None, mobile_e164: str | None
) -> str:
    """`phone_column(((phone, phone_e164), (mobile, mobile_e164)))` without a list per phone.

    `phone_column` keeps the first of each key of `phone_keys` in order, and
    `phone_keys` drops only keys that are already there, so the column is every
    key in order, each once (tests/test_search_bulk.py compares the two).
    """
    keys: list[str] = []
    for typed, e164 in ((phone, phone_e164), (mobile, mobile_e164)):
        if e164:
            # E.164 is "+" and digits: `digits` gives what follows the "+".
            d = e164[1:] if e164[0] == "+" and e164[1:].isdecimal() else digits(e164)
            if d not in keys:
                keys.append(d)
            d = d[::-1]
            if d not in keys:
                keys.append(d)
        if typed:
            n = digits(typed).lstrip("0")
            if n and n not in keys:
                keys.append(n)
    return " ".join(keys)


@lru_cache(maxsize=65_536)  # names, companies and cities repeat across an import
def vocabulary_words(text: str) -> frozenset[str]:
    """The words of one text worth correcting typos towards (length-limited, not numbers)."""
    return frozenset(
        word
        for word in tokens(text)
        if MIN_VOCAB_LEN <= len(word) <= MAX_VOCAB_LEN and not word.isdigit()
    )


def add_vocabulary(db: sqlite3.Connection, words: Iterable[str]) -> None:
    """Record the deletion neighbourhood of every word not seen before."""
    words = sorted(set(words))
    if not words:
        return
    known: set[str] = set()
    for start in range(0, len(words), 500):
        chunk = words[start : start + 500]
        marks = ",".join("?" * len(chunk))
        known |= {
            r[0] for r in db.execute(f"SELECT term FROM search_term WHERE term IN ({marks})", chunk)
        }
    new = [w for w in words if w not in known]
    if not new:
        return
    db.executemany("INSERT INTO search_term(term) VALUES (?)", [(w,) for w in new])
    db.executemany(
        "INSERT OR IGNORE INTO search_term_del(del, term) VALUES (?, ?)",
        [(d, w) for w in new for d in deletions(w, max_edits(w))],
    )


def index_document(db: sqlite3.Connection, document: SearchDocument) -> None:
    """Insert or replace the index entry of one document."""
    row = db.execute("SELECT doc FROM search_doc WHERE ref_id = ?", (document.ref_id,)).fetchone()
    if row is None:
        cur = db.execute(
            "INSERT INTO search_doc(kind, ref_id, archived) VALUES (?, ?, ?)",
            (document.kind, document.ref_id, int(document.archived)),
        )
        doc = cur.lastrowid
    else:
        doc = row[0]
        db.execute(
            "UPDATE search_doc SET archived = ? WHERE doc = ?", (int(document.archived), doc)
        )
        db.execute("DELETE FROM search_fts WHERE rowid = ?", (doc,))
    db.execute(
        "INSERT INTO search_fts(rowid, name, company, email, phones, city, tags) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (doc, *document.columns()),
    )
    add_vocabulary(db, document.vocabulary())


def unindex(db: sqlite3.Connection, ref_id: str) -> None:
    """Remove a document from the index (a deleted contact is no longer found)."""
    row = db.execute("SELECT doc FROM search_doc WHERE ref_id = ?", (ref_id,)).fetchone()
    if row is not None:
        db.execute("DELETE FROM search_fts WHERE rowid = ?", (row[0],))
        db.execute("DELETE FROM search_doc WHERE doc = ?", (row[0],))


def index_many(db: sqlite3.Connection, documents: Iterable[SearchDocument]) -> int:
    """Bulk-index new documents (none may be indexed already); returns the count.

    The same rows as `index_document` per document (tests/test_search_bulk.py
    compares the tables), with one `executemany` per table, and the vocabulary
    worked out once per distinct text: an import's 100k contacts share a few
    thousand names, companies and cities, so their words' deletions are computed
    (and looked up) once each, not once per contact.
    """
    docs: list[tuple[str, str, int]] = []
    fts: list[tuple[str, str, str, str, str, str]] = []
    texts: set[str] = set()
    for d in documents:
        docs.append((d.kind, d.ref_id, int(d.archived)))
        fts.append(d.columns())
        texts.update(d.texts())
    return _insert_rows(db, docs, fts, texts)


def index_contact_rows(
    db: sqlite3.Connection, contacts: Sequence[Mapping[str, Any]], company_of: Mapping[str, str]
) -> int:
    """`index_many` of new contacts given as table rows (column name -> stored value).

    The rows `index_many` writes for each contact's `SearchDocument` (as
    `reindex.contact_document` makes it; tests/test_search_bulk.py compares the
    tables), built column by column from the rows themselves: an import has the
    rows at hand, and a document per contact cost more than its index rows.
    `company_of` maps account ids to account names.
    """
    if not contacts:
        return 0
    folded = cache(fold)  # companies, cities and tags repeat across an import
    names = [c["name"] for c in contacts]
    companies = [company_of.get(a) or "" if a else "" for a in (c["account_id"] for c in contacts)]
    cities = [c["city"] or "" for c in contacts]
    tags = [" ".join(c["tags"] or ()) for c in contacts]
    fts = list(
        zip(
            map(folded, names),
            map(folded, companies),
            # Addresses are all different: no cache, but most are ASCII or Latin.
            [fold_latin(c["email"] or "") for c in contacts],
            [
                contact_phone_column(c["phone"], c["phone_e164"], c["mobile"], c["mobile_e164"])
                for c in contacts
            ],
            map(folded, cities),
            map(folded, tags),
            strict=True,
        )
    )
    docs = [("contact", c["id"], int(c["archived_at"] is not None)) for c in contacts]
    texts = {*names, *companies, *cities, *tags}
    return _insert_rows(db, docs, fts, texts)


BULK_FTS_ROWS = 5_000
"""From this many new documents, the index is written without merging on the way."""
FTS_DEFAULT_AUTOMERGE = 4
"""FTS5's own default for `automerge`, restored when the table had no setting."""


def _insert_rows(
    db: sqlite3.Connection,
    docs: list[tuple[str, str, int]],
    fts: list[tuple[str, str, str, str, str, str]],
    texts: set[str],
) -> int:
    """Write new documents' rows and the vocabulary of their texts (see `index_many`)."""
    if not docs:
        return 0
    start = db.execute("SELECT coalesce(max(doc), 0) FROM search_doc").fetchone()[0] + 1
    db.executemany(
        "INSERT INTO search_doc(doc, kind, ref_id, archived) VALUES (?, ?, ?, ?)",
        [(n, *row) for n, row in enumerate(docs, start)],
    )
    bulk = len(fts) >= BULK_FTS_ROWS
    if bulk:
        # FTS5 merges segments as it goes (automerge); a bulk insert that leaves it
        # to the next writes is ~20% quicker to index, and queries do not notice.
        # Set back before the transaction commits, so nothing outlives the import.
        automerge = db.execute("SELECT v FROM search_fts_config WHERE k = 'automerge'").fetchone()
        db.execute("INSERT INTO search_fts(search_fts, rank) VALUES('automerge', 0)")
    db.executemany(
        "INSERT INTO search_fts(rowid, name, company, email, phones, city, tags) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(n, *row) for n, row in enumerate(fts, start)],
    )
    if bulk:
        db.execute(
            "INSERT INTO search_fts(search_fts, rank) VALUES('automerge', ?)",
            (automerge[0] if automerge else FTS_DEFAULT_AUTOMERGE,),
        )
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary |= vocabulary_words(text)
    add_vocabulary(db, vocabulary)
    return len(docs)
