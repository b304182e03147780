"""Lead services: add, change status, disqualify, and convert into account, contact and deal.

Conversion never duplicates silently. `conversion_matches` finds the account with
the lead's company name (case-insensitive) and the contact under the identity rule
(`crmtui.services.address_book.people`): the lead's email on any of a contact's emails, or its
phone (with extension) on any of a contact's phones *and* a name that agrees; a
shared switchboard alone offers nobody. `convert_lead` then needs a decision when
there is a match: reuse it (`reuse=True`), or make new records (`reuse=False`).
Reused records get only the fields they lack, and the lead's phone or email as one
more item when the contact has neither; nothing they hold is overwritten.
Lead, account, contact and deal are written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import SQLModel

from crmtui.domain.identity import EVIDENCE, SAME, Who, phone_key
from crmtui.domain.identity import extension as typed_extension
from crmtui.domain.validate import (
    InvalidInput,
    normalize_email,
    normalize_phone,
    optional_text,
    require_text,
)
from crmtui.services.address_book.accounts import (
    AccountCreate,
    create_account,
    find_account_by_name,
)
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.address_book.people import identity_matches
from crmtui.services.contact_items import add_email, add_phone, emails_of, phones_of
from crmtui.services.plan_progress import lead_changed
from crmtui.services.reindex import reindex_contact
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact, Deal, Lead, Rep, Territory
from crmtui.store.resolve import get_live

# Statuses a user sets by hand; "converted" only comes from `convert_lead`.
MANUAL_STATUSES = ("new", "working", "qualified")


class LeadCreate(SQLModel):
    """What a user may say about a new lead."""

    name: str
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str | None = None
    owner_id: str | None = None
    territory_id: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None


class LeadConversion(SQLModel):
    """The deal a conversion opens; `reuse` decides about matching records."""

    deal_name: str | None = None
    amount_minor: int | None = None
    currency: str = "EUR"
    expected_close: date | None = None
    stage: str | None = None
    pipeline: str | None = None
    reuse: bool | None = None


@dataclass
class ConversionMatches:
    """Existing records a lead's conversion would reuse."""

    account: Account | None = None
    contact: Contact | None = None
    contact_reasons: list[str] = field(default_factory=list)  # "email", or "phone" and "name"
    contact_why: str = ""  # the identity rule's words ("same email")
    other_contacts: list[Contact] = field(default_factory=list)

    @property
    def any(self) -> bool:
        """Tell whether there is anything to reuse."""
        return self.account is not None or self.contact is not None


@dataclass
class Conversion:
    """What a conversion made or reused."""

    lead: Lead
    account: Account | None
    contact: Contact
    deal: Deal
    reused_account: bool
    reused_contact: bool
    filled: dict[str, list[str]]


class MatchNeedsDecision(InvalidInput):
    """Existing records match the lead: the caller must say reuse or new."""

    def __init__(self, matches: ConversionMatches) -> None:
        parts = []
        if matches.account is not None:
            parts.append(f"account {matches.account.name!r} ({matches.account.id})")
        if matches.contact is not None:
            why = " and ".join(matches.contact_reasons)
            parts.append(f"contact {matches.contact.name!r} ({matches.contact.id}, same {why})")
        super().__init__(
            "match", "existing " + "; ".join(parts) + " — reuse them (--yes) or make new (--new)"
        )
        self.matches = matches


