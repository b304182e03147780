"""The server's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Keys are client-made or server-made UUIDv7 strings, never sequences. The only
counter is `sync_counter`, which numbers the feed (`sync_change.seq`): it is
bumped under a row lock held to commit, so feed numbers become visible in the
order they were handed out (see `crmtui.server.push`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    false,
    select,
)

metadata = MetaData()

ID = 36
HLC = 19

territory = Table(
    "srv_territory",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("parent_id", String(ID), ForeignKey("srv_territory.id"), nullable=True),
    Column("created_at", String(32), nullable=False),
)

rep = Table(
    "srv_rep",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(10), nullable=False),
    Column("created_at", String(32), nullable=False),
)

rep_territory = Table(
    "srv_rep_territory",
    metadata,
    Column("rep_id", String(ID), ForeignKey("srv_rep.id"), primary_key=True),
    Column("territory_id", String(ID), ForeignKey("srv_territory.id"), primary_key=True),
)

device = Table(
    "srv_device",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("rep_id", String(ID), ForeignKey("srv_rep.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    # The id the laptop stamps on its journal; bound on the first push, fixed after.
    Column("client_id", String(ID), nullable=True, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
    Column("last_seen_at", String(32), nullable=True),
)

field_state = Table(
    "srv_field",
    metadata,
    Column("entity", String(60), primary_key=True),
    Column("row_id", String(ID), primary_key=True),
    Column("field", String(60), primary_key=True),
    Column("value", Text, nullable=True),
    Column("hlc", String(HLC), nullable=False),
    Column("device_id", String(ID), nullable=False),
)

LINK_FIELDS = ("contact_id", "deal_id", "account_id", "lead_id", "price_list_id", "quote_id")
"""The links a record without a territory of its own takes its territory from.

s0012: a price takes its list's (an account's list is in the account's territory), a
quote line its quote's (a quote is in its deal's)."""

Index(
    "ix_srv_field_link",
    field_state.c.field,
    field_state.c.value,
    # Partial: only link values (short ids) are looked up, when a record moves.
    postgresql_where=field_state.c.field.in_(LINK_FIELDS),
    sqlite_where=field_state.c.field.in_(LINK_FIELDS),
)

consent_state = Table(
    "srv_consent",
    metadata,
    Column("entity", String(60), primary_key=True),
    Column("row_id", String(ID), primary_key=True),
    Column("field", String(60), primary_key=True),
    # `crmtui.sync.merge.ConsentState.dumps`: the opt-outs still standing and what
    # each version a device may send back as its base had observed of them.
    Column("state", Text, nullable=False),
)

row_scope = Table(
    "srv_row",
    metadata,
    Column("entity", String(60), primary_key=True),
    Column("row_id", String(ID), primary_key=True),
    Column("territory_id", String(ID), nullable=True, index=True),
    Column("owner_id", String(ID), nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("flagged", Boolean, nullable=False, default=False),
    Column("last_hlc", String(HLC), nullable=False),
    Column("created_hlc", String(HLC), nullable=False),
    Column("created_device", String(ID), nullable=False),
)

conflict = Table(
    "srv_conflict",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity", String(60), nullable=False),
    Column("row_id", String(ID), nullable=False),
    Column("field", String(60), nullable=False),
    Column("kept_value", Text, nullable=True),
    Column("kept_hlc", String(HLC), nullable=False),
    Column("kept_device", String(ID), nullable=False),
    Column("other_value", Text, nullable=True),
    Column("other_hlc", String(HLC), nullable=False),
    Column("other_device", String(ID), nullable=False),
    Column("territory_id", String(ID), nullable=True),
    Column("seq", BigInteger, nullable=False, index=True),
    Column("resolved_at", String(32), nullable=True),
)

change = Table(
    "sync_change",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(10), nullable=False),
    Column("entity", String(60), nullable=False),
    Column("row_id", String(ID), nullable=False),
    Column("field", String(60), nullable=True),
    Column("value", Text, nullable=True),
    Column("hlc", String(HLC), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("territory_id", String(ID), nullable=True),
    Column("flagged", Boolean, nullable=False, default=False),
    # The pushed op itself, exactly as its device sent it (a create, or a set under
    # the op's own version): that device holds it already, so a pull may leave it
    # out for it (see `crmtui.server.pull`). Snapshots, removals, undeletes and
    # versions the server made are never echoes.
    Column("echo", Boolean, nullable=False, default=False, server_default=false()),
    # The op log: every pushed op has one row here, with its answer. Its echo when
    # it made one, else a row of kind LOGGED that no pull sends.
    Column("op_id", String(ID), nullable=True),
    Column("status", String(12), nullable=True),
    Column("reason", Text, nullable=True),
    Column("received_at", String(32), nullable=True),
    # An entry for one device only (a scope snapshot or removal made for its pull,
    # `crmtui.server.scope`); null for every entry of the shared feed.
    Column("for_device", String(ID), nullable=True),
    Index("ix_sync_change_territory_seq", "territory_id", "seq"),
    Index("ux_sync_change_op", "op_id", unique=True),
    # Who else edited a record, for a delete (`push._row_state`).
    Index("ix_sync_change_row", "entity", "row_id"),
)

Index(
    "ix_sync_change_for_device_seq",
    change.c.for_device,
    change.c.seq,
    # s0014: a pull reads the entries written for its device in order (`pull`);
    # partial, as nearly every entry is of the shared feed (for_device null).
    postgresql_where=change.c.for_device.isnot(None),
    sqlite_where=change.c.for_device.isnot(None),
)

LOGGED = "logged"
"""The kind of an op's log row when the op made no echo (superseded, rejected, ...)."""

