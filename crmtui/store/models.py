"""SQLModel tables for the whole domain (see DESIGN.md, "The domain").

Every table has a UUIDv7 string key made on the device, aware UTC timestamps and a
`deleted_at` tombstone: rows are never removed by the services, so a delete can be
journaled, synced and undone. Enumerations are plain strings checked by the
services; their allowed values live here as constants.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from crmtui.domain.ids import uuid7
from crmtui.store.types import UTCDateTime, utcnow

ROLES = ("rep", "manager", "admin")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed_won", "closed_lost", "omitted")
LEAD_STATUSES = ("new", "working", "qualified", "disqualified", "converted")
DEAL_STATUSES = ("open", "won", "lost")
ACTIVITY_KINDS = ("call", "email", "meeting", "visit", "note")
ACTIVITY_OUTCOMES = (
    "connected",
    "no-answer",
    "voicemail",
    "busy",
    "wrong-number",
    "meeting-booked",
    "not-interested",
    "callback-requested",
    "sent",
    "replied",
    "held",
    "cancelled",
)
TICKLER_STATUSES = ("open", "done", "cancelled")
JOURNAL_OPS = ("create", "set", "delete")
# A contact's phones, emails and postal addresses are items of their own (0007).
PHONE_KINDS = ("work", "mobile", "home", "fax", "other")
EMAIL_KINDS = ("work", "home", "other")
ADDRESS_KINDS = ("work", "home", "other")
# What a territory rule compares with an account: its country, the start of its
# postcode, its industry, or its size (employees at least / at most a number).
TERRITORY_RULE_KINDS = ("country", "postcode_prefix", "industry", "employees_min", "employees_max")
# How a tax class rounds (0015): each line's tax rounded, then added ("line"), or the
# class's net total taxed and rounded once ("total").
TAX_ROUNDINGS = ("line", "total")
QUOTE_STATUSES = ("draft", "sent", "accepted", "declined", "expired")
APPROVAL_DECISIONS = ("approved", "refused")


def _id_field() -> Any:
    return Field(default_factory=uuid7, primary_key=True, max_length=36)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _fk(target: str, *, index: bool = True) -> Any:
    return Field(default=None, foreign_key=target, index=index, max_length=36)


class Territory(SQLModel, table=True):
    """A named area in a hierarchy (region > district > ...)."""

    id: str = _id_field()
    name: str
    parent_id: str | None = _fk("territory.id")
    kind: str | None = None  # a label for the level: "region", "district", ...
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class TerritoryRule(SQLModel, table=True):
    """One condition that puts matching accounts into a territory.

    Rules are evaluated locally; the matching rule with the highest priority wins.
    """

    __tablename__ = "territory_rule"
    id: str = _id_field()
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=36)
    kind: str = Field(max_length=20)
    value: str
    priority: int = 0
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Rep(SQLModel, table=True):
    """A user of the system: a rep, a manager or an admin."""

    id: str = _id_field()
    name: str
    email: str | None = None
    role: str = "rep"
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class TerritoryAssignment(SQLModel, table=True):
    """A rep assigned to a territory; managers see the subtree below it."""

    __tablename__ = "territory_assignment"
    id: str = _id_field()
    rep_id: str = Field(foreign_key="rep.id", index=True, max_length=36)
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=36)
    created_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Account(SQLModel, table=True):
    """A company or organisation."""

    # The summary's coverage gaps per territory and owner, from the index alone (0006).
    __table_args__ = (
        Index(
            "ix_account_territory_owner",
            "territory_id",
            "owner_id",
            "deleted_at",
            "archived_at",
            "id",
        ),
    )
    id: str = _id_field()
    name: str = Field(index=True)
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    phone: str | None = None
    phone_e164: str | None = Field(default=None, index=True)
    website: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    territory_id: str | None = _fk("territory.id")
    # Set when a person put the account in its territory by hand: realign leaves it.
    territory_pinned: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    owner_id: str | None = _fk("rep.id")
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = None
    external_id: str | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()
    archived_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()


class Contact(SQLModel, table=True):
    """A person, optionally at an account, with their consent settings."""

    __table_args__ = (
        # The app's first screen lists recently changed contacts.
        Index("ix_contact_updated_at", "updated_at"),
        # The agenda's stay-in-touch list reads only contacts with a cadence.
        Index(
            "ix_contact_stay_in_touch",
            "stay_in_touch_days",
            sqlite_where=text("stay_in_touch_days IS NOT NULL"),
        ),
    )

    id: str = _id_field()
    name: str
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    account_id: str | None = _fk("account.id")
    email: str | None = Field(default=None, index=True)
    phone: str | None = None
    phone_e164: str | None = Field(default=None, index=True)
    mobile: str | None = None
    mobile_e164: str | None = Field(default=None, index=True)
    city: str | None = None
    country: str | None = None
    territory_id: str | None = _fk("territory.id")
    owner_id: str | None = _fk("rep.id")
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = None
    # Consent: enforced wherever a contact can be acted on.
    do_not_call: bool = False
    do_not_email: bool = False
    max_calls: int | None = None
    max_calls_days: int | None = None
    stay_in_touch_days: int | None = None
    source: str | None = None
    external_id: str | None = None
    # 0007: more about the person; phones, emails and addresses are items
    # (ContactPhone, ContactEmail, ContactAddress) and the phone, mobile, email,
    # city and country above are their primaries, kept by the services for speed.
    birthday: date | None = None
    nickname: str | None = None
    salutation: str | None = None
    department: str | None = None
    website: str | None = None
    source_uid: str | None = None  # the source's own id for the card (a vCard UID)
    # Properties we do not model, kept so an export gives them back: a JSON object
    # {"vcard": ["X-FOO:bar", ...], "csv": {"Column": "value"}} as text.
    extra: str | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()
    archived_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()


class ContactPhone(SQLModel, table=True):
    """One of a contact's phone numbers; `is_primary` marks the one the call list dials."""

    __tablename__ = "contact_phone"
    # Not "ix_contact_phone_e164": that name is the contact table's phone index.
    __table_args__ = (Index("ix_phone_item_e164", "e164"),)
    id: str = _id_field()
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    kind: str = Field(default="work", max_length=10)
    number: str  # as typed (or as the source wrote it)
    e164: str | None = None
    extension: str | None = Field(default=None, max_length=20)
    is_primary: bool = False  # never a fax (the services refuse it)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class ContactEmail(SQLModel, table=True):
    """One of a contact's email addresses; `is_primary` marks the one mail goes to."""

    __tablename__ = "contact_email"
    # Identity finds a contact by any of its emails whatever their case (0010).
    __table_args__ = (Index("ix_contact_email_lower", text("lower(address)")),)
    id: str = _id_field()
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    kind: str = Field(default="work", max_length=10)
    address: str = Field(index=True)  # as normalised (the local part keeps its case)
    is_primary: bool = False
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class ContactAddress(SQLModel, table=True):
    """One of a contact's postal addresses; the primary one gives the contact's city."""

    __tablename__ = "contact_address"
    id: str = _id_field()
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    kind: str = Field(default="work", max_length=10)
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = Field(default=None, max_length=20)
    country: str | None = None
    is_primary: bool = False
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


