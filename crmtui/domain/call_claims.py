"""Team calling: who holds a contact of a shared call list, decided the same on every laptop.

A claim is an ordinary synced record (a rep, a contact, when it was made, when it
expires, when it was released). Two reps may claim one contact while offline;
after sync both laptops hold both claims, and `holder` picks the same one on each:
the earliest live claim, then the lowest id. The other claim lost: its rep is told
(`lost`), and the call list no longer offers the contact to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Claim:
    """One claim, as the rule reads it."""

    id: str
    contact_id: str
    """Whom it holds: a contact's id, or `lead:` and a lead's id (`call_claims.claim_key`)."""
    rep_id: str | None
    claimed_at: datetime
    expires_at: datetime
    released_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        """Whether the claim still holds at `now` (not released, not expired)."""
        return self.released_at is None and self.expires_at > now


def holder(claims: Iterable[Claim], now: datetime) -> Claim | None:
    """The claim that holds a contact at `now` (all claims given are on one contact)."""
    live = [c for c in claims if c.live(now)]
    return min(live, key=lambda c: (c.claimed_at, c.id)) if live else None


def holders(claims: Iterable[Claim], now: datetime) -> dict[str, Claim]:
    """Per contact, the claim that holds it at `now`."""
    by_contact: dict[str, list[Claim]] = {}
    for claim in claims:
        by_contact.setdefault(claim.contact_id, []).append(claim)
    out = {}
    for contact_id, group in by_contact.items():
        found = holder(group, now)
        if found is not None:
            out[contact_id] = found
    return out


def lost(claims: Iterable[Claim], me: str | None, now: datetime) -> list[tuple[Claim, Claim]]:
    """(my live claim, the claim holding the contact instead) for each claim of mine that lost."""
    every = list(claims)
    held = holders(every, now)
    out = []
    for claim in every:
        if claim.rep_id != me or not claim.live(now):
            continue
        winner = held.get(claim.contact_id)
        if winner is not None and winner.id != claim.id and winner.rep_id != me:
            out.append((claim, winner))
    return sorted(out, key=lambda pair: (pair[0].claimed_at, pair[0].id))
