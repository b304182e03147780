"""The read side of contact search: typo-tolerant, ranked, and cheap to import.

Shared by the shell fast path (`crm find`, `crm who`, `crm show`) and the TUI.
It uses sqlite3 and rapidfuzz only, so a cold `crm find` costs little more than
Python's start-up (TARGETS.md). How a query is answered:

1. Fold and tokenise it exactly as the index was (`crmtui.domain.text`).
2. Expand every word into itself as a prefix plus its spelling corrections from
   the SymSpell vocabulary (`search_term_del`), verified with Damerau-Levenshtein.
   Digit tokens match phone keys as a prefix, or as a suffix via reversed keys.
3. Ask FTS5 for a bounded candidate set (the name column first, so that name
   hits are not crowded out by the many people who merely live in "Berlin").
4. Rerank the candidates with rapidfuzz (`score_columns`) and fetch display
   fields for the best few.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crmtui.domain.text import digits, fold, is_phone_query, query_phone_digits, tokens
from crmtui.store.schema_version import SCHEMA_HEAD

# FTS candidates reranked per query. 2000 and 1000 gave the same top-20
# agreement with a full scan at 100k and 1M contacts (bench/search.py), and
# 1000 halves the in-app latency and saves ~10 ms of a cold `crm find`.
CANDIDATES = 1000
MAX_EXPANSIONS = 30
MIN_PHONE_DIGITS = 3
MIN_VOCAB_LEN = 3  # the index stores no correction vocabulary for shorter words
LOOKUP_CACHE_KIB = 32 * 1024
"""The lookup connection's page cache. One search reads up to CANDIDATES rows of the FTS
content table and of `search_doc`, each on its own page: about 2,000 pages at 1M
contacts, more than SQLite's default 2 MiB (500 pages) holds, so every search read them
all again from the OS. The cache fills only as pages are read (docs/performance.md)."""
# Relative weight of each FTS column in the rerank: who a person *is* counts
# more than where they work, which counts more than where they live.
WEIGHTS: dict[str, float] = {
    "name": 1.0,
    "combined": 0.95,
    "company": 0.85,
    "email": 0.75,
    "city": 0.7,
    "tags": 0.7,
}
TEXT_COLUMNS = ("name", "company", "email", "city", "tags")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# The start of an id as tools print it: 8 hex digits, then optionally more of the id.
_ID_PREFIX = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{0,4}){0,4}[0-9a-f]*$", re.I)


class LookupDatabaseError(Exception):
    """The database is missing, unreadable, or behind the schema this code reads."""


@dataclass(frozen=True, slots=True)
class ContactHit:
    """One contact found by a search, with the fields a result list shows."""

    id: str
    name: str
    company: str | None
    email: str | None
    phone: str | None
    city: str | None
    score: float
    archived: bool

    def as_dict(self) -> dict[str, Any]:
        """The hit as a plain dict (for JSON and CSV)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ContactCard:
    """Everything `crm show` prints about one contact."""

    contact: dict[str, Any]
    account: dict[str, Any] | None
    activities: list[dict[str, Any]] = field(default_factory=list)
    ticklers: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    phones: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The card as a plain dict (for JSON)."""
        return asdict(self)


# --------------------------------------------------------------------------- opening


def max_edits(word: str) -> int:
    """How many edits the index stores for a word (must agree with the write side's rule)."""
    n = len(word)
    if n < MIN_VOCAB_LEN:
        return 0
    return 1 if n <= 4 else 2


ONE_TYPO_FROM = 4
"""A query word this long may carry one typo ("smth" finds Smith); shorter ones none."""
PREFIX_TYPO_FROM = 5
"""A word this long may also carry one as the start of a longer word ("smyt" -> smith)."""
TWO_TYPOS_FROM = 9
"""A query word this long may carry two ("kristopher" -> Christopher)."""


def typo_budget(word: str) -> int:
    """How many typos a query word may carry: grows with its length, as in Typesense.

    Never more than the index stores (`max_edits`). The numbers come from
    bench/search.py at 100k contacts: they keep the typo queries' top-20 agreement
    of the old rule (63/66) while 97% of 200 words that are nobody's name find
    nobody (72% before); see docs/decisions.md.
    """
    n = len(word)
    budget = 0 if n < ONE_TYPO_FROM else 1 if n < TWO_TYPOS_FROM else 2
    return min(budget, max_edits(word))


def _deletions(word: str, depth: int) -> set[str]:
    """All strings made by removing up to `depth` characters from `word`."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier if len(w) > 1 for i in range(len(w))}
        found |= frontier
    return found


def connect(path: Path) -> sqlite3.Connection:
    """Open a database read-only for lookups, checking it is at the expected schema."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LookupDatabaseError(f"no database at {path}")
    try:
        db = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=ro",
            uri=True,
            check_same_thread=False,
            timeout=10,
        )
    except sqlite3.Error as exc:
        raise LookupDatabaseError(f"cannot open database {path}: {exc}") from exc
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        db.close()
        raise LookupDatabaseError(
            f"{path} is not a crmtui database (no schema version): {exc}"
        ) from exc
    version = row[0] if row else None
    if version != SCHEMA_HEAD:
        db.close()
        raise LookupDatabaseError(
            f"{path} is at schema {version or 'none'}, this crm reads {SCHEMA_HEAD}; "
            "run `crm db upgrade`"
        )
    db.execute(f"PRAGMA cache_size = -{LOOKUP_CACHE_KIB}")
    return db


