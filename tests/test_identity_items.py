"""Identity over every item (issue 15): a contact's second email or phone is as much
its key as the first, in CSV import, `crm dedupe scan`, the new-contact warning and lead
conversion; a colleague sharing the switchboard is still someone else everywhere."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.identity import SAME, Who
from crmtui.screens.dialogs.new_contact import find_duplicates
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.address_book.people import identity_matches, stored_whos
from crmtui.services.contact_items import add_email, add_phone, clean_email, clean_phone
from crmtui.services.sales.leads import (
    LeadConversion,
    LeadCreate,
    MatchNeedsDecision,
    conversion_matches,
    convert_lead,
    create_lead,
)
from crmtui.store.database import Store

runner = CliRunner()
SWITCHBOARD = "+49 40 3012345"


def _crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def _maria(store: Store) -> str:
    """Maria: work email first, a private email and the switchboard as more items."""
    with store.write() as tx:
        maria = create_contact(
            tx=tx,
            data=ContactCreate(name="Maria Schmidt", email="m.schmidt@nordwind.example"),
            region="DE",
        )
        add_email(tx, maria, clean_email("home", "Maria.S@private.example"))
        add_phone(tx, maria, clean_phone("work", SWITCHBOARD, None, region="DE"))
        return maria.id


def _raw(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(store.path)


def test_stored_identity_holds_every_item(store: Store) -> None:
    cid = _maria(store)
    db = _raw(store)
    who = stored_whos(db)[cid]
    assert set(who.emails) == {"m.schmidt@nordwind.example", "maria.s@private.example"}
    assert who.phones == ("+49403012345",)
    # Found by the second email, stored as "Maria.S@...": one indexed lookup on lower().
    (match,) = identity_matches(db, Who("M. Schmidt", emails=("maria.s@private.example",)))
    assert (match.contact_id, match.verdict.kind) == (cid, SAME)


def test_import_matches_a_second_email_and_not_a_colleague(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    cid = _maria(store)
    f = tmp_path / "rows.csv"
    f.write_text(
        "Name,Email,Phone,Title\n"
        f"Maria Schmidt,maria.s@private.example,,Buyer\n"
        f"Jonas Weber,j.weber@nordwind.example,{SWITCHBOARD},CTO\n",
        encoding="utf-8",
    )
    code, out, err = _crm(db_path, "import", "csv", str(f), "--dry-run", "--update-existing")
    assert code == 0, err
    assert f"line 2: update: Maria Schmidt = Maria Schmidt [{cid}] (same email)" in out
    assert "line 3: new: Jonas Weber" in out


def test_dedupe_scan_pairs_by_a_second_email(store: Store, db_path: Path) -> None:
    _maria(store)
    with store.write() as tx:
        create_contact(
            tx=tx,
            data=ContactCreate(name="M. Schmidt", email="maria.s@private.example"),
            region="DE",
        )
        create_contact(  # a colleague on the switchboard: never paired
            tx=tx, data=ContactCreate(name="Marta Schmidt", phone=SWITCHBOARD), region="DE"
        )
    code, out, err = _crm(db_path, "dedupe", "scan", "--format", "json")
    assert code == 0, err
    (pair,) = json.loads(out)
    assert {pair["a_name"], pair["b_name"]} == {"Maria Schmidt", "M. Schmidt"}
    assert "same email" in pair["evidence"]


def test_new_contact_warning_finds_a_second_email(store: Store) -> None:
    _maria(store)
    db = _raw(store)
    found = find_duplicates(
        db, {"name": "M. Schmidt", "email": "maria.s@private.example"}, region="DE"
    )
    assert [d.name for d in found if d.strong] == ["Maria Schmidt"]
    colleague = find_duplicates(db, {"name": "Jonas Weber", "phone": SWITCHBOARD}, region="DE")
    assert not any(d.strong for d in colleague)


def _lead(store: Store, **kw: str) -> str:
    with store.write() as tx:
        return create_lead(tx=tx, data=LeadCreate(**kw), region="DE").id


def _count(store: Store, table: str) -> int:
    return int(_raw(store).execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_lead_conversion_offers_the_contact_of_a_second_email_and_never_duplicates(
    store: Store,
) -> None:
    cid = _maria(store)
    lead = _lead(
        store, name="Maria Schmidt", email="maria.s@private.example", phone="+49 170 5550100"
    )
    with store.write() as tx:
        found = conversion_matches(tx=tx, lead_id=lead)
        assert found.contact is not None and found.contact.id == cid
        assert found.contact_reasons == ["email"]
    with store.write() as tx, pytest.raises(MatchNeedsDecision, match="same email"):
        convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")
    contacts = _count(store, "contact")
    with store.write() as tx:
        done = convert_lead(tx=tx, lead_id=lead, data=LeadConversion(reuse=True), region="DE")
    assert done.reused_contact and done.contact.id == cid
    assert _count(store, "contact") == contacts  # nobody made twice
    db = _raw(store)
    emails = db.execute(
        "SELECT address FROM contact_email WHERE contact_id = ? AND deleted_at IS NULL", (cid,)
    ).fetchall()
    assert len(emails) == 2  # the second email was hers already: not added again
    phones = {
        r[0] for r in db.execute("SELECT e164 FROM contact_phone WHERE contact_id = ?", (cid,))
    }
    assert phones == {"+49403012345", "+491705550100"}  # the lead's mobile became an item
    assert done.filled["contact"] == ["phone"]


def test_lead_on_the_switchboard_offers_no_colleague(store: Store) -> None:
    _maria(store)
    lead = _lead(store, name="Jonas Weber", phone=SWITCHBOARD)
    with store.write() as tx:
        assert conversion_matches(tx=tx, lead_id=lead).contact is None
    contacts = _count(store, "contact")
    with store.write() as tx:
        done = convert_lead(tx=tx, lead_id=lead, data=LeadConversion(), region="DE")
    assert not done.reused_contact and _count(store, "contact") == contacts + 1
    # Phone plus an agreeing name is evidence: offered, as "same phone and name".
    lead2 = _lead(store, name="M. Schmidt", phone=SWITCHBOARD)
    with store.write() as tx:
        found = conversion_matches(tx=tx, lead_id=lead2)
    assert found.contact is not None and found.contact.name == "Maria Schmidt"
    assert found.contact_reasons == ["phone", "name"]


def test_lead_cli_convert_names_the_second_email_match(store: Store, db_path: Path) -> None:
    cid = _maria(store)
    lead = _lead(store, name="Maria S", email="maria.s@private.example")
    code, _out, err = _crm(db_path, "lead", "convert", lead)
    assert code == 2
    assert cid in err and "same email" in err
