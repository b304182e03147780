"""Lead and deal scores read from the laptop's own database: the rules in force and the
history of each territory's won and lost records (`crmtui.domain.lead_scoring` does the sums).

Pure sqlite3, no network, safe in worker threads. The history of a territory is its
closed records on this laptop: a lead is won when it was converted and its deal won
(or it was converted without a deal), lost when it was disqualified or its deal lost;
a deal is won or lost by its status. A lead without a territory, or a deal, learns
from the unplaced records of its kind. A converted lead's industry, size and country
come from its own columns, else from the account it became.

`score_for(db, "lead", ID)` scores one record; `lead_scores(db)` / `deal_scores(db)` every
open one at once, and `score_sort_key` orders rows by them (the leads inbox, and the
call list may use it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from crmtui.domain.lead_scoring import (
    DEFAULT_SCORING,
    Features,
    History,
    Score,
    ScoringDef,
    ScoringFileError,
    learn,
    parse_scoring,
    score,
)
from crmtui.domain.money import exponent

KINDS = ("lead", "deal")


@dataclass(frozen=True)
class ScoringInForce:
    """The scoring file in force: its parsed rules, its version (0: none published), a note."""

    scoring: ScoringDef
    version: int
    note: str


def scoring_in_force(db: sqlite3.Connection) -> ScoringInForce:
    """The newest live version of the scoring file, or history only when there is none.

    A version the server refused (a rep's own file: only an admin publishes) stays on
    the laptop but is not in force, so the team's file scores on every laptop.
    """
    row = db.execute(
        "SELECT version, source FROM score_rules r WHERE deleted_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM sync_conflict c WHERE c.entity = 'score_rules'"
        " AND c.row_id = r.id AND c.kind = 'rejected')"
        " ORDER BY version DESC, id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return ScoringInForce(DEFAULT_SCORING, 0, "no scoring rules published: history only")
    try:
        return ScoringInForce(parse_scoring(row[1], source=f"scoring v{row[0]}"), int(row[0]), "")
    except ScoringFileError as exc:
        # Checked when published; a file a newer version of crmtui wrote may not read here.
        return ScoringInForce(
            DEFAULT_SCORING, int(row[0]), f"rules not readable ({exc}): history only"
        )


_LEAD_SQL = """
SELECT l.id, l.territory_id, l.source, coalesce(l.industry, a.industry),
       coalesce(l.employees, a.employees), coalesce(l.country, a.country),
       l.company, l.email, l.phone, l.status,
       (SELECT count(*) FROM activity x WHERE x.lead_id = l.id AND x.deleted_at IS NULL
          AND (l.converted_at IS NULL OR x.occurred_at <= l.converted_at)),
       l.converted_deal_id, d.status
FROM lead l
LEFT JOIN account a ON a.id = l.converted_account_id
LEFT JOIN deal d ON d.id = l.converted_deal_id
WHERE l.deleted_at IS NULL
"""

# The lead a deal came from gives its source; grouped once, not looked up per deal
# (lead.converted_deal_id has no index: a lookup per deal scanned every lead).
_DEAL_SQL = """
WITH came_from AS (
  SELECT converted_deal_id AS deal_id, min(source) AS source FROM lead
  WHERE converted_deal_id IS NOT NULL AND deleted_at IS NULL GROUP BY converted_deal_id
)
SELECT d.id, d.territory_id, f.source,
       a.industry, a.employees, a.country, a.name, c.email, c.phone, s.name,
       d.amount_minor, d.currency, d.status,
       (SELECT count(*) FROM activity x WHERE x.deal_id = d.id AND x.deleted_at IS NULL
          AND (d.closed_at IS NULL OR x.occurred_at <= d.closed_at))
FROM deal d
LEFT JOIN account a ON a.id = d.account_id
LEFT JOIN contact c ON c.id = d.contact_id
LEFT JOIN stage s ON s.id = d.stage_id
LEFT JOIN came_from f ON f.deal_id = d.id
WHERE d.deleted_at IS NULL
"""


def _lead_outcome(status: str, deal_id: str | None, deal_status: str | None) -> bool | None:
    """True won, False lost, None still open."""
    if status == "disqualified":
        return False
    if status != "converted":
        return None
    if deal_id is None or deal_status == "won":
        return True
    return False if deal_status == "lost" else None


def _country(text: str | None) -> str | None:
    return text.strip().upper() if text and text.strip() else None


_Row = tuple[str, str | None, Features, bool | None]
_ALIAS = {"lead": "l", "deal": "d"}
_CLOSED = {
    "lead": "l.status IN ('disqualified', 'converted')",
    "deal": "d.status IN ('won', 'lost')",
}
_OPEN = {"lead": "l.status IN ('new', 'working', 'qualified')", "deal": "d.status = 'open'"}


def _lead_rows(db: sqlite3.Connection, where: str, params: list[object]) -> Iterable[_Row]:
    for r in db.execute(_LEAD_SQL + where, params):
        features = Features(
            "lead",
            source=r[2],
            industry=r[3],
            employees=r[4],
            country=_country(r[5]),
            company=r[6],
            email=r[7],
            phone=r[8],
            status=r[9],
            activities=int(r[10]),
        )
        yield r[0], r[1], features, _lead_outcome(r[9], r[11], r[12])


def _deal_rows(db: sqlite3.Connection, where: str, params: list[object]) -> Iterable[_Row]:
    for r in db.execute(_DEAL_SQL + where, params):
        amount = None if r[10] is None else int(r[10]) // 10 ** exponent(r[11] or "EUR")
        features = Features(
            "deal",
            source=r[2],
            industry=r[3],
            employees=r[4],
            country=_country(r[5]),
            company=r[6],
            email=r[7],
            phone=r[8],
            stage=r[9],
            amount=amount,
            activities=int(r[13]),
        )
        outcome = {"won": True, "lost": False}.get(r[12])
        yield r[0], r[1], features, outcome


def _rows(
    db: sqlite3.Connection, kind: str, where: str = "", params: list[object] | None = None
) -> Iterable[_Row]:
    """The records of `kind` with `where` (SQL on alias l or d, from this module only)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be lead or deal, not {kind!r}")
    reader = _lead_rows if kind == "lead" else _deal_rows
    return reader(db, where, params or [])


def _learn(rows: Iterable[_Row]) -> dict[str | None, History]:
    closed: dict[str | None, list[tuple[Features, bool]]] = defaultdict(list)
    for _id, territory, features, outcome in rows:
        if outcome is not None:
            closed[territory].append((features, outcome))
    return {territory: learn(items) for territory, items in closed.items()}


KEEP_HISTORIES = 8
"""Connections and kinds whose learned histories are kept (the app's connection, a few more)."""
_kept: OrderedDict[
    tuple[int, str], tuple[sqlite3.Connection, tuple[int, int], dict[str | None, History]]
] = OrderedDict()
_kept_lock = threading.Lock()


def _data_version(db: sqlite3.Connection) -> tuple[int, int]:
    """What changes when anything is written: another connection's commit, or this one's write."""
    return int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes


def _kept_histories(db: sqlite3.Connection, kind: str) -> dict[str | None, History] | None:
    """The histories learned on this connection while nothing was written since, else None."""
    version = _data_version(db)
    with _kept_lock:
        hit = _kept.get((id(db), kind))
        if hit is None or hit[0] is not db or hit[1] != version:
            return None
        _kept.move_to_end((id(db), kind))
        return hit[2]


def histories(db: sqlite3.Connection, kind: str) -> dict[str | None, History]:
    """The won/lost history of every territory (None: the unplaced records), for `kind`.

    Learning reads every closed record of the kind; the result is kept per connection
    and per territory until anything is written to the database (a commit by any
    connection, `PRAGMA data_version`, or a write on this one, `total_changes`), so
    the leads inbox re-sorted or re-filtered does not learn again.
    """
    found = _kept_histories(db, kind)
    if found is not None:
        return found
    # The version read before learning: a write meanwhile makes the next call learn again.
    version = _data_version(db)
    learned = _learn(_rows(db, kind, f" AND {_CLOSED[kind]}"))
    with _kept_lock:
        _kept[(id(db), kind)] = (db, version, learned)
        _kept.move_to_end((id(db), kind))
        while len(_kept) > KEEP_HISTORIES:
            _kept.popitem(last=False)
    return learned


def score_for(db: sqlite3.Connection, kind: str, record_id: str) -> Score | None:
    """The score of one lead or deal with its explanation, or None when it does not exist."""
    alias = _ALIAS.get(kind, "")
    found = list(_rows(db, kind, f" AND {alias}.id = ?", [record_id]))
    if not found:
        return None
    _id, territory, features, _outcome = found[0]
    rules = scoring_in_force(db).scoring
    kept = _kept_histories(db, kind)
    if kept is not None:
        history = kept.get(territory, History())
    else:
        # One record: learn its territory only (the whole kind is learned for lists).
        place = f" AND {_CLOSED[kind]} AND {alias}.territory_id IS ?"
        history = _learn(_rows(db, kind, place, [territory])).get(territory, History())
    return score(features, rules, history)


def scores(
    db: sqlite3.Connection,
    kind: str,
    *,
    open_only: bool = True,
    ids: Collection[str] | None = None,
) -> dict[str, Score]:
    """The score of every live lead (or deal), by id; by default only the open ones.

    `ids` limits the scoring (not the history, which is every closed record) to those.
    Only the closed records and the ones to score are read.
    """
    rules = scoring_in_force(db).scoring
    learned = histories(db, kind)
    alias = _ALIAS[kind]
    where, params = "", list[object]()
    if open_only:
        where += f" AND {_OPEN[kind]}"
    if ids is not None:
        where += f" AND {alias}.id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(ids)))
    empty = History()
    return {
        record_id: score(features, rules, learned.get(territory, empty))
        for record_id, territory, features, _outcome in _rows(db, kind, where, params)
    }


def lead_scores(
    db: sqlite3.Connection, *, open_only: bool = True, ids: Collection[str] | None = None
) -> dict[str, Score]:
    """Every (open) lead's score, by id (only those of `ids` when given)."""
    return scores(db, "lead", open_only=open_only, ids=ids)


def deal_scores(db: sqlite3.Connection, *, open_only: bool = True) -> dict[str, Score]:
    """Every (open) deal's score, by id."""
    return scores(db, "deal", open_only=open_only)


def score_sort_key(found: dict[str, Score]) -> Callable[[str], tuple[int, int]]:
    """A sort key for record ids: highest score first, unscored records last."""

    def key(record_id: str) -> tuple[int, int]:
        hit = found.get(record_id)
        return (1, 0) if hit is None else (0, -hit.tenths)

    return key


class RecordNotFound(LookupError):
    """No single live lead or deal for the id (or prefix) given."""


def find_record_id(db: sqlite3.Connection, kind: str, ref: str) -> str:
    """The id of the live lead or deal `ref` names (its id, or a unique 6+ character prefix)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be lead or deal, not {kind!r}")
    ref = ref.strip()
    found = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM {kind} WHERE deleted_at IS NULL AND (id = ?"
            " OR (length(?) >= 6 AND id LIKE ? || '%')) LIMIT 2",
            (ref, ref, ref.replace("%", "").replace("_", "")),
        )
    ]
    if ref in found:
        return ref
    if len(found) != 1:
        raise RecordNotFound(
            f"{kind} id {ref!r} is ambiguous"
            if found
            else f"no {kind} with id {ref!r} (an id or a prefix of 6+ characters)"
        )
    return found[0]