# --------------------------------------------------------------------------- query parsing


class _Token:
    """One query token and the FTS terms it expands into.

    (A plain class: each dataclass costs about a millisecond at import, and
    `crm find` pays every import on every run.)
    """

    __slots__ = ("phone", "terms", "text")

    def __init__(self, text: str, phone: bool, terms: tuple[str, ...]) -> None:
        self.text = text
        self.phone = phone
        self.terms = terms  # FTS5 phrases, already quoted, with `*` where a prefix


def _corrections(db: sqlite3.Connection, word: str) -> list[str]:
    """Stored vocabulary words within `typo_budget` of `word` (or of their same-length prefix)."""
    budget = typo_budget(word)
    if budget == 0:
        return []
    # Imported here, not at the top: `crm who` never needs rapidfuzz.
    from rapidfuzz.distance import DamerauLevenshtein

    dels = sorted(_deletions(word, budget))
    marks = ",".join("?" * len(dels))
    rows = db.execute(
        f"SELECT DISTINCT term FROM search_term_del WHERE del IN ({marks})", dels
    ).fetchall()
    ranked: list[tuple[int, int, str]] = []
    for (term,) in rows:
        if term == word:
            continue
        full = DamerauLevenshtein.distance(word, term, score_cutoff=budget)
        best = full
        if len(word) >= PREFIX_TYPO_FROM:
            # While typing, "smyth" should already reach "smithson": compare with the
            # term's prefix of the same length too. Not for short words: "here" is one
            # edit from "pere", the start of every Pérez.
            partial = DamerauLevenshtein.distance(word, term[: len(word)], score_cutoff=budget)
            best = min(full, partial)
        if best <= budget:
            ranked.append((best, abs(len(term) - len(word)), term))
    ranked.sort()
    return [term for _, _, term in ranked[:MAX_EXPANSIONS]]


def _parse(db: sqlite3.Connection, query: str) -> list[_Token]:
    """Fold a query into tokens with their FTS expansions."""
    if is_phone_query(query):
        d = query_phone_digits(query)
        return [_Token(d, True, (f'"{d}"*', f'"{d[::-1]}"*'))] if d else []
    parsed: list[_Token] = []
    for word in dict.fromkeys(tokens(query)):
        if word.isdigit():
            if len(word) >= MIN_PHONE_DIGITS:
                parsed.append(_Token(word, True, (f'"{word}"*', f'"{word[::-1]}"*')))
            continue  # a one- or two-digit fragment would match half the book
        terms = [f'"{word}"*'] + [f'"{t}"' for t in _corrections(db, word)]
        parsed.append(_Token(word, False, tuple(terms)))
    return parsed


