"""Helpers for the card and Leads Pilot tests: fill a RecordForm, check a dialog fits, read rows."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from crmtui.screens.dialogs.record_form import RecordForm
from tests.app_support import settle

SMALL = (80, 24)
DAILY_NOW_MINUS_DAY = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


def fits(screen: Screen[Any], size: tuple[int, int], selector: str = "*") -> list[str]:
    """Widgets of `screen` (matching `selector`) outside a terminal of `size`: none when it fits.

    A dialog is checked whole; a scrolling card by its top-level children (what
    scrolls inside them is meant to be below the fold).
    """
    width, height = size
    out = []
    for node in screen.query(selector):
        region = node.region
        if not region.width or not region.height or not node.display:
            continue
        if region.x < 0 or region.y < 0 or region.right > width or region.bottom > height:
            out.append(f"{node!r} at {region}")
    return out


async def fill(pilot: Pilot[Any], form: RecordForm, values: dict[str, str]) -> None:
    """Type each value into its field, replacing what was there, as a user would."""
    for name, text in values.items():
        form.query_one(f"#f-{name}", Input).focus()
        await pilot.press("end", "ctrl+u")
        if text:
            await pilot.press(*text)


async def form_after(pilot: Pilot[Any], *keys: str) -> RecordForm:
    """Press keys, and return the form they opened."""
    await pilot.press(*keys)
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, RecordForm), type(form)
    return form


async def save(pilot: Pilot[Any]) -> None:
    """ctrl+s, then let the write and the card's reload finish."""
    await pilot.press("ctrl+s")
    await settle(pilot)


def rows(path: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    """Rows from the database file, read with a plain connection."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def one(path: Path, sql: str, *params: object) -> sqlite3.Row:
    """Exactly one row."""
    found = rows(path, sql, *params)
    assert len(found) == 1, found
    return found[0]


KRANICH = "Kranich Logistik GmbH"


def build_cards_db(path: Path) -> dict[str, str]:
    """The daily database plus a namesake Kranich in Hamburg, a territory, a rep, and leads.

    Returns {name: id} for the contacts, plus "kranich" (Berlin), "kranich_hh",
    "nord" (territory), "rep" (Petra Lang), "smith_deal", and the leads by name:
    "Nina Fresh" (no match), "Anna Lead" (same email as Anna Müller, company Kranich).
    """
    from sqlmodel import select

    from crmtui.services.address_book.accounts import AccountCreate, create_account
    from crmtui.services.sales.deals import win_deal
    from crmtui.services.sales.leads import LeadCreate, create_lead
    from crmtui.services.territories import RepCreate, TerritoryCreate, create_rep, create_territory
    from crmtui.store.database import open_store
    from crmtui.store.models import Account, Activity, Deal, Stage
    from tests.app_support import SMITH, build_daily_db

    ids = build_daily_db(path)
    store = open_store(path)
    try:
        with store.write() as tx:
            berlin = tx.session.exec(select(Account).where(Account.name == KRANICH)).one()
            tx.update(berlin, {"city": "Berlin", "domain": "kranich.example"})
            hh = create_account(
                tx=tx,
                data=AccountCreate(name=KRANICH, city="Hamburg", domain="kranich-hh.example"),
                region="DE",
            )
            nord = create_territory(tx=tx, data=TerritoryCreate(name="Nord"))
            rep = create_rep(tx=tx, data=RepCreate(name="Petra Lang"))
            deal = tx.session.exec(select(Deal).where(Deal.contact_id == ids[SMITH])).one()
            for position, (stage, category) in enumerate(
                (("Negotiation", "commit"), ("Won", "closed_won"), ("Lost", "closed_lost")), start=3
            ):
                tx.add(
                    Stage(
                        pipeline_id=deal.pipeline_id,
                        name=stage,
                        position=position,
                        probability=80 if category == "commit" else 0,
                        forecast_category=category,
                    )
                )
            tx.session.flush()
            northwind = tx.session.exec(select(Deal).where(Deal.name.startswith("Northwind"))).one()  # type: ignore[attr-defined]
            win_deal(tx=tx, deal_id=northwind.id)
            tx.add(
                Activity(
                    kind="visit",
                    occurred_at=DAILY_NOW_MINUS_DAY,
                    outcome="held",
                    text="Toured the Berlin depot",
                    contact_id=ids["Anna Müller"],
                    account_id=berlin.id,
                )
            )
            fresh = create_lead(
                tx=tx,
                data=LeadCreate(
                    name="Nina Fresh",
                    company="Fresh Foods AG",
                    email="nina@fresh.example",
                    source="web",
                ),
                region="DE",
            )
            twin = create_lead(
                tx=tx,
                data=LeadCreate(
                    name="Anna Lead",
                    company=KRANICH,
                    email="anna.mueller@kranich.example",
                    source="fair",
                ),
                region="DE",
            )
            ids |= {
                "kranich": berlin.id,
                "kranich_hh": hh.id,
                "nord": nord.id,
                "rep": rep.id,
                "smith_deal": deal.id,
                "northwind_deal": northwind.id,
                "Nina Fresh": fresh.id,
                "Anna Lead": twin.id,
            }
    finally:
        store.close()
    # Fixed "added" days, so the inbox looks the same on every run (snapshots).
    db = sqlite3.connect(path)
    try:
        with db:
            for name, day in (("Nina Fresh", "2026-03-06"), ("Anna Lead", "2026-03-02")):
                db.execute(
                    "UPDATE lead SET created_at = ? WHERE id = ?",
                    (f"{day}T09:00:00.000000Z", ids[name]),
                )
    finally:
        db.close()
    return ids


@pytest.fixture(scope="module")
def cards_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The cards database, built once per test module; tests take a copy (`cards_db`)."""
    path = tmp_path_factory.mktemp("cards") / "cards.db"
    return path, build_cards_db(path)


@pytest.fixture
def cards_db(
    cards_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """A private copy of the cards database, for a test that writes to it."""
    from tests.app_support import copy_db

    path, ids = cards_template
    return copy_db(path, tmp_path / "cards.db"), ids


class HeldRead:
    """Wraps a card's read function so that one chosen read is held back until released.

    For the read-order races: a read started earlier that finishes later must not be
    shown over a newer one. The real read runs (before the hold), so what the held read
    returns is the database as it was when it started.
    """

    def __init__(self, read: Any) -> None:
        self._read = read
        self.holding = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The read; the first one after `holding` is set waits for `release`."""
        result = self._read(*args, **kwargs)
        if self.holding:
            self.holding = False
            self.held.set()
            self.release.wait(60)
            self.finished.set()
        return result

    async def wait(self, pilot: Pilot[Any], event: threading.Event) -> None:
        """Run the app's loop until `event` is set (a bounded wait, not a sleep)."""
        for _ in range(3000):
            if event.is_set():
                return
            await pilot.pause(0.01)
        raise AssertionError("the held read never got there")


async def until(pilot: Pilot[Any], condition: Any) -> None:
    """Run the app's loop until `condition()` is true (bounded)."""
    for _ in range(3000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the condition never came true")
