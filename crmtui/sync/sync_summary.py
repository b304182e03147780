"""The sync state in three numbers, read cheaply enough to show on every screen.

Plain sqlite3 on the app's read-only connection (no SQLModel, no httpx, no sync
client), so the app can ask at start-up and after every write without a cost
anyone feels. Pending changes are counted as records a user knows (a new contact
with its phones is one), from tables kept with the journal (`store.pending`); the Sync screen
adds conflicts and whether a token is stored.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from crmtui.domain.hlc import HLC

# Pending ops of the sync contract, a packed create (store/journal.py) counting as
# its create and one set per field; journals from before packing hold plain rows,
# counted one each. Every pending op is this device's (ops pulled from the server are
# journaled already marked as pushed), so no device filter. This reads every pending
# row and parses the creates: for `crm sync --dry-run` details and the rescue file's
# message only. What a user is shown counts changed records (`pending_records`).
_OPS = (
    "CASE WHEN op = 'create' AND value IS NOT NULL"
    " THEN 1 + (SELECT count(*) FROM json_each(journal.value)) ELSE 1 END"
)
_PENDING = f"SELECT coalesce(sum({_OPS}), 0) FROM journal WHERE pushed_at IS NULL"
_PENDING_BY_ENTITY = (
    f"SELECT entity, sum({_OPS}) FROM journal WHERE pushed_at IS NULL"
    " GROUP BY entity ORDER BY entity"
)
# Kept with the journal (store/pending.py, migration 0011's triggers), in the transaction of each write:
# a few rows, however many ops wait. A contact's phones, emails and addresses count
# as their contact (a user changed "a contact": one new contact is one).
_PENDING_RECORDS = (
    "SELECT entity, records FROM sync_pending_total WHERE records > 0 ORDER BY entity"
)
_PENDING_ROWS = "SELECT coalesce(sum(ops), 0) FROM sync_pending"
_META = "SELECT key, value FROM local_meta WHERE key IN ('sync_server', 'sync_last', 'demo')"


@dataclass(frozen=True)
class SyncSummary:
    """Pending ops, the last successful sync, and whether this database syncs at all."""

    pending: int
    """Changed records waiting for a push (`pending_records`), not field operations."""
    last_sync: datetime | None
    """When the last sync finished (UTC), None if never."""
    enrolled: bool
    """A server is configured (`crm sync login`); whether its token is stored is the Sync screen's to check."""
    demo: bool
    """A generated demo database, which never syncs."""


def pending_count(db: sqlite3.Connection) -> int:
    """Pending ops of the sync contract (what a push would send), counted in SQL."""
    return int(db.execute(_PENDING).fetchone()[0])


def pending_by_entity(db: sqlite3.Connection) -> dict[str, int]:
    """`pending_count` per entity, by entity name, without building the ops."""
    return {entity: int(n) for entity, n in db.execute(_PENDING_BY_ENTITY)}


def pending_records(db: sqlite3.Connection) -> dict[str, int]:
    """Records with changes waiting to be pushed, per entity: one new contact is one."""
    return {entity: int(n) for entity, n in db.execute(_PENDING_RECORDS)}


def pending_journal_rows(db: sqlite3.Connection) -> int:
    """Journal rows waiting to be pushed (a push's progress counts these)."""
    return int(db.execute(_PENDING_ROWS).fetchone()[0])


RECORD_WORDS: dict[str, tuple[str, str]] = {
    "tickler": ("reminder", "reminders"),
    "activity": ("activity", "activities"),
    "deal_stage_change": ("deal stage change", "deal stage changes"),
    "territory_assignment": ("territory assignment", "territory assignments"),
    "territory_rule": ("territory rule", "territory rules"),
    "duplicate_decision": ("not-a-duplicate decision", "not-a-duplicate decisions"),
    "contact_phone": ("phone number", "phone numbers"),
    "contact_email": ("email address", "email addresses"),
    "contact_address": ("postal address", "postal addresses"),
    "plan": ("follow-up plan", "follow-up plans"),
    "plan_enrolment": ("plan enrolment", "plan enrolments"),
    "plan_event": ("plan step record", "plan step records"),
    "call_script": ("call script", "call scripts"),
    "call_claim": ("call claim", "call claims"),
    "exchange_rate": ("exchange rate", "exchange rates"),
    "tax_class": ("tax class", "tax classes"),
    "price_list": ("price list", "price lists"),
    "deal_line": ("deal line", "deal lines"),
    "score_rules": ("scoring file", "scoring files"),
    "quote_line": ("quote line", "quote lines"),
    "approval_policy": ("approval threshold", "approval thresholds"),
    "deal_approval": ("discount decision", "discount decisions"),
}
"""What a user calls a record of each entity (one, several); the rest are their names."""


def _plural(name: str) -> str:
    """English plural of a record's name: territories, addresses, contacts."""
    if name.endswith("y") and name[-2:-1] not in "aeiou":
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    return name + "s"


def record_noun(entity: str, count: int = 1) -> str:
    """What a user calls `count` records of an entity: "reminder", "activities"."""
    name = entity.replace("_", " ")
    one, many = RECORD_WORDS.get(entity, (name, _plural(name)))
    return one if count == 1 else many


def record_words(entity: str, count: int) -> str:
    """ "1 contact", "3 reminders": a count of records in a user's words."""
    return f"{count:,} {record_noun(entity, count)}"


def read_sync_summary(db: sqlite3.Connection) -> SyncSummary:
    """Read the summary: the changed records' totals (a few rows) and one key lookup."""
    pending = sum(pending_records(db).values())
    meta = dict(db.execute(_META).fetchall())
    last = meta.get("sync_last")
    last_sync = datetime.fromtimestamp(HLC.decode(last).millis / 1000, UTC) if last else None
    return SyncSummary(
        pending=pending,
        last_sync=last_sync,
        enrolled=bool(meta.get("sync_server")),
        demo=meta.get("demo") == "1",
    )
