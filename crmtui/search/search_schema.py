"""DDL of the search index: an FTS5 table plus a typo-correction vocabulary.

- `search_doc` maps a stable integer rowid to an entity id (VACUUM may renumber
  the implicit rowids of the UUID-keyed tables, never an INTEGER PRIMARY KEY).
- `search_fts` holds folded text (see `crmtui.domain.text`) of each document;
  the `phones` column holds digit keys, including reversed digits for suffixes.
- `search_term` lists the words whose deletion neighbourhood is stored in
  `search_term_del` (a SymSpell index): a query word and a stored word within
  two edits share a deletion, so "smyth" and "smth" both reach "smith" by an
  index lookup instead of a scan.
"""

from __future__ import annotations

PREFIX = "search_"

DDL = (
    "CREATE TABLE search_doc (doc INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
    "ref_id TEXT NOT NULL UNIQUE, archived INTEGER NOT NULL DEFAULT 0)",
    "CREATE VIRTUAL TABLE search_fts USING fts5(name, company, email, phones, city, tags, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    "CREATE TABLE search_term (term TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE search_term_del (del TEXT NOT NULL, term TEXT NOT NULL, "
    "PRIMARY KEY (del, term)) WITHOUT ROWID",
)

DROP = (
    "DROP TABLE IF EXISTS search_term_del",
    "DROP TABLE IF EXISTS search_term",
    "DROP TABLE IF EXISTS search_fts",
    "DROP TABLE IF EXISTS search_doc",
)


def is_search_table(name: str) -> bool:
    """Tell whether a table belongs to the search index (FTS5 shadow tables included)."""
    return name.startswith(PREFIX)