CONTACT_ITEMS: dict[str, Any] = {
    "contact_phone": ContactPhone,
    "contact_email": ContactEmail,
    "contact_address": ContactAddress,
}
"""A contact's item entities: each a synced record of its own linked by contact_id."""


class Pipeline(SQLModel, table=True):
    """A sales process with ordered stages."""

    id: str = _id_field()
    name: str
    is_default: bool = False
    position: int = 0
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Stage(SQLModel, table=True):
    """One step of a pipeline with its default win probability and forecast category."""

    id: str = _id_field()
    pipeline_id: str = Field(foreign_key="pipeline.id", index=True, max_length=36)
    name: str
    position: int
    probability: int = 0
    forecast_category: str = "pipeline"
    stale_after_days: int | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Lead(SQLModel, table=True):
    """An unqualified prospect; converting it opens a deal."""

    id: str = _id_field()
    name: str
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_e164: str | None = Field(default=None, index=True)
    source: str | None = None
    status: str = "new"
    disqualify_reason: str | None = None
    # 0018: what a web form or the rep knows of the company before there is an account
    # (the lead score's history reads them; a converted lead's account has its own).
    industry: str | None = Field(default=None, max_length=80)
    employees: int | None = None
    country: str | None = Field(default=None, max_length=2)
    owner_id: str | None = _fk("rep.id")
    territory_id: str | None = _fk("territory.id")
    converted_account_id: str | None = _fk("account.id", index=False)
    converted_contact_id: str | None = _fk("contact.id", index=False)
    converted_deal_id: str | None = _fk("deal.id", index=False)
    converted_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Deal(SQLModel, table=True):
    """An opportunity moving through a pipeline.

    Amounts are integers in the currency's minor unit (cents) so sums are exact.
    """

    # The board's and the summary's reads come from this index alone (0006).
    __table_args__ = (
        Index(
            "ix_deal_board",
            "stage_id",
            "status",
            "deleted_at",
            "currency",
            "amount_minor",
            "probability",
            "stage_changed_at",
            "expected_close",
            "closed_at",
            "territory_id",
            "owner_id",
            "id",
        ),
    )
    id: str = _id_field()
    name: str
    account_id: str | None = _fk("account.id")
    contact_id: str | None = _fk("contact.id")
    pipeline_id: str = Field(foreign_key="pipeline.id", index=True, max_length=36)
    stage_id: str = Field(foreign_key="stage.id", index=True, max_length=36)
    amount_minor: int | None = None
    currency: str = "EUR"
    expected_close: date | None = None
    probability: int | None = None
    owner_id: str | None = _fk("rep.id")
    territory_id: str | None = _fk("territory.id")
    status: str = "open"
    lost_reason: str | None = None
    closed_at: datetime | None = _ts()
    stage_changed_at: datetime = _created()
    # 0010: the source CRM's id of an imported deal (a Salesforce Opportunity ID), so a
    # re-import recognises it; synced like any field.
    external_id: str | None = Field(default=None, max_length=120)
    # 0015: True when the amount was typed over a deal that has lines; False means a
    # deal with lines takes the sum of its lines (derived on every replica).
    amount_override: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class DealStageChange(SQLModel, table=True):
    """One entry of a deal's stage history."""

    __tablename__ = "deal_stage_change"
    id: str = _id_field()
    deal_id: str = Field(foreign_key="deal.id", index=True, max_length=36)
    from_stage_id: str | None = _fk("stage.id", index=False)
    to_stage_id: str = Field(foreign_key="stage.id", max_length=36)
    changed_at: datetime = _created()
    changed_by: str | None = _fk("rep.id", index=False)
    deleted_at: datetime | None = _ts()


