"""Convergence: three laptops edit offline and sync in random order; then all sync twice."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select
from sqlmodel import select as sql_select

from crmtui.server import tables as t
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    delete_contact,
    update_contact,
)
from crmtui.services.sales.deals import DealCreate, DealUpdate, create_deal, update_deal
from crmtui.store.database import Store
from crmtui.store.models import Contact, ContactEmail, ContactPhone, Deal
from crmtui.sync.client import SyncClient, pending_count
from tests.budget import examples
from tests.journal_support import logical_journal
from tests.sync_support import Team

REPLICAS = 3
CONTACTS = 3


class Laptops(RuleBasedStateMachine):
    """Three of Ann's North teammates, each on a laptop, against one server."""

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.team = Team(str(Path(self._dir.name) / "server.db"), Path(self._dir.name))
        self.laptops: list[tuple[Store, SyncClient]] = []
        for i in range(REPLICAS):
            # ann and a manager: an unplaced contact is seen by its creator and managers.
            store, token = self.team.laptop("ann" if i % 2 == 0 else "max", f"laptop{i}")
            self.laptops.append((store, self.team.sync_client(store, token, batch=5)))
        first = self.laptops[0][0]
        self.laptops[0][1].sync()
        with first.write() as tx:
            self.contacts = [
                create_contact(tx=tx, data=ContactCreate(name=f"C{i}"), region="DE").id
                for i in range(CONTACTS)
            ]
            self.deal = create_deal(
                tx=tx, data=DealCreate(name="D", amount_minor=1, territory_id=self.team.north)
            ).id
        for _, client in self.laptops:
            client.sync()
        self.ops_made = 0
        self.numbers = 0
        self.added: set[tuple[str, str]] = set()
        """(contact id, number) of every phone a laptop added: all must survive."""

    def teardown(self) -> None:
        """Close everything and remove the files."""
        self.team.close()
        self._dir.cleanup()

    def _live(self, store: Store, contact_id: str) -> bool:
        with store.read() as s:
            c = s.get(Contact, contact_id)
            return c is not None and c.deleted_at is None

    @rule(
        laptop=st.integers(0, REPLICAS - 1),
        contact=st.integers(0, CONTACTS - 1),
        field=st.sampled_from(["city", "title"]),
        value=st.sampled_from(["a", "b", "c", None]),
    )
    def edit_contact(self, laptop: int, contact: int, field: str, value: str | None) -> None:
        store = self.laptops[laptop][0]
        cid = self.contacts[contact]
        if not self._live(store, cid):
            return
        with store.write() as tx:
            update_contact(
                tx=tx,
                contact_id=cid,
                data=ContactUpdate.model_validate({field: value}),
                region="DE",
            )

    @rule(
        laptop=st.integers(0, REPLICAS - 1),
        contact=st.integers(0, CONTACTS - 1),
        value=st.booleans(),
    )
    def edit_consent(self, laptop: int, contact: int, value: bool) -> None:
        store = self.laptops[laptop][0]
        cid = self.contacts[contact]
        if not self._live(store, cid):
            return
        with store.write() as tx:
            update_contact(
                tx=tx, contact_id=cid, data=ContactUpdate(do_not_call=value), region="DE"
            )

    @rule(
        laptop=st.integers(0, REPLICAS - 1),
        contact=st.integers(0, CONTACTS - 1),
        kind=st.sampled_from(["work", "mobile", "fax"]),
        primary=st.booleans(),
    )
    def add_phone(self, laptop: int, contact: int, kind: str, primary: bool) -> None:
        """Phones are items of their own: laptops adding them offline keep every one."""
        store = self.laptops[laptop][0]
        cid = self.contacts[contact]
        if not self._live(store, cid):
            return
        self.numbers += 1
        number = f"+4930{self.numbers:07d}"
        spec = f"{kind}:{number}" + (";primary" if primary and kind != "fax" else "")
        with store.write() as tx:
            update_contact(tx=tx, contact_id=cid, data=ContactUpdate(phones=[spec]), region="DE")
        self.added.add((cid, number))

    @rule(laptop=st.integers(0, REPLICAS - 1), contact=st.integers(0, CONTACTS - 1))
    def add_email(self, laptop: int, contact: int) -> None:
        store = self.laptops[laptop][0]
        cid = self.contacts[contact]
        if not self._live(store, cid):
            return
        self.numbers += 1
        with store.write() as tx:
            update_contact(
                tx=tx,
                contact_id=cid,
                data=ContactUpdate(emails=[f"home:p{self.numbers}@example.org;primary"]),
                region="DE",
            )

    @rule(laptop=st.integers(0, REPLICAS - 1), amount=st.integers(1, 5))
    def edit_amount(self, laptop: int, amount: int) -> None:
        with self.laptops[laptop][0].write() as tx:
            update_deal(tx=tx, deal_id=self.deal, data=DealUpdate(amount_minor=amount))

    @precondition(lambda self: True)
    @rule(laptop=st.integers(0, REPLICAS - 1), contact=st.integers(0, CONTACTS - 1))
    def delete(self, laptop: int, contact: int) -> None:
        store = self.laptops[laptop][0]
        cid = self.contacts[contact]
        if self._live(store, cid):
            with store.write() as tx:
                delete_contact(tx=tx, contact_id=cid)

    @rule(laptop=st.integers(0, REPLICAS - 1))
    def sync(self, laptop: int) -> None:
        self.laptops[laptop][1].sync()

    def _state(self, store: Store) -> tuple[object, ...]:
        with store.read() as s:
            contacts = tuple(
                (
                    c.id,
                    c.name,
                    c.city,
                    c.title,
                    c.do_not_call,
                    c.deleted_at is None,
                    c.phone,
                    c.mobile,
                    c.email,
                )
                for c in s.exec(sql_select(Contact).order_by(Contact.id)).all()
            )
            phones = tuple(
                (p.id, p.contact_id, p.number, p.kind, p.is_primary, p.deleted_at is None)
                for p in s.exec(sql_select(ContactPhone).order_by(ContactPhone.id)).all()
            )
            emails = tuple(
                (e.id, e.address, e.is_primary, e.deleted_at is None)
                for e in s.exec(sql_select(ContactEmail).order_by(ContactEmail.id)).all()
            )
            deal = s.get(Deal, self.deal)
            assert deal is not None
            return contacts, phones, emails, deal.amount_minor

    @invariant()
    def nothing_is_duplicated_on_the_server(self) -> None:
        with self.team.engine.connect() as conn:
            dupes = conn.execute(
                select(t.op_log.c.op_id).group_by(t.op_log.c.op_id).having(func.count() > 1)
            ).all()
        assert dupes == []

    def converge(self) -> None:
        """Everyone syncs twice; then every laptop holds the same state and nothing is pending."""
        for _ in range(2):
            for _, client in self.laptops:
                client.sync()
        states = {self._state(store) for store, _ in self.laptops}
        assert len(states) == 1, states
        # Every phone any laptop added is there, live, on every laptop (none lost to
        # another laptop's concurrent add), and the dialled one is never a fax.
        _, phones, _, _ = states.pop()
        kept = {(cid, number) for _, cid, number, _, _, live in phones if live}  # type: ignore[attr-defined]
        assert self.added <= kept
        for store, _ in self.laptops:
            with store.read() as s:
                for c in s.exec(sql_select(Contact)).all():
                    dialled = [p for p in phones if p[1] == c.id and p[5] and p[2] == c.phone]  # type: ignore[attr-defined]
                    assert all(p[3] != "fax" for p in dialled)
        for store, _ in self.laptops:
            assert pending_count(store) == 0
        # Nothing lost: every op a laptop made is in the server's log with an answer.
        with self.team.engine.connect() as conn:
            logged = set(conn.execute(select(t.op_log.c.op_id)).scalars())
        for store, _ in self.laptops:
            con = sqlite3.connect(store.path)
            try:
                mine = logical_journal(
                    con,
                    "device_id = (SELECT value FROM local_meta WHERE key = 'device_id')"
                    " AND tx_id NOT LIKE 'remote-%'",
                )
            finally:
                con.close()
            assert {r[0] for r in mine} <= logged


class Converging(Laptops):
    """The machine whose teardown first checks convergence."""

    def teardown(self) -> None:
        """Converge, then clean up."""
        try:
            self.converge()
        finally:
            super().teardown()


TestConvergence = Converging.TestCase
# 12 runs under `make test-full`, 6 in CI (each starts a server and its laptops: the
# run took 85 s of a loaded CI, the second longest); 25 steps each in both.
TestConvergence.settings = settings(
    max_examples=examples(12, least=6), stateful_step_count=25, deadline=None
)
