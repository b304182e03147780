"""Lead conversion: reuse by account name, email or phone; fill only empty fields; one tx."""

from __future__ import annotations

import sqlite3

import pytest

from crmtui.domain.validate import InvalidInput
from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.sales.leads import (
    LeadConversion,
    LeadCreate,
    MatchNeedsDecision,
    convert_lead,
    create_lead,
    disqualify_lead,
    set_lead_status,
)
from crmtui.store.database import Store


def _count(store: Store, table: str) -> int:
    return sqlite3.connect(store.path).execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _lead(store: Store, **kw: str) -> str:
    with store.write() as tx:
        return create_lead(tx=tx, data=LeadCreate(**kw), region="DE").id  # type: ignore[arg-type]


def test_conversion_without_matches_creates_account_contact_and_deal(store: Store) -> None:
    lead = _lead(store, name="Eva Neu", company="Neu GmbH", phone="0151 2345 6789")
    with store.write() as tx:
        result = convert_lead(
            tx=tx, lead_id=lead, data=LeadConversion(amount_minor=5_000_00), region="DE"
        )
    assert not result.reused_account and not result.reused_contact
    assert result.contact.account_id == result.account.id  # type: ignore[union-attr]
    assert result.deal.contact_id == result.contact.id and result.deal.amount_minor == 5_000_00
    assert result.lead.status == "converted" and result.lead.converted_deal_id == result.deal.id
    db = sqlite3.connect(store.path)
    entities = {r[0] for r in db.execute("SELECT entity FROM journal")}
    assert {"lead", "account", "contact", "deal", "deal_stage_change"} <= entities
    with store.write() as tx, pytest.raises(InvalidInput, match="converted already"):
        convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")


def test_matches_need_a_decision_and_reuse_fills_only_empty_fields(store: Store) -> None:
    with store.write() as tx:
        create_account(tx=tx, data=AccountCreate(name="Acme AG"), region="DE")
        contact = create_contact(
            tx=tx,
            data=ContactCreate(name="Jon Smith", phone="+49 151 12345678", source="fair"),
            region="DE",
        )
    lead = _lead(
        store, name="Jonathan Smith", company="ACME ag", phone="0151 12345678",
        email="jon@acme.example", source="web",
    )  # fmt: skip
    with store.write() as tx, pytest.raises(MatchNeedsDecision) as err:
        convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")
    assert err.value.matches.contact is not None
    assert err.value.matches.contact_reasons == ["phone", "name"]  # Jon / Jonathan agree
    assert _count(store, "deal") == 0  # nothing written by the refused attempt
    before = (_count(store, "account"), _count(store, "contact"))
    with store.write() as tx:
        result = convert_lead(tx=tx, lead_id=lead, data=LeadConversion(reuse=True), region="DE")
    assert (_count(store, "account"), _count(store, "contact")) == before
    assert result.reused_account and result.reused_contact
    assert result.contact.id == contact.id
    assert result.contact.name == "Jon Smith"  # not overwritten
    assert result.contact.source == "fair"  # not overwritten
    assert result.contact.email == "jon@acme.example"  # was empty: filled
    assert result.contact.account_id == result.account.id  # type: ignore[union-attr]
    assert set(result.filled["contact"]) == {"email", "account_id"}


def test_match_by_email_and_new_makes_new_records(store: Store) -> None:
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Ann", email="ann@x.example"), region="DE")
    lead = _lead(store, name="Ann B", email="ANN@x.example")
    with store.write() as tx, pytest.raises(MatchNeedsDecision, match="same email"):
        convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")
    with store.write() as tx:
        result = convert_lead(tx=tx, lead_id=lead, data=LeadConversion(reuse=False), region="DE")
    assert not result.reused_contact and _count(store, "contact") == 2


def test_status_and_disqualify(store: Store) -> None:
    lead = _lead(store, name="Q")
    with store.write() as tx:
        assert set_lead_status(tx=tx, lead_id=lead, status="working").status == "working"
    with store.write() as tx, pytest.raises(InvalidInput):
        set_lead_status(tx=tx, lead_id=lead, status="converted")
    with store.write() as tx:
        done = disqualify_lead(tx=tx, lead_id=lead, reason="no budget")
    assert (done.status, done.disqualify_reason) == ("disqualified", "no budget")
    with store.write() as tx, pytest.raises(InvalidInput, match="disqualified"):
        convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")
