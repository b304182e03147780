"""Call scripts: the catalogue of script versions, which script a call follows, its answers.

A script is reference data (`crmtui.sync.fields.REFERENCE`) like a follow-up plan:
`crm script add` of a changed file makes a new version, an admin's push publishes
it, every laptop receives it at sync, and a local one works without a server. A call
follows the script named by the contact's current plan step (`script = "..."` in the
plan file), else the calling campaign's script (the `call_script` setting).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache

from crmtui.domain.call_scripts import (
    ScriptDef,
    Walk,
    answers_text,
    check_answers,
    parse_script,
)
from crmtui.services.plan_progress import load_state, running_enrolments, running_lead_enrolments
from crmtui.store.journal import WriteTx
from crmtui.store.models import CallScript


@dataclass(frozen=True)
class StoredScript:
    """A published script version and its definition."""

    id: str
    name: str
    version: int
    script: ScriptDef
    why: str = ""
    """Why a call follows it ("plan New lead, step 1", "the calling campaign")."""


@dataclass(frozen=True)
class ScriptAnswers:
    """A call's answers to its script, as `log_activity` stores them on the activity."""

    script_id: str
    text: str
    """Readable lines (appended to the activity's text: searchable, exported)."""
    answers: dict[str, str]


def check_script_text(text: str, *, source: str) -> ScriptDef:
    """Parse a script file's text (`ScriptFileError` names the file, the line and the field)."""
    return parse_script(text, source=source)


@lru_cache(maxsize=64)
def read_script(source: str, name: str, version: int) -> ScriptDef:
    """A stored script version's definition (its text was checked when it was published)."""
    return parse_script(source, source=f"script {name} v{version}")


def _latest(db: sqlite3.Connection, name: str) -> tuple[str, str, int, str] | None:
    row = db.execute(
        "SELECT id, name, version, source FROM call_script WHERE deleted_at IS NULL"
        " AND lower(name) = lower(?) ORDER BY version DESC LIMIT 1",
        (name.strip(),),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def publish_script(*, tx: WriteTx, text: str, source: str) -> tuple[CallScript, bool]:
    """Add a script, or a new version of it when its text changed; returns (row, created)."""
    parsed = check_script_text(text, source=source)
    latest = _latest(tx.db, parsed.name)
    if latest is not None and latest[3] == text:
        row = tx.session.get(CallScript, latest[0])
        assert row is not None
        return row, False
    created = CallScript(
        name=latest[1] if latest else parsed.name,
        version=(latest[2] + 1) if latest else 1,
        source=text,
    )
    tx.add(created)
    return created, True


def find_script(
    db: sqlite3.Connection, ref: str, version: int | None = None, *, why: str = ""
) -> StoredScript | None:
    """A script by name (its newest version, or `version`) or by id; None when there is none."""
    row = db.execute(
        "SELECT id, name, version, source FROM call_script WHERE deleted_at IS NULL"
        " AND (lower(name) = lower(:r) OR id = :r) AND (:v IS NULL OR version = :v)"
        " ORDER BY version DESC LIMIT 1",
        {"r": ref.strip(), "v": version},
    ).fetchone()
    if row is None:
        return None
    return StoredScript(row[0], row[1], row[2], read_script(row[3], row[1], row[2]), why)


def script_names(db: sqlite3.Connection) -> list[StoredScript]:
    """The newest version of every script, by name."""
    rows = db.execute(
        "SELECT s.id, s.name, s.version, s.source FROM call_script s WHERE s.deleted_at IS NULL"
        " AND s.version = (SELECT max(q.version) FROM call_script q WHERE q.deleted_at IS NULL"
        " AND lower(q.name) = lower(s.name)) ORDER BY lower(s.name)"
    ).fetchall()
    return [StoredScript(r[0], r[1], r[2], read_script(r[3], r[1], r[2])) for r in rows]


def script_for_contact(
    db: sqlite3.Connection, contact_id: str, *, campaign: str | None = None
) -> StoredScript | None:
    """The script a call to this contact follows now, or None.

    The current call step of a running plan that names a script comes first (the
    oldest enrolment when there are several); else the campaign's script. A name
    that no published script has is passed over (the plan may arrive before it).
    """
    return _script_of(db, running_enrolments(db, contact_id), campaign)


def script_for_lead(
    db: sqlite3.Connection, lead_id: str, *, campaign: str | None = None
) -> StoredScript | None:
    """The script a call to a lead not converted yet follows now (as `script_for_contact`)."""
    return _script_of(db, running_lead_enrolments(db, lead_id), campaign)


def _script_of(
    db: sqlite3.Connection, enrolments: list[str], campaign: str | None
) -> StoredScript | None:
    """The first running enrolment's call step script, else the campaign's."""
    for enrolment_id in enrolments:
        state = load_state(db, enrolment_id)
        if state is None or not state.position.running:
            continue
        step = state.position.step
        if step is None or step.kind != "call" or step.script is None:
            continue
        found = find_script(
            db, step.script, why=f"plan {state.plan_name}, step {state.position.step_number}"
        )
        if found is not None:
            return found
    if campaign:
        return find_script(db, campaign, why="the calling campaign")
    return None


def answers_for(stored: StoredScript, given: dict[str, str]) -> tuple[ScriptAnswers, Walk]:
    """Check typed answers against a script (`AnswerError` if they do not fit) for the activity."""
    result = check_answers(stored.script, given)
    answers = {q.key: a for q, a in result.answered}
    text = answers_text(stored.name, stored.version, result)
    return ScriptAnswers(stored.id, text, answers), result


def stored_answers(db: sqlite3.Connection, activity_id: str) -> dict[str, object] | None:
    """The script and answers recorded on an activity, or None."""
    row = db.execute(
        "SELECT s.name, s.version, a.script_answers FROM activity a"
        " JOIN call_script s ON s.id = a.script_id WHERE a.id = ?",
        (activity_id,),
    ).fetchone()
    if row is None:
        return None
    return {"script": row[0], "version": row[1], "answers": json.loads(row[2] or "{}")}