def _employees(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 10_000_000:
        raise InvalidInput("employees", "must be a whole number from 1 to 10000000")
    return value


def _country(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidInput("country", f"must be a two-letter ISO code (DE, FR), not {value!r}")
    return code


def create_lead(*, tx: WriteTx, data: LeadCreate, region: str) -> Lead:
    """Add a lead (a name is enough); phone and email are checked and normalised."""
    phone = (
        normalize_phone(data.phone, region=region) if data.phone and data.phone.strip() else None
    )
    lead = Lead(
        name=require_text(data.name, "name"),
        company=optional_text(data.company, "company"),
        email=normalize_email(data.email) if data.email and data.email.strip() else None,
        phone=phone.typed if phone else None,
        phone_e164=phone.e164 if phone else None,
        source=optional_text(data.source, "source", max_len=60),
        industry=optional_text(data.industry, "industry", max_len=80),
        employees=_employees(data.employees),
        country=_country(data.country),
        owner_id=get_live(tx, Rep, data.owner_id).id if data.owner_id else None,
        territory_id=get_live(tx, Territory, data.territory_id).id if data.territory_id else None,
    )
    tx.add(lead)
    return lead


def _not_converted(tx: WriteTx, lead_id: str) -> Lead:
    lead = get_live(tx, Lead, lead_id)
    if lead.status == "converted":
        raise InvalidInput(
            "lead", f"this lead was converted already (deal {lead.converted_deal_id})"
        )
    return lead


def set_lead_status(*, tx: WriteTx, lead_id: str, status: str) -> Lead:
    """Set a lead to new, working or qualified (clears a disqualification)."""
    if status not in MANUAL_STATUSES:
        allowed = ", ".join(MANUAL_STATUSES)
        raise InvalidInput("status", f"{status!r} is not one of {allowed} (see also disqualify)")
    lead = _not_converted(tx, lead_id)
    tx.update(lead, {"status": status, "disqualify_reason": None})
    return lead


def disqualify_lead(*, tx: WriteTx, lead_id: str, reason: str) -> Lead:
    """Disqualify a lead with a reason."""
    text = optional_text(reason, "reason", max_len=500)
    if text is None:
        raise InvalidInput("reason", "say why the lead is disqualified (--reason)")
    lead = _not_converted(tx, lead_id)
    tx.update(lead, {"status": "disqualified", "disqualify_reason": text})
    lead_changed(tx, lead.id)  # its follow-up plans end
    return lead


def conversion_matches(*, tx: WriteTx, lead_id: str) -> ConversionMatches:
    """Existing account and contact that converting this lead would reuse."""
    lead = get_live(tx, Lead, lead_id)
    out = ConversionMatches()
    if lead.company:
        out.account = find_account_by_name(tx=tx, name=lead.company)
    # The identity rule over every email and phone item (crmtui.services.address_book.people): the
    # lead's email found on any of a contact's emails is that person; a phone is
    # evidence only with a name that agrees (a switchboard alone offers nobody).
    tx.session.flush()
    emails = (lead.email.lower(),) if lead.email else ()
    phones = (phone_key(lead.phone_e164, lead.phone) or lead.phone_e164,) if lead.phone_e164 else ()
    found = [
        m
        for m in identity_matches(tx.db, Who(lead.name, emails=emails, phones=phones))
        if m.verdict.kind in (SAME, EVIDENCE)
    ]

    pairs = [(m, c) for m in found if (c := tx.session.get(Contact, m.contact_id)) is not None]
    account_id = out.account.id if out.account is not None else None
    # A strong key first; among equals, the contact at the matching account.
    pairs.sort(
        key=lambda p: (
            p[0].verdict.kind != SAME,
            account_id is None or p[1].account_id != account_id,
            p[1].id,
        )
    )
    if pairs:
        best, out.contact = pairs[0]
        out.contact_reasons = ["email"] if best.verdict.kind == SAME else ["phone", "name"]
        out.contact_why = best.verdict.reason
        out.other_contacts = [c for _, c in pairs[1:]]
    return out


def _fill_empty(tx: WriteTx, row: Account | Contact, values: dict[str, object]) -> list[str]:
    """Set only the fields the row lacks."""
    empty = {k: v for k, v in values.items() if v is not None and getattr(row, k) in (None, "")}
    return tx.update(row, empty)


def _company(lead: Lead) -> dict[str, object]:
    """What the lead knew of its company, for the account it becomes (0018)."""
    return {"industry": lead.industry, "employees": lead.employees, "country": lead.country}


def _add_lead_items(tx: WriteTx, contact: Contact, lead: Lead) -> list[str]:
    """Add the lead's phone and email to a reused contact when it has neither yet."""
    added = []
    if lead.phone_e164:
        ext = typed_extension(lead.phone)
        if not any(
            (p.e164, p.extension) == (lead.phone_e164, ext) for p in phones_of(tx, contact.id)
        ):
            values = {
                "kind": "work",
                "number": lead.phone,
                "e164": lead.phone_e164,
                "extension": ext,
            }
            add_phone(tx, contact, values)
            added.append("phone")
    if lead.email and not any(
        e.address.lower() == lead.email.lower() for e in emails_of(tx, contact.id)
    ):
        add_email(tx, contact, {"kind": "work", "address": lead.email})
        added.append("email")
    return added


def convert_lead(
    *, tx: WriteTx, lead_id: str, data: LeadConversion, region: str, by: str | None = None
) -> Conversion:
    """Turn a lead into an account (when it names a company), a contact and an open deal."""
    lead = _not_converted(tx, lead_id)
    if lead.status == "disqualified":
        raise InvalidInput("lead", "this lead is disqualified; set its status first")
    matches = conversion_matches(tx=tx, lead_id=lead.id)
    if matches.any and data.reuse is None:
        raise MatchNeedsDecision(matches)
    reuse = bool(data.reuse)
    filled: dict[str, list[str]] = {}
    account: Account | None = None
    reused_account = False
    if lead.company:
        if reuse and matches.account is not None:
            account = matches.account
            reused_account = True
            filled["account"] = _fill_empty(
                tx,
                account,
                {"territory_id": lead.territory_id, "owner_id": lead.owner_id, **_company(lead)},
            )
        else:
            account = create_account(
                tx=tx,
                data=AccountCreate(name=lead.company, territory_id=lead.territory_id),
                region=region,
            )
            tx.update(account, {"owner_id": lead.owner_id})
            _fill_empty(tx, account, _company(lead))
    if reuse and matches.contact is not None:
        contact = matches.contact
        filled["contact"] = _fill_empty(
            tx,
            contact,
            {
                "account_id": account.id if account else None,
                "source": lead.source,
                "territory_id": lead.territory_id,
                "owner_id": lead.owner_id,
            },
        )
        # A phone or email the lead brought that none of the contact's items has
        # becomes one more item (the contact found by its second email keeps both).
        filled["contact"] += _add_lead_items(tx, contact, lead)
        reused_contact = True
    else:
        contact = create_contact(
            tx=tx,
            data=ContactCreate(
                name=lead.name, email=lead.email, phone=lead.phone, source=lead.source
            ),
            region=region,
        )
        tx.update(
            contact,
            {
                "account_id": account.id if account else None,
                "territory_id": lead.territory_id,
                "owner_id": lead.owner_id,
            },
        )
        reused_contact = False
    reindex_contact(tx, contact)
    deal = create_deal(
        tx=tx,
        data=DealCreate(
            name=data.deal_name or (f"{lead.company} – {lead.name}" if lead.company else lead.name),
            account_id=account.id if account else None,
            contact_id=contact.id,
            pipeline=data.pipeline,
            stage=data.stage,
            amount_minor=data.amount_minor,
            currency=data.currency,
            expected_close=data.expected_close,
            owner_id=lead.owner_id or by,
            territory_id=(account.territory_id if account else None) or lead.territory_id,
        ),
        by=by,
    )
    tx.update(
        lead,
        {
            "status": "converted",
            "converted_account_id": account.id if account else None,
            "converted_contact_id": contact.id,
            "converted_deal_id": deal.id,
            "converted_at": tx.now,
        },
    )
    lead_changed(tx, lead.id, contact.id)  # its follow-up plans continue on the contact
    return Conversion(lead, account, contact, deal, reused_account, reused_contact, filled)