def _match_expression(
    parsed: Sequence[_Token], *, name_only: bool, corrections: bool, conjunction: str
) -> str:
    """Build the FTS5 MATCH expression for the parsed tokens."""
    text_columns = "{name}" if name_only else "{name company email city tags}"
    parts = []
    for tok in parsed:
        columns = "{phones}" if tok.phone else text_columns
        terms = tok.terms if corrections or tok.phone else tok.terms[:1]
        parts.append(f"{columns} : ({' OR '.join(terms)})")
    return "(" + f" {conjunction} ".join(parts) + ")"


# --------------------------------------------------------------------------- scoring


def _phone_score(query_digits: str, phone_keys: str) -> float:
    """How well a digit query matches the phone keys of one document (0-100)."""
    best = 0.0
    for key in phone_keys.split():
        if key == query_digits:
            return 100.0
        if key.startswith(query_digits) or key.startswith(query_digits[::-1]):
            best = max(best, 60.0 + 39.0 * len(query_digits) / len(key))
    return best


def score_columns(
    query: str, rows: Sequence[Sequence[str]], *, score_cutoff: float = 0.0
) -> dict[int, float]:
    """Score folded FTS rows (name, company, email, phones, city, tags) against a query.

    Returns {row index: score} for rows scoring at least `score_cutoff`; see
    `score_column_lists` for the scoring function itself.
    """
    return score_column_lists(query, column_lists(rows), score_cutoff=score_cutoff)