class Activity(SQLModel, table=True):
    """Something that happened: a call, email, meeting, visit or note."""

    __table_args__ = (
        Index("ix_activity_contact_occurred", "contact_id", "occurred_at"),
        Index("ix_activity_occurred", "occurred_at"),
        # Staleness, coverage gaps and the summary's counts (0006).
        Index("ix_activity_deal_live", "deal_id", "deleted_at", "occurred_at"),
        Index("ix_activity_account_live", "account_id", "deleted_at", "occurred_at"),
        Index(
            "ix_activity_period",
            "deleted_at",
            "occurred_at",
            "rep_id",
            "kind",
            "account_id",
            "contact_id",
        ),
    )
    id: str = _id_field()
    kind: str
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    duration_s: int | None = None
    outcome: str | None = None
    text: str | None = None
    contact_id: str | None = _fk("contact.id", index=False)
    account_id: str | None = _fk("account.id")
    deal_id: str | None = _fk("deal.id")
    rep_id: str | None = _fk("rep.id")
    consent_override: bool = False
    created_at: datetime = _created()
    deleted_at: datetime | None = _ts()
    # 0014: an activity about a lead (a web form's post, a call before conversion).
    lead_id: str | None = _fk("lead.id")
    # 0019: the call script answered during the call, and the answers (JSON: key -> answer).
    script_id: str | None = _fk("call_script.id", index=False)
    script_answers: str | None = None


class Tickler(SQLModel, table=True):
    """A follow-up reminder about a contact, account, deal or lead."""

    __table_args__ = (Index("ix_tickler_status_due", "status", "due_at"),)
    id: str = _id_field()
    text: str
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    snoozed_until: datetime | None = _ts()
    status: str = "open"
    done_at: datetime | None = _ts()
    recurrence: str | None = None  # an RRULE
    recur_after_days: int | None = None  # "N days after done"
    series_id: str | None = Field(default=None, index=True, max_length=36)
    contact_id: str | None = _fk("contact.id")
    account_id: str | None = _fk("account.id")
    deal_id: str | None = _fk("deal.id")
    owner_id: str | None = _fk("rep.id")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()
    # 0014: a reminder about a lead (a plan step of a web lead not yet converted).
    lead_id: str | None = _fk("lead.id")


PLAN_EVENT_KINDS = ("scheduled", "outcome", "skipped", "paused", "migrated", "left")


