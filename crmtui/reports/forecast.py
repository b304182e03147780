"""The forecast and the pipeline board: read-only, pure sqlite3, built on `scope.deal_rows`.

Amounts are never added across currencies: `forecast` refuses a mix
(`MixedCurrencies`) unless a currency is chosen, and then lists the deals in
other currencies as excluded; the board keeps a total per currency per stage.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from crmtui.domain.periods import Period
from crmtui.reports.scope import FORECAST_CATEGORIES, DealRow, Scope, deal_rows


class MixedCurrencies(ValueError):
    """Deals in several currencies would be added into one total."""

    def __init__(self, currencies: list[str]) -> None:
        super().__init__(
            f"these deals are in {', '.join(currencies)}; amounts in different currencies "
            "are not added up (--no-convert): choose one with --currency, or leave out "
            "--no-convert for one section per currency and a converted total"
        )
        self.currencies = currencies


@dataclass(frozen=True, slots=True)
class CategoryTotal:
    """One forecast category's deals: how many, their amount and their weighted amount."""

    category: str
    count: int
    amount_minor: int
    weighted_minor: int


@dataclass
class Forecast:
    """Totals per forecast category in one currency, with every deal behind them."""

    scope: Scope
    period: Period | None
    currency: str | None
    totals: list[CategoryTotal]
    lines: list[DealRow]
    excluded: list[DealRow] = field(default_factory=list)

    @property
    def amount_minor(self) -> int:
        """Sum of the amounts of every line."""
        return sum(line.amount_minor for line in self.lines)

    @property
    def weighted_minor(self) -> int:
        """Sum of the (per-deal rounded) weighted amounts of every line."""
        return sum(line.weighted_minor for line in self.lines)

    def open_lines(self) -> list[DealRow]:
        """The open deals among the lines."""
        return [line for line in self.lines if line.status == "open"]

    def as_dict(self, *, explain: bool = True) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "scope": self.scope.label,
            "period": None
            if self.period is None
            else {
                "label": self.period.label,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
            },
            "currency": self.currency,
            "totals": [asdict(t) for t in self.totals],
            "amount_minor": self.amount_minor,
            "weighted_minor": self.weighted_minor,
            "deals": [line.as_dict() for line in self.lines] if explain else None,
            "excluded": [line.as_dict() for line in self.excluded],
        }


def forecast(
    db: sqlite3.Connection,
    *,
    scope: Scope,
    period: Period | None,
    tz: tzinfo,
    currency: str | None = None,
    mixed_ok: bool = False,
    rows: list[DealRow] | None = None,
) -> Forecast:
    """Totals per forecast category for the scope: open deals expected to close in the
    period, and deals won or lost in it (every deal when `period` is None).

    With `mixed_ok` and no currency the totals add across currencies (only for a
    caller that converts the lines itself); `rows` reuses deals already read."""
    if rows is None:
        rows = deal_rows(db, scope, period=period, tz=tz)
    excluded: list[DealRow] = []
    code: str | None
    if currency is not None:
        code = currency.upper()
        excluded = [r for r in rows if r.currency != code]
        rows = [r for r in rows if r.currency == code]
    else:
        found = sorted({r.currency for r in rows})
        if len(found) > 1 and not mixed_ok:
            raise MixedCurrencies(found)
        code = found[0] if len(found) == 1 else None
    sums: dict[str, list[int]] = {c: [0, 0, 0] for c in FORECAST_CATEGORIES}
    for row in rows:
        entry = sums.setdefault(row.forecast_category, [0, 0, 0])
        entry[0] += 1
        entry[1] += row.amount_minor
        entry[2] += row.weighted_minor
    totals = [CategoryTotal(c, *v) for c, v in sums.items()]
    return Forecast(scope, period, code, totals, rows, excluded)


@dataclass
class BoardColumn:
    """One stage of the board: its deals' count and sums per currency."""

    stage_id: str
    name: str
    position: int
    probability: int
    forecast_category: str
    count: int = 0
    stale: int = 0
    amount_minor: dict[str, int] = field(default_factory=dict)
    weighted_minor: dict[str, int] = field(default_factory=dict)
    deals: list[DealRow] = field(default_factory=list)

    def as_dict(self, *, with_deals: bool = False) -> dict[str, Any]:
        """Plain values for JSON."""
        out = asdict(self)
        out["deals"] = [d.as_dict() for d in self.deals] if with_deals else None
        return out


@dataclass
class Board:
    """A pipeline's stages in order with their open (or recently closed) deals."""

    pipeline_id: str
    pipeline_name: str
    scope: Scope
    columns: list[BoardColumn]


def default_pipeline_id(db: sqlite3.Connection) -> tuple[str, str]:
    """The default pipeline's (id, name)."""
    row = db.execute(
        "SELECT id, name FROM pipeline WHERE deleted_at IS NULL"
        " ORDER BY is_default DESC, position, id LIMIT 1"
    ).fetchone()
    if row is None:
        raise LookupError("there is no pipeline (run `crm db upgrade`)")
    return row[0], row[1]


def board(
    db: sqlite3.Connection,
    *,
    scope: Scope,
    tz: tzinfo,
    now: datetime,
    pipeline_id: str | None = None,
    closed_in: Period | None = None,
    currency: str | None = None,
) -> Board:
    """The board: open deals in their stages; closed stages hold the deals closed in
    `closed_in` (none when it is None). Each column keeps its deals for the app."""
    if pipeline_id is None:
        pipeline_id, name = default_pipeline_id(db)
    else:
        row = db.execute("SELECT name FROM pipeline WHERE id = ?", (pipeline_id,)).fetchone()
        if row is None:
            raise LookupError(f"no pipeline {pipeline_id!r}")
        name = row[0]
    columns = {
        r[0]: BoardColumn(r[0], r[1], r[2], r[3], r[4])
        for r in db.execute(
            "SELECT id, name, position, probability, forecast_category FROM stage"
            " WHERE pipeline_id = ? AND deleted_at IS NULL ORDER BY position",
            (pipeline_id,),
        )
    }
    rows = deal_rows(db, scope, tz=tz, status="open", pipeline_id=pipeline_id, with_activity=True)
    if closed_in is not None:
        closed = deal_rows(db, scope, period=closed_in, tz=tz, pipeline_id=pipeline_id)
        rows += [r for r in closed if r.status != "open"]
    per: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for row in rows:
        if currency is not None and row.currency != currency.upper():
            continue
        column = columns.get(row.stage_id)
        if column is None:
            continue
        column.count += 1
        column.stale += row.is_stale(now)
        column.deals.append(row)
        sums = per[row.stage_id].setdefault(row.currency, [0, 0])
        sums[0] += row.amount_minor
        sums[1] += row.weighted_minor
    for stage_id, by_currency in per.items():
        columns[stage_id].amount_minor = {c: v[0] for c, v in sorted(by_currency.items())}
        columns[stage_id].weighted_minor = {c: v[1] for c, v in sorted(by_currency.items())}
    return Board(pipeline_id, name, scope, list(columns.values()))


def stale_deals(
    db: sqlite3.Connection, *, scope: Scope, tz: tzinfo, now: datetime
) -> list[DealRow]:
    """Open deals in the scope that are stale at `now`, the longest untouched first."""
    rows = deal_rows(db, scope, tz=tz, status="open", with_activity=True)
    return sorted((r for r in rows if r.is_stale(now)), key=lambda r: r.last_touch())
