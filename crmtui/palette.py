"""Command palette providers: jump to any contact, deal or account by name from anywhere (Ctrl+P)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import ClassVar, Protocol, cast

from rich.text import Text
from textual.command import Hit, Hits, Provider

from crmtui.search.find_entities import EntityHit, find_accounts, find_deals, find_leads
from crmtui.search.lookup import search_contacts

PALETTE_HITS = 10
MIN_QUERY = 2


class ContactOpener(Protocol):
    """What the provider needs from the app: the lookup connection and a way to open a card."""

    db: sqlite3.Connection | None

    def open_contact(self, contact_id: str) -> None:
        """Show the card of one contact."""


class ContactsProvider(Provider):
    """Finds contacts by name (typos forgiven) and opens the chosen card."""

    async def search(self, query: str) -> Hits:
        """Search in a thread so the palette keeps up with typing."""
        app = cast(ContactOpener, self.app)
        db = app.db
        if db is None or len(query.strip()) < MIN_QUERY:
            return
        hits = await asyncio.to_thread(search_contacts, db, query, limit=PALETTE_HITS)
        for hit in hits:
            label = Text("Contact: ", style="dim")
            label.append(hit.name)
            where = " · ".join(x for x in (hit.company, hit.city) if x)
            yield Hit(
                # Lookup scores run 0-100; the palette ranks on 0-1.
                min(hit.score, 100.0) / 100.0,
                label,
                partial(app.open_contact, hit.id),
                text=hit.name,
                help=where or None,
            )


class EntityOpener(Protocol):
    """What the deal and account providers need from the app."""

    db: sqlite3.Connection | None

    def open_deal(self, deal_id: str) -> None:
        """Show the card of one deal."""

    def open_account(self, account_id: str) -> None:
        """Show an account's card."""

    def open_lead(self, lead_id: str) -> None:
        """Show a lead's card."""


class _EntityProvider(Provider):
    """Finds one kind of record by name (in a thread) and opens the chosen record's card."""

    KIND: ClassVar[str]
    """The label before each hit: "Deal", "Account", "Lead"."""

    def find(self, db: sqlite3.Connection, query: str) -> list[EntityHit]:
        """The hits for `query` (run in a thread)."""
        raise NotImplementedError

    def opener(self, app: EntityOpener) -> Callable[[str], None]:
        """The app's way to open a card of this kind."""
        raise NotImplementedError

    async def search(self, query: str) -> Hits:
        """Search in a thread so the palette keeps up with typing."""
        app = cast(EntityOpener, self.app)
        db = app.db
        if db is None or len(query.strip()) < MIN_QUERY:
            return
        hits = await asyncio.to_thread(self.find, db, query)
        open_card = self.opener(app)
        for hit in hits:
            label = Text(f"{self.KIND}: ", style="dim")
            label.append(hit.name)
            yield Hit(
                min(hit.score, 100.0) / 100.0,
                label,
                partial(open_card, hit.id),
                text=hit.name,
                help=hit.detail or None,
            )


class DealsProvider(_EntityProvider):
    """Finds deals by name and opens the chosen deal's card."""

    KIND = "Deal"

    def find(self, db: sqlite3.Connection, query: str) -> list[EntityHit]:
        """Deals by name."""
        return find_deals(db, query, limit=PALETTE_HITS)

    def opener(self, app: EntityOpener) -> Callable[[str], None]:
        """The deal card."""
        return app.open_deal


class AccountsProvider(_EntityProvider):
    """Finds accounts by name (city, territory and domain shown) and opens the account's card."""

    KIND = "Account"

    def find(self, db: sqlite3.Connection, query: str) -> list[EntityHit]:
        """Accounts by name."""
        return find_accounts(db, query, limit=PALETTE_HITS)

    def opener(self, app: EntityOpener) -> Callable[[str], None]:
        """The account card."""
        return app.open_account


class LeadsProvider(_EntityProvider):
    """Finds leads not converted yet by name or company and opens the lead's card."""

    KIND = "Lead"

    def find(self, db: sqlite3.Connection, query: str) -> list[EntityHit]:
        """Open leads by name or company."""
        return find_leads(db, query, limit=PALETTE_HITS)

    def opener(self, app: EntityOpener) -> Callable[[str], None]:
        """The lead card."""
        return app.open_lead
