"""Team calling: claiming contacts of a shared call list, releasing them, and lost claims.

A claim (`call_claim`) is a customer record in the contact's territory: it syncs
like an activity, so the reps of a territory see each other's claims after each
sync. The rule of who holds a contact is `domain.call_claims` (the earliest live
claim); a claim ends when it expires, when its rep releases it, or when its rep
logs a call to the contact.

A lead not converted yet is claimed the same way (0022: `call_claim.lead_id`, in the
lead's territory). Claims are keyed by who they hold: a contact's id, or `lead:` and
the lead's id (`claim_key`), so a lead and a contact never share a key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

from crmtui.domain.call_claims import Claim, holders, lost
from crmtui.domain.validate import InvalidInput
from crmtui.store.journal import WriteTx
from crmtui.store.models import CallClaim
from crmtui.store.types import format_timestamp, parse_timestamp

MAX_CLAIM_HOURS = 24
"""A claim longer than a working day would hold a contact nobody calls."""
LEAD_KEY = "lead:"
"""The prefix of a lead's claim key (a contact's key is its id)."""
_KEY_SQL = f"coalesce(contact_id, '{LEAD_KEY}' || lead_id)"


def claim_key(contact_id: str | None, lead_id: str | None) -> str:
    """The key a claim on this contact (or, without one, this lead) is held under."""
    if contact_id:
        return contact_id
    if lead_id:
        return LEAD_KEY + lead_id
    raise ValueError("a claim holds a contact or a lead")


def split_key(key: str) -> tuple[str | None, str | None]:
    """(contact id, lead id) of a claim key; exactly one is set."""
    if key.startswith(LEAD_KEY):
        return None, key.removeprefix(LEAD_KEY)
    return key, None


def claim_name(db: sqlite3.Connection, key: str) -> str:
    """The name of whoever a claim key holds (the key itself when the record is gone)."""
    contact_id, lead_id = split_key(key)
    table = "contact" if contact_id else "lead"
    row = db.execute(f"SELECT name FROM {table} WHERE id = ?", (contact_id or lead_id,)).fetchone()
    return str(row[0]) if row else key


def me_on(db: sqlite3.Connection, rep_name: str | None) -> str | None:
    """Who "me" is, read with SQL (as `territories.me_rep_id`): the enrolled rep, else by name."""
    from crmtui.services.territories import ENROLLED_REP_ID_KEY, ENROLLED_REP_KEY

    def meta(key: str) -> str | None:
        row = db.execute("SELECT value FROM local_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    enrolled = meta(ENROLLED_REP_ID_KEY)
    if enrolled:
        row = db.execute(
            "SELECT name FROM rep WHERE id = ? AND deleted_at IS NULL", (enrolled,)
        ).fetchone()
        if row is not None and (not rep_name or row[0].strip().lower() == rep_name.strip().lower()):
            return enrolled
    name = rep_name or meta(ENROLLED_REP_KEY)
    if not name:
        return None
    row = db.execute(
        "SELECT id FROM rep WHERE deleted_at IS NULL AND lower(name) = lower(?)"
        " ORDER BY id LIMIT 1",
        (name.strip(),),
    ).fetchone()
    return row[0] if row else None


def live_claims(db: sqlite3.Connection, now: datetime) -> list[Claim]:
    """Every claim still holding at `now` (expired and released ones are left out)."""
    rows = db.execute(
        f"SELECT id, {_KEY_SQL}, rep_id, claimed_at, expires_at FROM call_claim"
        " WHERE deleted_at IS NULL AND released_at IS NULL AND expires_at > ?",
        (format_timestamp(now),),
    ).fetchall()
    return [Claim(r[0], r[1], r[2], parse_timestamp(r[3]), parse_timestamp(r[4])) for r in rows]


def _live_on(db: sqlite3.Connection, key: str, now: datetime) -> list[Claim]:
    """The live claims on one contact or lead (by its index: logging a call reads this)."""
    contact_id, lead_id = split_key(key)
    column = "contact_id" if contact_id else "lead_id"
    rows = db.execute(
        f"SELECT id, {_KEY_SQL}, rep_id, claimed_at, expires_at FROM call_claim"
        f" WHERE {column} = ? AND deleted_at IS NULL AND released_at IS NULL AND expires_at > ?",
        (contact_id or lead_id, format_timestamp(now)),
    ).fetchall()
    return [Claim(r[0], r[1], r[2], parse_timestamp(r[3]), parse_timestamp(r[4])) for r in rows]


def held_by_others(db: sqlite3.Connection, me: str | None, now: datetime) -> dict[str, Claim]:
    """Contacts another rep holds at `now` (the call list leaves them out), with the claim."""
    return {c: k for c, k in holders(live_claims(db, now), now).items() if k.rep_id != me}


def held_by_me(db: sqlite3.Connection, me: str | None, now: datetime) -> dict[str, Claim]:
    """Contacts this rep holds at `now`, with the claim."""
    return {c: k for c, k in holders(live_claims(db, now), now).items() if k.rep_id == me}


def lost_claims(db: sqlite3.Connection, me: str | None, now: datetime) -> list[tuple[Claim, Claim]]:
    """This rep's live claims another rep's earlier claim beat (known after a sync)."""
    return lost(live_claims(db, now), me, now)


def claim_contacts(
    *,
    tx: WriteTx,
    contact_ids: Iterable[str],
    me: str | None,
    hours: float,
    list_name: str = "calls",
) -> tuple[list[str], list[str]]:
    """Claim contacts (and leads, by `claim_key`) for `hours`; returns (mine, another rep's)."""
    if not 0 < hours <= MAX_CLAIM_HOURS:
        raise InvalidInput(
            "hours", f"a claim lasts more than 0 and at most {MAX_CLAIM_HOURS} hours"
        )
    held = holders(live_claims(tx.db, tx.now), tx.now)
    mine: list[str] = []
    taken: list[str] = []
    for contact_id in contact_ids:
        current = held.get(contact_id)
        if current is not None and current.rep_id != me:
            taken.append(contact_id)
            continue
        if current is None:
            contact, lead = split_key(contact_id)
            tx.add(
                CallClaim(
                    contact_id=contact,
                    lead_id=lead,
                    rep_id=me,
                    claimed_at=tx.now,
                    expires_at=tx.now + timedelta(hours=hours),
                    list_name=list_name[:120],
                )
            )
        mine.append(contact_id)
    return mine, taken


def release_claims(*, tx: WriteTx, me: str | None, contact_ids: Iterable[str] | None = None) -> int:
    """Release this rep's live claims (on these contacts or lead keys, or all); how many."""
    wanted = None if contact_ids is None else set(contact_ids)
    count = 0
    candidates = (
        live_claims(tx.db, tx.now)
        if wanted is None
        else [c for cid in wanted for c in _live_on(tx.db, cid, tx.now)]
    )
    for claim in candidates:
        if claim.rep_id != me or (wanted is not None and claim.contact_id not in wanted):
            continue
        row = tx.session.get(CallClaim, claim.id)
        if row is not None:
            tx.update(row, {"released_at": tx.now})
            count += 1
    return count