class Plan(SQLModel, table=True):
    """One version of a follow-up plan: its TOML text (reference data, published by admins)."""

    __table_args__ = (Index("ix_plan_name_version", "name", "version"),)
    id: str = _id_field()
    name: str = Field(max_length=80)
    version: int
    source: str  # the plan file's text (crmtui.domain.plan_steps reads it)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class ScoreRules(SQLModel, table=True):
    """One version of the lead-scoring file (reference data, published by admins, 0018).

    The newest live version is the one in force (`crmtui.domain.lead_scoring` reads it).
    """

    __tablename__ = "score_rules"
    id: str = _id_field()
    version: int
    source: str  # the scoring file's text
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class PlanEnrolment(SQLModel, table=True):
    """A contact or lead working through one version of a plan; its position is derived.

    A lead's enrolment (0014) names the lead; when the lead is converted its contact
    is set too and the plan continues on the contact.
    """

    __tablename__ = "plan_enrolment"
    id: str = _id_field()
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    contact_id: str | None = _fk("contact.id")
    enrolled_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    stopped_at: datetime | None = _ts()
    stop_reason: str | None = Field(default=None, max_length=200)
    owner_id: str | None = _fk("rep.id", index=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()
    lead_id: str | None = _fk("lead.id")


class PlanEvent(SQLModel, table=True):
    """An append-only fact about an enrolment: a step's reminder made, an outcome, a skip.

    `contact_id` (or `lead_id`) repeats the enrolment's, so the server places the
    event in its territory like any record linked to a contact or lead.
    """

    __tablename__ = "plan_event"
    id: str = _id_field()
    enrolment_id: str = Field(foreign_key="plan_enrolment.id", index=True, max_length=36)
    contact_id: str | None = _fk("contact.id", index=False)
    kind: str = Field(max_length=20)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    step: str | None = Field(default=None, max_length=40)
    attempt: int | None = None
    tickler_id: str | None = _fk("tickler.id")
    activity_id: str | None = _fk("activity.id", index=False)
    outcome: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = _created()
    deleted_at: datetime | None = _ts()
    lead_id: str | None = _fk("lead.id", index=False)


class CallScript(SQLModel, table=True):
    """One version of a call script: its TOML text (reference data, published by admins)."""

    __tablename__ = "call_script"
    __table_args__ = (Index("ix_call_script_name_version", "name", "version"),)
    id: str = _id_field()
    name: str = Field(max_length=80)
    version: int
    source: str  # the script file's text (crmtui.domain.call_scripts reads it)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class CallClaim(SQLModel, table=True):
    """A rep's claim on a contact (or lead) of a shared call list, until `expires_at` (0019).

    A customer record in the contact's territory: every laptop of the team sees it after
    sync, and when two reps claimed one contact offline, `domain.call_claims` picks the
    same winner everywhere (the earlier claim, then the lower id).
    """

    __tablename__ = "call_claim"
    # The live claims are read by their expiry (every queue read); old ones pile up behind.
    __table_args__ = (Index("ix_call_claim_expires_at", "expires_at"),)
    id: str = _id_field()
    # 0022: a claim holds a contact or a lead not converted yet (exactly one of the two).
    contact_id: str | None = _fk("contact.id")
    lead_id: str | None = _fk("lead.id")
    rep_id: str | None = _fk("rep.id", index=False)
    claimed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    released_at: datetime | None = _ts()
    list_name: str = Field(default="calls", max_length=120)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class JournalOp(SQLModel, table=True):
    """One operation of the outbox: a create, a field set or a delete.

    Written by the services in the same transaction as the row it describes.
    """

    __tablename__ = "journal"
    __table_args__ = (
        Index("ix_journal_pending", "hlc", sqlite_where=text("pushed_at IS NULL")),
        Index("ix_journal_row", "entity", "row_id"),
        # The push takes the rest of a batch's last transaction (client._pending_rows).
        Index("ix_journal_pending_tx", "tx_id", "hlc", sqlite_where=text("pushed_at IS NULL")),
    )
    id: str = _id_field()
    tx_id: str = Field(max_length=36)
    hlc: str = Field(max_length=19)
    device_id: str = Field(max_length=36)
    entity: str = Field(max_length=40)
    row_id: str = Field(max_length=36)
    op: str = Field(max_length=8)
    field: str | None = Field(default=None, max_length=60)
    value: str | None = None  # JSON text
    created_at: datetime = _created()
    pushed_at: datetime | None = _ts()


class LocalMeta(SQLModel, table=True):
    """Key/value facts about this database: device id, last clock reading."""

    __tablename__ = "local_meta"
    key: str = Field(primary_key=True, max_length=60)
    value: str


class MergeRecord(SQLModel, table=True):
    """A merge of two records, kept so that `crm merge --undo` can put both back exactly.

    Local bookkeeping (not journaled or synced): the merge's effects travel as ordinary
    journal ops, and the undo writes the reverse ops. `snapshot` holds both rows as they
    were before the merge and the ids of every child row moved to the survivor.
    """

    __tablename__ = "merge_record"
    id: str = _id_field()
    entity: str = Field(max_length=40)
    survivor_id: str = Field(index=True, max_length=36)
    merged_id: str = Field(index=True, max_length=36)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()
    undone_at: datetime | None = _ts()


class DuplicateDecision(SQLModel, table=True):
    """Two contacts a user said are different people (F7 "n"): duplicate scans leave the pair out.

    Journaled and synced, so a decision made on one laptop holds on the others;
    the pair's ids are stored in sorted order, so one pair has one key.
    """

    __tablename__ = "duplicate_decision"
    id: str = _id_field()
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    other_contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    decided_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class UndoRecord(SQLModel, table=True):
    """One undoable write, kept on this device so `crm undo` can reverse it (not synced).

    `step` is `crmtui.services.upkeep.undo.UndoStep` as JSON: the rows the write touched,
    their fields before it, and how it left them.
    """

    __tablename__ = "undo_record"
    id: str = _id_field()
    label: str = Field(max_length=200)
    made_at: datetime = _created()
    step: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    undone_at: datetime | None = _ts(index=True)


class ExchangeRate(SQLModel, table=True):
    """One dated rate: 1 `base` buys `rate` of `quote` (reference data, 0015).

    The rate is kept as the decimal text the source published ("1.1357"), never a
    float; the id is derived from (base, quote, day) so two laptops importing the same
    central-bank file make the same records.
    """

    __tablename__ = "exchange_rate"
    __table_args__ = (Index("ix_exchange_rate_pair_day", "base", "quote", "day"),)
    id: str = _id_field()
    base: str = Field(max_length=3)
    quote: str = Field(max_length=3)
    day: date
    rate: str = Field(max_length=24)
    source: str | None = Field(default=None, max_length=80)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class TaxClass(SQLModel, table=True):
    """A tax class products name ("standard", "reduced"): its rate and rounding (0015)."""

    __tablename__ = "tax_class"
    id: str = _id_field()
    code: str = Field(max_length=40, index=True)
    name: str | None = Field(default=None, max_length=80)
    rate_bp: int = 0  # basis points: 19% is 1900
    rounding: str = Field(default="line", max_length=10)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Product(SQLModel, table=True):
    """Something sold: SKU, name, unit and tax class (reference data, 0015)."""

    id: str = _id_field()
    sku: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    unit: str = Field(default="unit", max_length=20)
    tax_class: str = Field(default="standard", max_length=40)
    active: bool = True
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class PriceList(SQLModel, table=True):
    """Prices in one currency, valid between two dates (inclusive, open when NULL), for
    everyone or for one account or one territory (and the territories below it)."""

    __tablename__ = "price_list"
    id: str = _id_field()
    name: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    valid_from: date | None = None
    valid_to: date | None = None
    account_id: str | None = _fk("account.id")
    territory_id: str | None = _fk("territory.id")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Price(SQLModel, table=True):
    """A product's unit price on a list from a quantity on (a quantity break)."""

    __table_args__ = (Index("ix_price_list_product", "price_list_id", "product_id"),)
    id: str = _id_field()
    price_list_id: str = Field(foreign_key="price_list.id", max_length=36)
    product_id: str = Field(foreign_key="product.id", index=True, max_length=36)
    min_quantity_milli: int = 0  # thousandths of the product's unit
    unit_price_minor: int
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class DealLine(SQLModel, table=True):
    """One line of a deal: a product (or free text), quantity, unit price, discount, tax.

    Each line is a record of its own, so two laptops editing different lines offline
    keep both; the deal's amount is derived from its live lines (0015).
    """

    __tablename__ = "deal_line"
    id: str = _id_field()
    deal_id: str = Field(foreign_key="deal.id", index=True, max_length=36)
    product_id: str | None = _fk("product.id", index=False)
    price_list_id: str | None = _fk("price_list.id", index=False)
    description: str = Field(max_length=200)
    quantity_milli: int
    unit_price_minor: int
    discount_bp: int = 0
    tax_class: str | None = Field(default=None, max_length=40)
    tax_rate_bp: int = 0
    tax_rounding: str = Field(default="line", max_length=10)
    position: int = 0
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Quote(SQLModel, table=True):
    """One version of a deal's quote: a snapshot of its lines with validity, terms, status.

    `number` is made on the laptop without a server (`crmtui.services.sales.quotes`); later
    versions of a deal's quote keep the number and count `version` up (0015).
    """

    __table_args__ = (Index("ix_quote_number_version", "number", "version"),)
    id: str = _id_field()
    deal_id: str = Field(foreign_key="deal.id", index=True, max_length=36)
    number: str = Field(max_length=40)
    version: int = 1
    status: str = Field(default="draft", max_length=10)
    currency: str = Field(max_length=3)
    valid_until: date
    terms: str | None = Field(default=None, max_length=4000)
    customer_name: str | None = Field(default=None, max_length=200)
    customer_address: str | None = Field(default=None, max_length=1000)
    net_minor: int = 0
    tax_minor: int = 0
    gross_minor: int = 0
    status_changed_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class QuoteLine(SQLModel, table=True):
    """One line of a quote as it was quoted (a copy, not a link: later edits of the deal's
    lines leave a sent quote as it was)."""

    __tablename__ = "quote_line"
    id: str = _id_field()
    quote_id: str = Field(foreign_key="quote.id", index=True, max_length=36)
    position: int = 0
    sku: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=200)
    unit: str | None = Field(default=None, max_length=20)
    quantity_milli: int
    unit_price_minor: int
    discount_bp: int = 0
    tax_class: str | None = Field(default=None, max_length=40)
    tax_rate_bp: int = 0
    tax_rounding: str = Field(default="line", max_length=10)
    net_minor: int
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class ApprovalPolicy(SQLModel, table=True):
    """The admin's discount threshold: a line above it asks a manager (reference data, 0020).

    One record per currency-independent rule, its id derived from its name
    (`crmtui.services.sales.approvals.POLICY_ID`), so two admins' laptops make one record.
    """

    __tablename__ = "approval_policy"
    id: str = _id_field()
    name: str = Field(max_length=40)
    discount_threshold_bp: int | None = None
    """A line's discount above this (basis points) needs a manager; None: never."""
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class DealApproval(SQLModel, table=True):
    """A manager's decision on a deal's discounted lines, bound to those exact lines (0020).

    `lines_digest` (`crmtui.domain.approval.lines_digest`) names the lines decided on; a
    later change of them makes another digest, which no decision covers yet.
    """

    __tablename__ = "deal_approval"
    id: str = _id_field()
    deal_id: str = Field(foreign_key="deal.id", index=True, max_length=36)
    decision: str = Field(max_length=10)
    lines_digest: str = Field(max_length=64)
    max_discount_bp: int = 0
    reason: str | None = Field(default=None, max_length=1000)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime = _created()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


