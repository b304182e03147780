"""Per-step results of the follow-up plans: reach, outcomes, connects, skips and exits.

Read from the synced plan records (`plan_enrolment`, `plan_event`), so a manager's
laptop counts the whole team's work after a sync. Per plan version and step:

- reached: enrolments that got to the step (a reminder made, an outcome or a skip);
- outcomes: the step's logged outcomes (each attempt counts), connects among them
  (someone answered: `reports.calls.CONNECT_OUTCOMES`), skipped: consent skips;
- at: enrolments waiting at the step now; exits: enrolments that left the plan
  there (an outcome that leaves, or stopped, or ended by consent or conversion's end).

An enrolment is in a territory by its contact (else the contact's account), else its
lead; a territory includes its sub-territories.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from crmtui.reports.calls import CONNECT_OUTCOMES
from crmtui.reports.scope import SUBTREE
from crmtui.services.plan_progress import load_state, read_plan

EXIT_STATES = ("left", "stopped", "ended")
STATS_COLUMNS = (
    "plan", "version", "step", "key", "kind", "reached", "outcomes", "connects", "skipped",
    "at", "exits",
)  # fmt: skip
"""The table's columns (`crm plan stats`, the territory summary)."""


@dataclass(frozen=True, slots=True)
class StepStats:
    """One step of one plan version, with what happened at it."""

    plan: str
    version: int
    step: int
    key: str
    kind: str
    reached: int
    outcomes: int
    connects: int
    skipped: int
    at: int
    exits: int

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


def _enrolments(
    db: sqlite3.Connection, territory_id: str | None, plan: str | None
) -> list[tuple[str, str]]:
    """(enrolment id, plan id) of the live enrolments in scope."""
    sql = (
        "SELECT e.id, e.plan_id FROM plan_enrolment e JOIN plan p ON p.id = e.plan_id"
        " LEFT JOIN contact c ON c.id = e.contact_id"
        " LEFT JOIN account a ON a.id = c.account_id"
        " LEFT JOIN lead l ON l.id = e.lead_id"
        " WHERE e.deleted_at IS NULL"
    )
    params: list[Any] = []
    if plan is not None:
        sql += " AND lower(p.name) = lower(?)"
        params.append(plan.strip())
    if territory_id is not None:
        sql += f" AND coalesce(c.territory_id, a.territory_id, l.territory_id) IN ({SUBTREE})"
        params.append(territory_id)
    return [(r[0], r[1]) for r in db.execute(sql + " ORDER BY e.id", params)]


def plan_stats(
    db: sqlite3.Connection, *, territory_id: str | None = None, plan: str | None = None
) -> list[StepStats]:
    """Per plan version and step, in step order: reach, outcomes, connects, skips, exits."""
    enrolments = _enrolments(db, territory_id, plan)
    if not enrolments:
        return []
    plans: dict[str, tuple[str, int, list[tuple[str, str]]]] = {}
    for pid, name, version, source in db.execute(
        "SELECT id, name, version, source FROM plan WHERE id IN"
        f" ({','.join('?' * len({p for _, p in enrolments}))})",
        sorted({p for _, p in enrolments}),
    ):
        defined = read_plan(source, name, version).steps
        plans[pid] = (name, version, [(s.key, s.kind) for s in defined])
    # (plan id, step key) -> counters; a set of enrolments for the reach.
    reached: dict[tuple[str, str], set[str]] = {}
    counts: dict[tuple[str, str], list[int]] = {}  # outcomes, connects, skipped, at, exits
    by_id = dict(enrolments)
    marks = ",".join("?" * len(CONNECT_OUTCOMES))
    # The step of each enrolment's latest scheduled reminder: where a stopped or ended
    # one stood (its reminder is removed when it ends, so it counts as reached there).
    last: dict[str, tuple[str, str]] = {}
    for start in range(0, len(enrolments), 500):
        chunk = [e for e, _ in enrolments[start : start + 500]]
        rows = db.execute(
            "SELECT e.enrolment_id, e.step, e.kind, e.outcome IN (" + marks + "), e.at,"
            " t.deleted_at IS NOT NULL"
            " FROM plan_event e LEFT JOIN activity a ON a.id = e.activity_id"
            " LEFT JOIN tickler t ON t.id = e.tickler_id"
            " WHERE e.deleted_at IS NULL AND a.deleted_at IS NULL AND e.step IS NOT NULL"
            f" AND e.enrolment_id IN ({','.join('?' * len(chunk))})",
            (*CONNECT_OUTCOMES, *chunk),
        )
        for enrolment_id, step, kind, connected, at, removed in rows:
            where = (by_id[enrolment_id], step)
            if kind == "scheduled" and (enrolment_id not in last or at > last[enrolment_id][0]):
                last[enrolment_id] = (at, step)
            if kind == "scheduled" and removed:
                # A removed step reminder (an outcome branched away from the step it had
                # scheduled, another laptop's duplicate, the end) reached nobody by itself.
                continue
            reached.setdefault(where, set()).add(enrolment_id)
            cell = counts.setdefault(where, [0, 0, 0, 0, 0])
            if kind == "outcome":
                cell[0] += 1
                cell[1] += bool(connected)
            elif kind == "skipped":
                cell[2] += 1
    for enrolment_id, plan_id in enrolments:
        state = load_state(db, enrolment_id)
        if state is None:
            continue
        position = state.position
        step_key = position.step.key if position.step is not None else None
        if position.state in EXIT_STATES and step_key is None:
            # Stopped or ended: counted at the step it stood at.
            keys = [k for k, _ in plans[plan_id][2]]
            stood = last.get(enrolment_id)
            step_key = stood[1] if stood else (keys[0] if keys else None)
        if step_key is None:
            continue  # completed: every step done, no exit
        cell = counts.setdefault((plan_id, step_key), [0, 0, 0, 0, 0])
        reached.setdefault((plan_id, step_key), set()).add(enrolment_id)
        if position.running:
            cell[3] += 1
        elif position.state in EXIT_STATES:
            cell[4] += 1
    out: list[StepStats] = []
    for plan_id, (name, version, steps) in sorted(
        plans.items(), key=lambda p: (p[1][0].lower(), p[1][1])
    ):
        for number, (key, kind) in enumerate(steps, 1):
            cell = counts.get((plan_id, key), [0, 0, 0, 0, 0])
            out.append(
                StepStats(
                    plan=name,
                    version=version,
                    step=number,
                    key=key,
                    kind=kind,
                    reached=len(reached.get((plan_id, key), set())),
                    outcomes=cell[0],
                    connects=cell[1],
                    skipped=cell[2],
                    at=cell[3],
                    exits=cell[4],
                )
            )
    return out
