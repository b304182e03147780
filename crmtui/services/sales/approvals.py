"""Discount approval: the admin's threshold, a manager's decision, a deal's state.

The threshold is reference data (`approval_policy`, one record with a derived id): an
admin sets it, every laptop receives it. A decision is a customer record of its own
(`deal_approval`, scoped by its deal), journaled and synced like a line, carrying the
digest of the lines it was made on (`crmtui.domain.approval`). A deal's state is read,
never written: the same lines, decisions and threshold give the same answer on every
replica.

Who may decide: on a laptop enrolled with a server, the enrolled rep's role (from the
`rep` record the server published) must be manager or admin, and the server refuses a
rep's decision anyway (`crmtui.server.push`); a laptop that never synced is its own
team (like a local catalogue) and may decide.
"""

from __future__ import annotations

import sqlite3
import uuid

from crmtui.domain.approval import (
    APPROVED,
    DECISIONS,
    NOT_NEEDED,
    ApprovalState,
    Decision,
    LineFacts,
    approval_state,
)
from crmtui.domain.lines import BP, format_percent
from crmtui.domain.validate import InvalidInput
from crmtui.services.territories import ENROLLED_REP_ID_KEY, ENROLLED_REP_KEY
from crmtui.store.journal import WriteTx
from crmtui.store.models import ApprovalPolicy, Deal, DealApproval, Rep
from crmtui.store.resolve import get_live

POLICY_NAME = "discount"
POLICY_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "crmtui:approval_policy:discount"))
"""One id on every laptop: two admins setting the threshold offline edit one record."""
DECIDERS = ("manager", "admin")


class NeedsApproval(Exception):
    """A quote's lines wait for (or were refused) a manager's approval of their discount."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def threshold(db: sqlite3.Connection) -> int | None:
    """The discount (basis points) above which a line needs a manager; None: never."""
    row = db.execute(
        "SELECT discount_threshold_bp FROM approval_policy WHERE id = ? AND deleted_at IS NULL",
        (POLICY_ID,),
    ).fetchone()
    return None if row is None else row[0]


def set_threshold(*, tx: WriteTx, threshold_bp: int | None) -> ApprovalPolicy:
    """Set (or with None, drop) the discount threshold; reference data the admin publishes."""
    if threshold_bp is not None and not 0 <= threshold_bp < BP:
        raise InvalidInput("threshold", "must be at least 0% and below 100%")
    policy = tx.session.get(ApprovalPolicy, POLICY_ID)
    if policy is None:
        policy = ApprovalPolicy(id=POLICY_ID, name=POLICY_NAME, discount_threshold_bp=threshold_bp)
        tx.add(policy)
        return policy
    changes: dict[str, object] = {"discount_threshold_bp": threshold_bp}
    if policy.deleted_at is not None:
        changes["deleted_at"] = None
    tx.update(policy, changes)
    return policy


def deal_line_facts(db: sqlite3.Connection, deal_id: str) -> list[LineFacts]:
    """A deal's live lines as the approval digest reads them."""
    return [
        LineFacts(*row)
        for row in db.execute(
            "SELECT description, quantity_milli, unit_price_minor, discount_bp, tax_class,"
            " tax_rate_bp FROM deal_line WHERE deal_id = ? AND deleted_at IS NULL",
            (deal_id,),
        )
    ]


def quote_line_facts(db: sqlite3.Connection, quote_id: str) -> list[LineFacts]:
    """A quote's lines (its snapshot of the deal's lines) as the digest reads them."""
    return [
        LineFacts(*row)
        for row in db.execute(
            "SELECT description, quantity_milli, unit_price_minor, discount_bp, tax_class,"
            " tax_rate_bp FROM quote_line WHERE quote_id = ? AND deleted_at IS NULL",
            (quote_id,),
        )
    ]


def decisions(db: sqlite3.Connection, deal_id: str) -> list[Decision]:
    """Every live decision recorded on a deal."""
    return [
        Decision(*row)
        for row in db.execute(
            "SELECT decision, lines_digest, decided_at, decided_by, reason, id"
            " FROM deal_approval WHERE deal_id = ? AND deleted_at IS NULL",
            (deal_id,),
        )
    ]


