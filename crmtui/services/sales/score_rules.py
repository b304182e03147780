"""Publishing the lead-scoring file (reference data, versioned like plans).

Each `crm score rules add FILE` of a changed text makes the next version; the newest
live version is in force. At sync the server takes it only from an admin
(`crmtui.sync.fields.REFERENCE`); a laptop without a server keeps its own.
"""

from __future__ import annotations

from sqlmodel import col, select

from crmtui.domain.lead_scoring import ScoringDef, parse_scoring
from crmtui.store.journal import WriteTx
from crmtui.store.models import ScoreRules


def newest_rules(tx: WriteTx) -> ScoreRules | None:
    """The scoring file in force (its newest live version), or None."""
    stmt = (
        select(ScoreRules)
        .where(col(ScoreRules.deleted_at).is_(None))
        .order_by(col(ScoreRules.version).desc(), col(ScoreRules.id).desc())
    )
    return tx.session.exec(stmt).first()


def publish_rules(*, tx: WriteTx, text: str, source: str) -> tuple[ScoreRules, ScoringDef, bool]:
    """Add the scoring file as the next version when its text changed; (row, rules, created).

    `ScoringFileError` names the file and the rule; nothing is saved then.
    """
    rules = parse_scoring(text, source=source)
    latest = newest_rules(tx)
    if latest is not None and latest.source == text:
        return latest, rules, False
    row = ScoreRules(version=(latest.version + 1) if latest else 1, source=text)
    tx.add(row)
    return row, rules, True
