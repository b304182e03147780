"""Discount approval: which lines a manager's decision covers, and the deal's state.

A decision (approve or refuse) records a digest of the exact lines it was made on.
The digest is taken over what a line *says* (description, quantity, unit price,
discount, tax class and rate), in a fixed order and without the lines' ids, so a
quote's snapshot of the same lines has the same digest as the deal's lines: a quote
can be checked against the decision too. Any change of a line (or a line added or
removed) gives another digest, and the deal asks for approval again.

The state is derived, never stored: every replica computes it from the same lines,
decisions and threshold, so two laptops never disagree about it after a sync.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

APPROVED, REFUSED = "approved", "refused"
DECISIONS = (APPROVED, REFUSED)

NOT_NEEDED = "not needed"
NEEDS_APPROVAL = "needs approval"
"""A line's discount is above the threshold and no decision covers these lines."""
STATES = (NOT_NEEDED, NEEDS_APPROVAL, APPROVED, REFUSED)


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a line says, as the digest reads it."""

    description: str
    quantity_milli: int
    unit_price_minor: int
    discount_bp: int
    tax_class: str | None
    tax_rate_bp: int


@dataclass(frozen=True, slots=True)
class Decision:
    """One manager's decision on a deal's lines."""

    decision: str
    lines_digest: str
    decided_at: str
    """UTC timestamp text: the latest decision on the same lines wins."""
    decided_by: str | None = None
    reason: str | None = None
    row_id: str = ""


def lines_digest(lines: Iterable[LineFacts]) -> str:
    """The digest of a set of lines (order and ids do not matter; contents do)."""
    parts = sorted(
        "\x1f".join(
            (
                line.description,
                str(line.quantity_milli),
                str(line.unit_price_minor),
                str(line.discount_bp),
                line.tax_class or "",
                str(line.tax_rate_bp),
            )
        )
        for line in lines
    )
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ApprovalState:
    """Where a deal's lines stand against the threshold and the decisions."""

    state: str
    threshold_bp: int | None
    max_discount_bp: int
    digest: str
    decision: Decision | None
    """The decision that covers these lines (approved or refused), if any."""

    @property
    def blocks_sending(self) -> bool:
        """Whether a quote of these lines may not be sent yet."""
        return self.state in (NEEDS_APPROVAL, REFUSED)


def approval_state(
    lines: Sequence[LineFacts], threshold_bp: int | None, decisions: Iterable[Decision]
) -> ApprovalState:
    """The state of `lines` given the admin's threshold (None: no approval asked)."""
    digest = lines_digest(lines)
    top = max((line.discount_bp for line in lines), default=0)
    if threshold_bp is None or top <= threshold_bp:
        return ApprovalState(NOT_NEEDED, threshold_bp, top, digest, None)
    matching = [d for d in decisions if d.lines_digest == digest and d.decision in DECISIONS]
    if not matching:
        return ApprovalState(NEEDS_APPROVAL, threshold_bp, top, digest, None)
    # Two managers deciding the same lines offline: the later decision stands (the
    # id breaks a tie the same way on every replica).
    last = max(matching, key=lambda d: (d.decided_at, d.row_id))
    return ApprovalState(last.decision, threshold_bp, top, digest, last)