def deal_state(db: sqlite3.Connection, deal_id: str) -> ApprovalState:
    """Where a deal's live lines stand: not needed, needs approval, approved or refused."""
    return approval_state(deal_line_facts(db, deal_id), threshold(db), decisions(db, deal_id))


def quote_state(db: sqlite3.Connection, quote_id: str, deal_id: str) -> ApprovalState:
    """Where a quote's lines stand (decisions on its deal bound to exactly those lines)."""
    return approval_state(quote_line_facts(db, quote_id), threshold(db), decisions(db, deal_id))


def explain(state: ApprovalState) -> str:
    """One line for a person: why a deal or quote waits, or what was decided."""
    if state.state == NOT_NEEDED:
        return "no approval needed"
    top = format_percent(state.max_discount_bp)
    limit = format_percent(state.threshold_bp or 0)
    if state.decision is None:
        return f"needs approval: a discount of {top} is above the {limit} threshold"
    by = f" by {state.decision.decided_by}" if state.decision.decided_by else ""
    why = f": {state.decision.reason}" if state.decision.reason else ""
    return f"{state.decision.decision}{by} ({top} over the {limit} threshold){why}"


def _decider(tx: WriteTx, rep_name: str | None) -> str | None:
    """The name the decision records; refuses an enrolled laptop whose rep is no manager."""
    enrolled = tx.meta(ENROLLED_REP_ID_KEY)
    if enrolled:
        rep = tx.session.get(Rep, enrolled)
        role = rep.role if rep is not None and rep.deleted_at is None else "rep"
        if role not in DECIDERS:
            raise InvalidInput("role", "discounts are approved or refused by a manager or an admin")
        return rep.name if rep is not None else tx.meta(ENROLLED_REP_KEY)
    return rep_name or tx.meta(ENROLLED_REP_KEY)


def decide(
    *,
    tx: WriteTx,
    deal_ref: str,
    decision: str,
    reason: str | None,
    rep_name: str | None = None,
) -> tuple[DealApproval, ApprovalState]:
    """Approve or refuse a deal's discounted lines as they are now; returns the new state."""
    if decision not in DECISIONS:
        raise InvalidInput("decision", f"must be one of {', '.join(DECISIONS)}")
    deal = get_live(tx, Deal, deal_ref)
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status}; its lines are final")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 1000:
        raise InvalidInput("reason", "is longer than 1000 characters")
    if decision != APPROVED and reason is None:
        raise InvalidInput("reason", "a refusal says why (--reason)")
    who = _decider(tx, rep_name)
    tx.flush()
    before = deal_state(tx.db, deal.id)
    if before.state == NOT_NEEDED:
        raise InvalidInput(
            "deal",
            "no line's discount is above the approval threshold: there is nothing to decide",
        )
    row = DealApproval(
        deal_id=deal.id, decision=decision, lines_digest=before.digest,
        max_discount_bp=before.max_discount_bp, reason=reason, decided_by=who,
        decided_at=tx.now,
    )  # fmt: skip
    tx.add(row)
    tx.flush()
    return row, deal_state(tx.db, deal.id)


def check_can_send(db: sqlite3.Connection, quote_id: str, deal_id: str, label: str) -> None:
    """Raise `NeedsApproval` when a quote's lines wait for, or were refused, approval."""
    state = quote_state(db, quote_id, deal_id)
    if not state.blocks_sending:
        return
    if state.decision is None:
        raise NeedsApproval(
            f"{label} cannot be marked sent: a discount of {format_percent(state.max_discount_bp)}"
            f" is above the {format_percent(state.threshold_bp or 0)} approval threshold and"
            f" no manager has approved these lines (crm deal approve {deal_id[:8]} --reason ...)"
        )
    raise NeedsApproval(
        f"{label} cannot be marked sent: a manager refused these lines' discount"
        + (f" ({state.decision.reason})" if state.decision.reason else "")
        + "; change the lines, make a new quote version and ask again"
    )
