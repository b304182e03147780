"""The floor for `crm find` / `crm who`: argparse + sqlite3 + the same FTS5 query.

TARGETS.md measures the shell lookup against "a minimal script answering an FTS5
query on the same DB". This is that script: no typo expansion, no rerank, no
account join beyond what printing needs; it folds with str.casefold only. Its
wall time is what Python start-up plus one FTS5 query costs on this machine.

    python bench/floor_lookup.py find smith --db bench/.cache/demo-100000.db
    python bench/floor_lookup.py who +4915112345678 --db ...
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys

SQL = (
    "SELECT c.id, c.name, a.name, c.email, coalesce(c.phone, c.mobile), c.city "
    "FROM search_fts f JOIN search_doc d ON d.doc = f.rowid "
    "JOIN contact c ON c.id = d.ref_id LEFT JOIN account a ON a.id = c.account_id "
    "WHERE search_fts MATCH ? AND d.archived = 0 AND c.deleted_at IS NULL LIMIT 20"
)


def main() -> int:
    """Answer one find/who query with a single FTS5 statement."""
    parser = argparse.ArgumentParser(prog="floor_lookup")
    parser.add_argument("command", choices=("find", "who"))
    parser.add_argument("query", nargs="+")
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    text = " ".join(args.query)
    if args.command == "who":
        d = re.sub(r"\D", "", text)
        d = d[2:] if d.startswith("00") else d.lstrip("0")
        expression = f'{{phones}} : ("{d}"* OR "{d[::-1]}"*)'
    else:
        words = re.findall(r"[^\W_]+", text.casefold())
        expression = " AND ".join(f'{{name company email city tags}} : "{w}"*' for w in words)
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    rows = db.execute(SQL, (expression,)).fetchall()
    out = sys.stdout
    for row in rows:
        out.write("\t".join("" if v is None else str(v) for v in row) + "\n")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