# Entities the journal may name, mapped to their table classes.
ENTITIES: dict[str, type[SQLModel]] = {
    "territory": Territory,
    "rep": Rep,
    "territory_assignment": TerritoryAssignment,
    "territory_rule": TerritoryRule,
    "account": Account,
    "contact": Contact,
    "contact_phone": ContactPhone,
    "contact_email": ContactEmail,
    "contact_address": ContactAddress,
    "pipeline": Pipeline,
    "stage": Stage,
    "lead": Lead,
    "deal": Deal,
    "deal_stage_change": DealStageChange,
    "activity": Activity,
    "tickler": Tickler,
    "duplicate_decision": DuplicateDecision,
    "plan": Plan,
    "plan_enrolment": PlanEnrolment,
    "plan_event": PlanEvent,
    "call_script": CallScript,
    "call_claim": CallClaim,
    "exchange_rate": ExchangeRate,
    "tax_class": TaxClass,
    "product": Product,
    "price_list": PriceList,
    "price": Price,
    "deal_line": DealLine,
    "quote": Quote,
    "quote_line": QuoteLine,
    "score_rules": ScoreRules,
    "approval_policy": ApprovalPolicy,
    "deal_approval": DealApproval,
}

# Sync bookkeeping tables live in their own module; importing it registers them here.
from crmtui.store import dav_state as _dav_state  # noqa: E402, F401
from crmtui.store import import_state as _import_state  # noqa: E402, F401
from crmtui.store import mail_state as _mail_state  # noqa: E402, F401
from crmtui.store import sync_state as _sync_state  # noqa: E402, F401
