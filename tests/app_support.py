"""A small, fixed database for the app tests and snapshots: same rows, same text, every run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.store.models import Activity, Deal, Pipeline, Stage, Tickler

DEMO_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The moment the shared demo database (conftest `demo_template`) is seeded at."""

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


# The daily loop's fixed moment: Monday 9 March 2026, 08:30 UTC (times are shown in UTC).
DAILY_NOW = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)


def build_daily_db(path: Path) -> dict[str, str]:
    """The fixed database plus reminders and activities around `DAILY_NOW`; {name: id}.

    Agenda at DAILY_NOW: overdue Carla Rossi (yesterday) and John Smith (08:00, DNC);
    today Emma Johnson (14:00) and Dieter Wagner (16:00, DNC); upcoming Fatima Haddad
    and Georg Becker; Hannah Schmidt's overdue reminder is snoozed until tomorrow;
    Jonas Weber (every 14 days, never touched) is owed a touch. The call queue holds
    Carla then Emma: the do-not-call contacts never appear.
    """
    from sqlmodel import select

    from crmtui.services.address_book.contacts import ContactUpdate, update_contact

    ids = build_fixed_db(path)
    store = open_store(path)
    day = timedelta(days=1)
    try:
        with store.write() as tx:
            smith_deal = tx.session.exec(select(Deal).where(Deal.contact_id == ids[SMITH])).one()
            reminders = (
                (
                    "Carla Rossi",
                    "Call back about the invoice",
                    DAILY_NOW - day + timedelta(hours=1),
                ),
                (
                    "Emma Johnson",
                    "Trial ends: ask for a decision",
                    DAILY_NOW.replace(hour=14, minute=0),
                ),
                ("Dieter Wagner", "Send the catalogue", DAILY_NOW.replace(hour=16, minute=0)),
                (
                    "Fatima Haddad",
                    "Quarterly check-in",
                    DAILY_NOW + 2 * day + timedelta(minutes=30),
                ),
                (
                    "Georg Becker",
                    "Send the contract draft",
                    DAILY_NOW + 3 * day + timedelta(hours=1),
                ),
            )
            for name, text, due in reminders:
                tx.add(Tickler(text=text, due_at=due, contact_id=ids[name]))
            tx.add(
                Tickler(
                    text="Ask about the newsletter budget",
                    due_at=DAILY_NOW - day,
                    snoozed_until=DAILY_NOW + day,
                    contact_id=ids["Hannah Schmidt"],
                )
            )
            for name, kind, when, outcome, text in (
                ("Carla Rossi", "call", datetime(2026, 3, 5, 10, 5, tzinfo=UTC), "no-answer", None),
                ("Carla Rossi", "email", datetime(2026, 3, 5, 10, 20, tzinfo=UTC), "sent", "Sent the invoice copy"),
                ("Emma Johnson", "meeting", datetime(2026, 3, 3, 15, 0, tzinfo=UTC), "held", "Demo went well; 25 seats"),
            ):  # fmt: skip
                tx.add(
                    Activity(
                        kind=kind,
                        occurred_at=when,
                        outcome=outcome,
                        text=text,
                        contact_id=ids[name],
                    )
                )
            tx.add(
                Deal(
                    name="Northwind — 25 seats",
                    contact_id=ids["Emma Johnson"],
                    pipeline_id=smith_deal.pipeline_id,
                    stage_id=smith_deal.stage_id,
                    amount_minor=1_250_000,
                    currency="EUR",
                    expected_close=date(2026, 3, 31),
                )
            )
            update_contact(
                tx=tx,
                contact_id=ids["Jonas Weber"],
                data=ContactUpdate(stay_in_touch_days=14),
                region="DE",
            )
    finally:
        store.close()
    return ids


def copy_db(template: Path, dest: Path) -> Path:
    """A private copy of a built database, for a test that writes to it."""
    import shutil

    for suffix in ("", "-wal", "-shm"):
        source = template.with_name(template.name + suffix)
        if source.exists():
            shutil.copyfile(source, dest.with_name(dest.name + suffix))
    return dest


async def settle(pilot: Pilot[Any], rounds: int = 4, most: int = 60) -> None:
    """Let keys post their messages, workers finish, and the handlers they trigger run.

    After `rounds`, it goes on while any worker is still registered: a handler that runs
    late on a loaded machine may start a worker after the last fixed round, and a test
    reading the database then would race it (seen once under load). A worker cancelled
    while waited for (replaced by a newer one of its exclusive group) is waited past: under
    `-n 3` it failed tests/test_app_duplicates.py's 80x24 comparison with WorkerCancelled.
    """
    from textual.worker import WorkerCancelled

    for done in range(most):
        await pilot.pause()
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            # An exclusive worker (a card's or a pair's load) was replaced by a newer one
            # while we waited: normal, not the test's failure. Wait for the newer one.
            continue
        if done + 1 >= rounds and not pilot.app.workers:
            break
    await pilot.pause()