def column_lists(rows: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Turn FTS rows into per-column lists (plus the combined column) for scoring."""
    return {
        "name": [r[0] for r in rows],
        "company": [r[1] for r in rows],
        "email": [r[2] for r in rows],
        "phones": [r[3] for r in rows],
        "city": [r[4] for r in rows],
        "tags": [r[5] for r in rows],
        "combined": [f"{r[0]} {r[1]} {r[4]}" for r in rows],
    }


def score_column_lists(
    query: str, columns: dict[str, list[str]], *, score_cutoff: float = 0.0, top: int = 0
) -> dict[int, float]:
    """The ranking function: {row index: score 0-100} for rows scoring >= `score_cutoff`.

    A row's text score is its best weighted rapidfuzz WRatio over the columns in
    `WEIGHTS` (the combined name-company-city column lets "anna berlin" prefer
    the Anna who lives there). Phone digits score by how much of a phone key
    they cover; a mixed query ("smith 1234") averages the two. The benchmark
    runs this same function over every row to judge the FTS prefilter.

    With `top`, only the best `top` rows are guaranteed their exact score (the
    others may be left out): each column is then scored with a cutoff at the
    `top`-th best score so far, which lets rapidfuzz skip most of the work.
    """
    words = [w for w in tokens(query) if not w.isdigit()]
    phone_digits = (
        [query_phone_digits(query)]
        if is_phone_query(query)
        else [w for w in tokens(query) if w.isdigit() and len(w) >= MIN_PHONE_DIGITS]
    )
    text = " ".join(words)
    # In a mixed query a perfect phone lifts the average by up to 50 points,
    # so the text part may be that much lower and still reach the cutoff.
    text_cutoff = max(0.0, 2 * score_cutoff - 100) if phone_digits else score_cutoff
    scores: dict[int, float] = {}
    if text:
        from rapidfuzz import fuzz, process

        floor = text_cutoff
        for column, weight in WEIGHTS.items():  # heaviest first: the cutoff rises fastest
            if floor / weight > 100.0:
                break  # no row can gain from this column or any lighter one
            for _, raw, index in process.extract(
                text,
                columns[column],
                scorer=fuzz.WRatio,
                limit=None,
                score_cutoff=floor / weight if floor else None,
            ):
                value = raw * weight
                if value > scores.get(index, 0.0):
                    scores[index] = value
            if top and not phone_digits and len(scores) >= top:
                floor = max(floor, heapq.nlargest(top, scores.values())[-1])
    if phone_digits:
        wanted = [(d, d[::-1]) for d in phone_digits]
        for index, keys in enumerate(columns["phones"]):
            if not any(d in keys or r in keys for d, r in wanted):
                phone = 0.0  # cheap test first: most rows share no digits run
            else:
                phone = sum(_phone_score(d, keys) for d, _ in wanted) / len(wanted)
            if text:
                if index in scores or phone:
                    scores[index] = (scores.get(index, 0.0) + phone) / 2
            elif phone:
                scores[index] = phone
    return {i: v for i, v in scores.items() if v >= score_cutoff}


# --------------------------------------------------------------------------- search


# Candidate passes, strongest first: (name column only, with corrections, share of
# CANDIDATES the passes so far may fill). Literal name matches come first so
# that the many people at "Smith LLC" or in "Paris" cannot crowd out the
# Smiths, yet leave room for the other columns and for spelling corrections.
_PASSES = ((True, False, 0.5), (False, True, 1.0))


def _candidates(
    db: sqlite3.Connection, parsed: Sequence[_Token], include_archived: bool
) -> dict[int, tuple[str, str, str, str, str, str]]:
    """Bounded FTS candidate set: {doc: folded columns}, strongest matches first."""
    archived = "" if include_archived else "AND d.archived = 0"
    # Reading the columns through the FTS5 table costs twice as much as reading
    # its content table (`search_fts_content`: id, c0..c5 in column order).
    sql = (
        "SELECT f.rowid, t.c0, t.c1, t.c2, t.c3, t.c4, t.c5 FROM search_fts f "
        "JOIN search_fts_content t ON t.id = f.rowid JOIN search_doc d ON d.doc = f.rowid "
        f"WHERE search_fts MATCH ? AND d.kind = 'contact' {archived} LIMIT ?"
    )
    has_words = any(not t.phone for t in parsed)
    found: dict[int, tuple[str, str, str, str, str, str]] = {}
    for conjunction in ("AND", "OR") if len(parsed) > 1 else ("AND",):
        previous: str | None = None
        for name_only, corrections, share in _PASSES if has_words else ((False, True, 1.0),):
            expression = _match_expression(
                parsed, name_only=name_only, corrections=corrections, conjunction=conjunction
            )
            # NOT the previous pass: its rows are in already, don't spend the LIMIT on them.
            query = f"{expression} NOT {previous}" if previous else expression
            previous = expression
            room = int(CANDIDATES * share) - len(found)
            if room <= 0:
                continue
            for rowid, *columns in db.execute(sql, (query, room)):
                found.setdefault(rowid, tuple(columns))
        if found:
            break
    return found


_HIT_SQL = (
    "SELECT c.id, c.name, a.name, c.email, coalesce(c.phone, c.mobile, c.phone_e164, "
    "c.mobile_e164), c.city, c.archived_at IS NOT NULL "
    "FROM contact c LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
    "WHERE c.id = ? AND c.deleted_at IS NULL"
)


def _hits(
    db: sqlite3.Connection, ranked: Iterable[tuple[str, float]], limit: int
) -> list[ContactHit]:
    """Display rows for ranked (contact id, score) pairs, skipping deleted contacts."""
    hits: list[ContactHit] = []
    for ref_id, score in ranked:
        row = db.execute(_HIT_SQL, (ref_id,)).fetchone()
        if row is None:
            continue  # deleted after it was indexed: never show it
        contact_id, name, company, email, phone, city, archived = row
        hits.append(
            ContactHit(
                contact_id, name, company, email, phone, city, round(score, 1), bool(archived)
            )
        )
        if len(hits) >= limit:
            break
    return hits


def search_contacts(
    db: sqlite3.Connection, query: str, *, limit: int = 20, include_archived: bool = False
) -> list[ContactHit]:
    """Find contacts by name, company, email, city, tag or phone, typos forgiven, best first."""
    parsed = _parse(db, query)
    if not parsed or limit <= 0:
        return []
    found = _candidates(db, parsed, include_archived)
    if not found:
        return []
    docs = list(found)
    scores = score_column_lists(query, column_lists([found[d] for d in docs]), top=limit * 2)
    order = sorted(scores.items(), key=lambda item: (-item[1], docs[item[0]]))
    # Map FTS rowids to contact ids only for the few we show.
    ref_of = dict(
        db.execute(
            f"SELECT doc, ref_id FROM search_doc WHERE doc IN ({','.join('?' * min(len(order), limit * 3))})",
            [docs[i] for i, _ in order[: limit * 3]],
        ).fetchall()
    )
    ranked = ((ref_of[docs[i]], s) for i, s in order[: limit * 3] if docs[i] in ref_of)
    return _hits(db, ranked, limit)


def find_by_phone(db: sqlite3.Connection, phone: str, *, limit: int = 20) -> list[ContactHit]:
    """Find who a phone number belongs to, in any formatting or as its last digits.

    Exact matches (E.164 or national number) come first, then longer suffix
    matches, then prefix matches. Archived contacts are included: a caller is
    still a caller.
    """
    wanted = query_phone_digits(phone)
    if len(wanted) < MIN_PHONE_DIGITS:
        return []
    expression = f'{{phones}} : ("{wanted}"* OR "{wanted[::-1]}"*)'
    refs = [
        r[0]
        for r in db.execute(
            "SELECT d.ref_id FROM search_fts f JOIN search_doc d ON d.doc = f.rowid "
            "WHERE search_fts MATCH ? AND d.kind = 'contact' LIMIT ?",
            (expression, CANDIDATES),
        )
    ]
    scored: list[tuple[float, str]] = []
    for ref in refs:
        row = db.execute(
            "SELECT phone, phone_e164, mobile, mobile_e164 FROM contact "
            "WHERE id = ? AND deleted_at IS NULL",
            (ref,),
        ).fetchone()
        if row is None:
            continue
        score = max(_number_score(wanted, row[0], row[1]), _number_score(wanted, row[2], row[3]))
        # Every phone item counts, not only the primaries the contact row holds.
        for typed, e164 in db.execute(
            "SELECT number, e164 FROM contact_phone WHERE contact_id = ? AND deleted_at IS NULL",
            (ref,),
        ):
            score = max(score, _number_score(wanted, typed, e164))
        if score > 0:
            scored.append((score, ref))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return _hits(db, ((ref, score) for score, ref in scored), limit)


def _number_score(wanted: str, typed: str | None, e164: str | None) -> float:
    """Score one stored number against the query digits, checked on the real values."""
    full = digits(e164 or "")
    national = digits(typed or "").lstrip("0")
    best = 0.0
    for number in (full, national):
        if not number:
            continue
        if number == wanted:
            return 100.0
        if number.endswith(wanted) and len(wanted) >= 6 and len(number) - len(wanted) <= 3:
            # The national number: E.164 minus a country code of 1-3 digits.
            best = max(best, 99.0)
        elif number.endswith(wanted):
            best = max(best, 60.0 + 38.0 * len(wanted) / len(number))
        elif number.startswith(wanted):
            best = max(best, 40.0 + 19.0 * len(wanted) / len(number))
    return best


# --------------------------------------------------------------------------- one contact


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_BOOLEAN_COLUMNS = ("do_not_call", "do_not_email", "is_default", "consent_override")


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Turn SQLite storage values back into what they mean (bools, tag lists)."""
    for key in _BOOLEAN_COLUMNS:
        if key in row and row[key] is not None:
            row[key] = bool(row[key])
    if isinstance(row.get("tags"), str):
        import json  # only cards need it; keep it off the `crm find` path

        try:
            row["tags"] = json.loads(row["tags"])
        except ValueError:
            row["tags"] = [row["tags"]]
    return row


def contact_card(db: sqlite3.Connection, ref: str) -> ContactCard | None:
    """The card of a contact by id: fields, account, recent activities, open ticklers and deals."""
    contacts = _rows(
        db.execute("SELECT * FROM contact WHERE id = ? AND deleted_at IS NULL", (ref,))
    )
    if not contacts:
        return None
    contact = _clean(contacts[0])
    account = None
    if contact.get("account_id"):
        accounts = _rows(
            db.execute(
                "SELECT * FROM account WHERE id = ? AND deleted_at IS NULL",
                (contact["account_id"],),
            )
        )
        account = _clean(accounts[0]) if accounts else None
    activities = _rows(
        db.execute(
            "SELECT * FROM activity WHERE contact_id = ? AND deleted_at IS NULL "
            "ORDER BY occurred_at DESC, id DESC LIMIT 10",
            (ref,),
        )
    )
    ticklers = _rows(
        db.execute(
            "SELECT * FROM tickler WHERE contact_id = ? AND status = 'open' "
            "AND deleted_at IS NULL ORDER BY due_at, id",
            (ref,),
        )
    )
    deals = _rows(
        db.execute(
            "SELECT d.*, s.name AS stage_name FROM deal d LEFT JOIN stage s ON s.id = d.stage_id "
            "WHERE d.contact_id = ? AND d.status = 'open' AND d.deleted_at IS NULL "
            "ORDER BY d.expected_close IS NULL, d.expected_close, d.id",
            (ref,),
        )
    )
    items = {
        table: [
            _clean(r)
            for r in _rows(
                db.execute(
                    f"SELECT * FROM {table} WHERE contact_id = ? AND deleted_at IS NULL"
                    " ORDER BY is_primary DESC, id",
                    (ref,),
                )
            )
        ]
        for table in ("contact_phone", "contact_email", "contact_address")
    }
    return ContactCard(
        contact=contact,
        account=account,
        activities=[_clean(a) for a in activities],
        ticklers=[_clean(t) for t in ticklers],
        deals=[_clean(d) for d in deals],
        phones=items["contact_phone"],
        emails=items["contact_email"],
        addresses=items["contact_address"],
    )


def resolve_contact(db: sqlite3.Connection, ref: str) -> list[ContactHit]:
    """Contacts meant by an ID or a NAME: the one with that id, else a search (archived too)."""
    ref = ref.strip()
    if _UUID.match(ref):
        hits = _hits(db, [(ref.lower(), 100.0)], 1)
        if hits:
            return hits
    if _ID_PREFIX.match(ref):
        # An id's start ("018dca10", as `crm mail outbox` and the notices print them) means
        # the contacts whose id starts so: all of them when several, never a fuzzy guess
        # (the digits alone once found a stranger by a phone number).
        rows = db.execute(
            "SELECT id FROM contact WHERE id >= ? AND id < ? ORDER BY id LIMIT 21",
            (ref.lower(), ref.lower() + "\uffff"),
        ).fetchall()
        if rows:
            return _hits(db, [(r[0], 100.0) for r in rows], 20)
    return search_contacts(db, ref, limit=20, include_archived=True)


def clear_winner(query: str, hits: Sequence[ContactHit]) -> ContactHit | None:
    """The one hit a NAME unambiguously means, or None when several fit as well.

    A single hit wins; otherwise exactly one hit whose folded name equals the
    folded query wins; otherwise nobody does (the caller lists the candidates).
    """
    if len(hits) == 1:
        return hits[0]
    if hits and _UUID.match(query.strip()) and hits[0].id == query.strip().lower():
        return hits[0]
    wanted = " ".join(tokens(query))
    exact = [h for h in hits if " ".join(tokens(fold(h.name))) == wanted]
    return exact[0] if len(exact) == 1 else None