op_log = (
    select(
        change.c.op_id,
        change.c.device_id,
        change.c.entity,
        change.c.row_id,
        change.c.field,
        change.c.hlc,
        change.c.status,
        change.c.reason,
        change.c.received_at,
    )
    .where(change.c.op_id.is_not(None))
    .subquery("op_log")
)
"""Every op pushed, once, with its answer: the rows of the feed that carry an op id."""

counter = Table(
    "sync_counter",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


meta = Table(
    "srv_meta",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
)
"""The server's own settings: `server_id` (its identity), `reseed_until` (a reseed window)."""

device_scope = Table(
    "srv_device_scope",
    metadata,
    Column("device_id", String(ID), ForeignKey("srv_device.id"), primary_key=True),
    Column("scope", Text, nullable=False),
)
"""The scope each device's last pull was filtered with (`crmtui.server.scope.Scope`)."""


# Web lead intake (s0006): forms, posts, routing and its log (`crmtui.server.intake`).

intake_form = Table(
    "srv_intake_form",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("key_sha256", String(64), nullable=False),
    # The form file's text (TOML, `crmtui.server.intake_forms.parse_form`): fields,
    # honeypot, rate, the territory and plan it feeds.
    Column("source", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("key_rotated_at", String(32), nullable=True),
)
"""A web form an admin published; only its key's SHA-256 is stored."""

intake_post = Table(
    "srv_intake_post",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("form_id", String(ID), ForeignKey("srv_intake_form.id"), nullable=False),
    Column("client", String(64), nullable=False),
    Column("received_at", String(32), nullable=False),
    # lead (a new lead), duplicate (attached to an existing lead or contact), bot
    # (the honeypot was filled: answered 2xx, discarded).
    Column("outcome", String(12), nullable=False),
    Column("entity", String(60), nullable=True),
    Column("row_id", String(ID), nullable=True),
    Index("ix_srv_intake_post_rate", "form_id", "client", "received_at"),
)
"""Every accepted post (the rate limit counts them; the bot count is read here)."""

rep_routing = Table(
    "srv_rep_routing",
    metadata,
    Column("rep_id", String(ID), ForeignKey("srv_rep.id"), primary_key=True),
    Column("max_open_leads", BigInteger, nullable=True),
    Column("leave_from", String(10), nullable=True),
    Column("leave_to", String(10), nullable=True),
)
"""A rep's capacity (open leads at most) and leave (dates, inclusive) for lead routing."""

rotation = Table(
    "srv_rotation",
    metadata,
    Column("territory_id", String(ID), primary_key=True),
    Column("last_rep_id", String(ID), nullable=True),
    Column("turns", BigInteger, nullable=False),
)
"""Per territory, the rep the round-robin gave the last lead to (read under the feed lock)."""

assignment = Table(
    "srv_assignment",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("lead_id", String(ID), nullable=False),
    Index("ix_srv_assignment_lead_id", "lead_id"),
    Column("rep_id", String(ID), nullable=True),
    Column("territory_id", String(ID), nullable=True),
    Column("at", String(32), nullable=False),
    Column("by", String(200), nullable=False),
    # JSON: the rule matched (or the form's territory), the rotation position, the
    # reps skipped and why (on leave, at capacity).
    Column("why", Text, nullable=False),
)
"""The assignment log: who got each routed lead, and why."""
