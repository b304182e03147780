"""A small, fixed database for the app tests and snapshots: same rows, same text, every run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from crmtui.store.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.store.models import Activity, Deal, Pipeline, Stage, Tickler

# (name, company, title, phone, email, city, tags, do_not_call)
PEOPLE: tuple[tuple[str, str, str, str, str, str, list[str], bool], ...] = (
    (
        "Anna Müller",
        "Kranich Logistik GmbH",
        "Head of Purchasing",
        "+49 30 22334455",
        "anna.mueller@kranich.example",
        "Berlin",
        ["key-account"],
        False,
    ),
    (
        "Bernd Schulz",
        "Kranich Logistik GmbH",
        "Fleet Manager",
        "+49 30 22334466",
        "b.schulz@kranich.example",
        "Berlin",
        [],
        False,
    ),
    (
        "Carla Rossi",
        "Fiordaliso SpA",
        "CFO",
        "+39 02 12345678",
        "carla.rossi@fiordaliso.example",
        "Milano",
        ["finance"],
        False,
    ),
    (
        "Dieter Wagner",
        "Wagner & Söhne KG",
        "Owner",
        "+49 89 12345678",
        "dieter@wagner-soehne.example",
        "München",
        [],
        True,
    ),
    (
        "Emma Johnson",
        "Northwind Traders Ltd",
        "Operations Director",
        "+44 20 7946 0123",
        "emma.johnson@northwind.example",
        "London",
        ["trial"],
        False,
    ),
    (
        "Fatima Haddad",
        "Atlas Freight SARL",
        "Buyer",
        "+33 1 42 68 53 00",
        "f.haddad@atlas-freight.example",
        "Paris",
        [],
        False,
    ),
    (
        "Georg Becker",
        "Becker Bau GmbH",
        "Managing Director",
        "+49 221 9876543",
        "georg.becker@beckerbau.example",
        "Köln",
        [],
        False,
    ),
    (
        "Hannah Schmidt",
        "Elbe Medien GmbH",
        "Marketing Lead",
        "+49 40 55566677",
        "hannah.schmidt@elbe-medien.example",
        "Hamburg",
        ["newsletter"],
        False,
    ),
    (
        "John Smith",
        "Smith Engineering Ltd",
        "Chief Engineer",
        "+44 161 496 0000",
        "john.smith@smith-eng.example",
        "Manchester",
        ["key-account", "trial"],
        True,
    ),
    (
        "Jonas Weber",
        "Weber Maschinenbau AG",
        "Procurement",
        "+49 711 1234567",
        "jonas.weber@weber-mb.example",
        "Stuttgart",
        [],
        False,
    ),
    (
        "Katarzyna Nowak",
        "Wisła Trade Sp. z o.o.",
        "Sales Manager",
        "+48 22 123 45 67",
        "k.nowak@wisla-trade.example",
        "Warszawa",
        [],
        False,
    ),
    (
        "Lukas Fischer",
        "Fischer IT Services",
        "CTO",
        "+49 351 4567890",
        "lukas@fischer-it.example",
        "Dresden",
        [],
        False,
    ),
)

SMITH = "John Smith"


def build_fixed_db(path: Path) -> dict[str, str]:
    """Create the fixed database at `path`; returns {contact name: id}."""
    store = open_store(path)
    ids: dict[str, str] = {}
    try:
        with store.write() as tx:
            for name, company, title, phone, email, city, tags, dnc in PEOPLE:
                contact = create_contact(
                    tx=tx,
                    data=ContactCreate(
                        name=name,
                        company=company,
                        title=title,
                        phone=phone,
                        email=email,
                        city=city,
                        tags=tags,
                        do_not_call=dnc,
                        notes="Prefers calls before 10:00. Decides with the CFO."
                        if name == SMITH
                        else None,
                        stay_in_touch_days=30 if name == SMITH else None,
                    ),
                    region="DE",
                )
                ids[name] = contact.id
        with store.write() as tx:
            pipeline = Pipeline(name="New business", is_default=True)
            tx.add(pipeline)
            tx.session.flush()  # the deal's foreign keys need these rows first
            stage = Stage(pipeline_id=pipeline.id, name="Proposal", position=2, probability=50)
            tx.add(stage)
            tx.session.flush()
            smith = ids[SMITH]
            tx.add(
                Activity(
                    kind="call",
                    occurred_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
                    outcome="connected",
                    text="Wants a quote for 40 units",
                    contact_id=smith,
                )
            )
            tx.add(
                Tickler(
                    text="Send the revised quote",
                    due_at=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
                    contact_id=smith,
                )
            )
            tx.add(
                Deal(
                    name="Smith Engineering — 40 units",
                    contact_id=smith,
                    pipeline_id=pipeline.id,
                    stage_id=stage.id,
                    amount_minor=4_800_000,
                    currency="GBP",
                    expected_close=date(2026, 4, 30),
                )
            )
    finally:
        store.close()
    return ids
