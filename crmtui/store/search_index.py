"""Keeps the search index in step with contacts (the write side of search).

Called by the services inside their write transaction, on the same sqlite3
connection, so an index entry can never disagree with a committed row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crmtui.store.text import fold, phone_keys, tokens

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
        keys: list[str] = []
        for typed, e164 in self.phones:
            for key in phone_keys(e164, typed):
                if key not in keys:
                    keys.append(key)
        return (
            fold(self.name),
            fold(self.company or ""),
            fold(self.email or ""),
            " ".join(keys),
            fold(self.city or ""),
            fold(" ".join(self.tags)),
        )

    def vocabulary(self) -> set[str]:
        """Words worth correcting typos towards: names, company, city and tags."""
        words: set[str] = set()
        for text in (self.name, self.company, self.city, " ".join(self.tags)):
            for word in tokens(text or ""):
                if MIN_VOCAB_LEN <= len(word) <= MAX_VOCAB_LEN and not word.isdigit():
                    words.add(word)
        return words


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
    """Bulk-index new documents (none may be indexed already); returns the count."""
    count = 0
    vocabulary: set[str] = set()
    batch: list[SearchDocument] = []

    def flush() -> None:
        start = db.execute("SELECT coalesce(max(doc), 0) FROM search_doc").fetchone()[0] + 1
        db.executemany(
            "INSERT INTO search_doc(doc, kind, ref_id, archived) VALUES (?, ?, ?, ?)",
            [(start + i, d.kind, d.ref_id, int(d.archived)) for i, d in enumerate(batch)],
        )
        db.executemany(
            "INSERT INTO search_fts(rowid, name, company, email, phones, city, tags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(start + i, *d.columns()) for i, d in enumerate(batch)],
        )
        batch.clear()

    for document in documents:
        batch.append(document)
        vocabulary |= document.vocabulary()
        count += 1
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    add_vocabulary(db, vocabulary)
    return count
