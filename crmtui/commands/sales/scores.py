"""`crm score rules add|show`, and the score of one lead or deal (`crm lead score`, `crm deal score`).

The scoring file is reference data an admin publishes (docs/scores.md); a score is
computed on the laptop from it and the territory's won/lost history, never sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui.commands.common import (
    EXIT_NOT_FOUND,
    DbOption,
    FormatOption,
    fail,
)
from crmtui.commands.reading import read_db
from crmtui.commands.writing import publish_file

if TYPE_CHECKING:
    from crmtui.domain.lead_scoring import Score

app = typer.Typer(help="Lead and deal scores: the admin's scoring rules.", no_args_is_help=True)
rules_app = typer.Typer(
    help="The scoring file (rules and the history's weight).", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")

ExplainOption = Annotated[
    bool, typer.Option("--explain", help="List every rule and history variable's points.")
]
EXPLAIN_COLUMNS = ("part", "variable", "value", "points", "log2_odds", "label")


@rules_app.command("add")
def add_rules(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A scoring file (TOML; see docs/scores.md).")],
    db: DbOption = None,
) -> None:
    """Publish the scoring file (a new version when it changed); prints its id."""
    from crmtui.domain.lead_scoring import ScoringFileError, parse_scoring
    from crmtui.services.sales.score_rules import publish_rules

    row, rules, created = publish_file(
        ctx,
        db,
        file,
        check=lambda text, source: parse_scoring(text, source=source),
        refused=ScoringFileError,
        publish=lambda tx, text, source: publish_rules(tx=tx, text=text, source=source),
    )
    typer.echo(row.id)
    state = "added" if created else "is unchanged"
    typer.echo(
        f"scoring rules version {row.version} {state} ({len(rules.rules)} rule(s))", err=True
    )


@rules_app.command("show")
def show_rules(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """The scoring rules in force: each rule, the history's weight and its minimum."""
    from crmtui.output import write_records
    from crmtui.reports.lead_scores import scoring_in_force

    with read_db(ctx, db, fmt) as con:
        found = scoring_in_force(con)
    rules = found.scoring
    records = [
        {
            "label": r.label,
            "when": r.when,
            "test": _test(r),
            "points": r.points,
            "applies": r.applies,
        }
        for r in rules.rules
    ]
    if fmt == "json":
        payload = {
            "version": found.version,
            "history_points": rules.history_points,
            "min_closed": rules.min_closed,
            "note": found.note or None,
            "rules": records,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if fmt == "table":
        head = f"version {found.version}" if found.version else "no scoring file published"
        typer.echo(
            f"{head}; history: {rules.history_points:g} points per doubling of the odds,"
            f" at least {rules.min_closed} closed" + (f" ({found.note})" if found.note else ""),
            err=True,
        )
    write_records(records, fmt, columns=("label", "when", "test", "points", "applies"))


def _test(rule: Any) -> str:
    if rule.present is not None:
        return "known" if rule.present else "unknown"
    if rule.one_of:
        return "is " + " | ".join(rule.one_of)
    parts = []
    if rule.at_least is not None:
        parts.append(f">= {rule.at_least:g}")
    if rule.at_most is not None:
        parts.append(f"<= {rule.at_most:g}")
    return " and ".join(parts)


def score_as_dict(record_id: str, name: str, found: Score) -> dict[str, Any]:
    """A score as `--format json` gives it: the points, p_win and every line."""
    return {
        "id": record_id,
        "name": name,
        "score": found.points,
        "p_win": None if found.p_win is None else round(found.p_win, 4),
        "history_used": found.history_used,
        "note": found.history_note,
        "contributions": [
            {
                "part": c.part,
                "variable": c.variable,
                "value": c.value,
                "points": c.points,
                "log2_odds": None if c.bits is None else round(c.bits, 4),
                "label": c.label,
            }
            for c in found.contributions
        ],
    }


def print_score(
    ctx: typer.Context, kind: str, ref: str, *, explain: bool, fmt: str, db: Path | None
) -> None:
    """Print one lead's or deal's score (and its lines with `explain`); exit 1 if unknown."""
    from crmtui.output import write_records
    from crmtui.reports.lead_scores import RecordNotFound, find_record_id, score_for

    with read_db(ctx, db, fmt) as con:
        try:
            record_id = find_record_id(con, kind, ref)
        except RecordNotFound as exc:
            fail(str(exc), EXIT_NOT_FOUND)
        found = score_for(con, kind, record_id)
        name = con.execute(f"SELECT name FROM {kind} WHERE id = ?", (record_id,)).fetchone()[0]
    assert found is not None
    payload = score_as_dict(record_id, name, found)
    if fmt == "json":
        if not explain:
            payload.pop("contributions")
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not explain:
        if fmt == "csv":
            payload.pop("contributions")
            write_records([payload], "csv")
            return
        p_win = f", p(win) {found.p_win:.0%}" if found.p_win is not None else ""
        typer.echo(f"{found.points:g}  {name} ({found.history_note}{p_win})")
        return
    lines = payload["contributions"]
    if fmt == "table":
        typer.echo(
            f"{name}: score {found.points:g}"
            + (f", p(win) {found.p_win:.0%}" if found.p_win is not None else "")
        )
        typer.echo(found.history_note)
        if not lines:
            typer.echo("no rule matches and no history: score 0")
            return
        write_records(lines, "table", columns=EXPLAIN_COLUMNS)
        typer.echo(f"score {found.points:g}: the sum of the points above")
        return
    write_records(lines, "csv", columns=EXPLAIN_COLUMNS)


def register(root: typer.Typer) -> None:
    """Add `crm score` to the root app."""
    root.add_typer(app, name="score")
