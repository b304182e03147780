"""Duplicates that arrive by sync: `crm dedupe scan --new`, its watermark, the sync summary.

Two laptops and a real server (uvicorn on loopback; `crm` run in-process): both
make "Jane Doe" with the same email offline; after the syncs, each laptop's
`scan --new` lists the pair once, and a second `scan --new` lists nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.quality.dedupe import new_pairs
from crmtui.server import admin
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.arrivals import MAX_IDS, add_arrivals, arrivals, take_reviewed
from crmtui.store.database import Store, open_store
from crmtui.sync.apply_remote import arrived_contacts
from crmtui.sync.wire import Change
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)


def _crm(db: Path, *args: str) -> Result:
    """`crm --db DB ARGS...` in this process (the server is a real one on loopback)."""
    return CliRunner().invoke(app, ["--db", str(db), *args])


def _laptop(url: str, engine: object, tmp_path: Path, rep: str) -> Path:
    token = admin.issue_token(engine, rep, f"{rep}-laptop").token  # type: ignore[arg-type]
    db = tmp_path / f"{rep}.db"
    assert _crm(db, "db", "upgrade").exit_code == 0
    login = _crm(db, "sync", "login", "--server", url, "--token", token)
    assert login.exit_code == 0, login.stderr
    return db


def _jane(db: Path, email: str = "jane.doe@acme.example", name: str = "Jane Doe") -> str:
    store = open_store(db)
    try:
        with store.write() as tx:
            return create_contact(tx=tx, data=ContactCreate(name=name, email=email), region="DE").id
    finally:
        store.close()


def _scan_new(db: Path) -> list[tuple[str, str]]:
    done = _crm(db, "dedupe", "scan", "--new", "--format", "json")
    assert done.exit_code == 0, done.stderr
    return [tuple(sorted((p["a_id"], p["b_id"]))) for p in json.loads(done.stdout)]


def test_the_same_person_made_on_two_laptops_is_offered_once_after_sync(
    live_server,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, engine = live_server
    admin.add_territory(engine, "North")
    # Managers: contacts without a territory are seen by their maker and managers.
    admin.add_rep(engine, "ann", "manager", ["North"])
    admin.add_rep(engine, "bob", "manager", ["North"])
    ann, bob = (_laptop(url, engine, tmp_path, rep) for rep in ("ann", "bob"))
    for db in (ann, bob):
        assert _crm(db, "sync").exit_code == 0
    ann_jane, bob_jane = _jane(ann), _jane(bob)
    other = _jane(bob, email="j.doe@elsewhere.example", name="Joan Roe")  # not a duplicate
    assert _scan_new(bob) == []  # nothing has arrived: made here, the add warning covers it

    first = _crm(ann, "sync")
    assert first.exit_code == 0, first.stderr
    assert "possible duplicate" not in first.stderr
    second = _crm(bob, "sync")
    assert second.exit_code == 0, second.stderr
    assert "1 possible duplicate to review (F7" in second.stderr
    pair = tuple(sorted((ann_jane, bob_jane)))
    assert _scan_new(bob) == [pair]
    assert _scan_new(bob) == []  # reviewed: the watermark moved
    # A full scan still finds it (nothing was merged), and Joan is in no pair.
    full = _crm(bob, "dedupe", "scan", "--format", "json")
    assert [tuple(sorted((p["a_id"], p["b_id"]))) for p in json.loads(full.stdout)] == [pair]
    assert other not in {i for p in _scan_new(bob) for i in p}

    back = _crm(ann, "sync")  # bob's Jane (and Joan) reach ann now
    assert back.exit_code == 0, back.stderr
    assert "1 possible duplicate to review (F7" in back.stderr
    assert _scan_new(ann) == [pair]
    assert _scan_new(ann) == []
    again = _crm(ann, "sync")  # nothing new arrives: no note
    assert "possible duplicate" not in again.stderr


def test_arrivals_are_contacts_from_other_laptops_created_or_reidentified() -> None:
    def change(kind: str, field: str | None, device: str = "other", entity: str = "contact"):
        return Change.model_validate(
            {
                "seq": 1,
                "entity": entity,
                "row_id": f"{kind}-{field}-{device}-{entity}",
                "kind": kind,
                "field": field,
                "value": None,
                "hlc": "0000000000000-00000",
                "device_id": device,
            }
        )

    changes = [
        change("create", None),
        change("set", "email"),
        change("set", "notes"),  # a note makes nobody a duplicate
        change("create", None, device="me"),  # our own echo
        change("create", None, entity="account"),
        change("undelete", None),
    ]
    assert arrived_contacts(changes, "me") == {
        "create-None-other-contact",
        "set-email-other-contact",
        "undelete-None-other-contact",
    }


def _meta_db(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(store.path, isolation_level=None)


def test_the_watermark_keeps_what_arrived_during_a_review_and_overflows_to_all(
    store: Store,
) -> None:
    db = _meta_db(store)
    assert arrivals(db) == set()
    add_arrivals(db, ["a", "b"])
    seen = arrivals(db)
    add_arrivals(db, ["c"])  # a sync while the review ran
    assert seen is not None
    take_reviewed(db, seen)
    assert arrivals(db) == {"c"}
    add_arrivals(db, [f"id{i}" for i in range(MAX_IDS + 1)])
    assert arrivals(db) is None  # every contact is new: a full scan
    add_arrivals(db, ["d"])
    assert arrivals(db) is None
    take_reviewed(db, None)
    assert arrivals(db) == set()


def test_new_pairs_are_those_a_full_scan_finds_for_the_arrived_contacts(store: Store) -> None:
    ids = []
    with store.write() as tx:
        for name, email in [
            ("Jane Doe", "jane@acme.example"),
            ("Jane Doe", "jane@acme.example"),
            ("Max Roe", "max@acme.example"),
            ("Max Roe", "max@acme.example"),
        ]:
            ids.append(
                create_contact(tx=tx, data=ContactCreate(name=name, email=email), region="DE").id
            )
    db = _meta_db(store)
    assert new_pairs(db) == ([], set())
    add_arrivals(db, [ids[1]])
    found, reviewed = new_pairs(db)
    assert reviewed == {ids[1]}
    assert [{c.a.id, c.b.id} for c in found] == [{ids[0], ids[1]}]
    take_reviewed(db, None)
    add_arrivals(db, [f"x{i}" for i in range(MAX_IDS + 1)])
    found, reviewed = new_pairs(db)
    assert reviewed is None and len(found) == 2


def test_a_phone_or_email_added_elsewhere_makes_its_contact_arrive(store: Store) -> None:
    """A second email pulled from another laptop changes no column, yet is a new key."""
    from crmtui.services.address_book.contacts import ContactCreate, create_contact
    from crmtui.services.contact_items import add_email, add_phone, clean_email, clean_phone
    from crmtui.sync.apply_remote import arrived_by_items

    with store.write() as tx:
        ann = create_contact(tx=tx, data=ContactCreate(name="Ann Lee"), region="DE")
        email = add_email(tx, ann, clean_email("home", "ann@home.example")).id
        bob = create_contact(tx=tx, data=ContactCreate(name="Bob Ode"), region="DE")
        phone = add_phone(tx, bob, clean_phone("work", "+49 30 1234567", None, region="DE")).id

    def change(entity: str, row_id: str, kind: str, field: str | None, device: str) -> Change:
        return Change.model_validate(
            {"seq": 1, "entity": entity, "row_id": row_id, "kind": kind, "field": field,
             "value": None, "hlc": "0000000000000-00000", "device_id": device}
        )  # fmt: skip

    db = _meta_db(store)
    assert arrived_by_items(
        db,
        [
            change("contact_email", email, "create", None, "other"),
            change("contact_phone", phone, "set", "kind", "other"),  # a kind is no key
            change("contact_phone", phone, "create", None, "me"),  # our own echo
        ],
        "me",
    ) == {ann.id}
    assert arrived_by_items(db, [change("contact_phone", phone, "set", "e164", "other")], "me") == {
        bob.id
    }
