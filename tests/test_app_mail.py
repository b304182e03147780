"""Pilot tests: writing a mail from a contact's card (`m`): a template, the text, the outbox.

The app's clock is fixed at Monday 9 March 2026, 08:30 UTC (tests/daily_pilot.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.mail_compose import MailComposeScreen
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.widgets.text_area_field import FieldArea
from crmtui.widgets.text_fields import FieldInput
from tests.app_support import build_fixed_db, copy_db, settle
from tests.card_support import rows
from tests.daily_pilot import SIZE, fixed_clock

ANNA = "Anna Müller"


def _config(*, mail: bool = True) -> Path:
    """Write the config: the rep, and (with `mail`) a sender and a templates folder."""
    home = Path(os.environ["HOME"])
    folder = home / "templates"
    lines = ['rep_name = "Jeff King"']
    if mail:
        lines += ["[mail]", 'addresses = ["jeff@ourco.example"]', f'templates_dir = "{folder}"']
    Path(os.environ["CRMTUI_CONFIG"]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder.mkdir(exist_ok=True)
    (folder / "offer.txt").write_text(
        "Subject: Our offer for {company}\n\nHello {first_name},\n\nhere it is.\n\n{rep}\n",
        encoding="utf-8",
    )
    (folder / "deal.txt").write_text(
        "Subject: About {deal}\n\nHello {first_name}\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def fixed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("mail") / "fixed.db"
    return path, build_fixed_db(path)


@pytest.fixture
def fixed(
    fixed_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    path, ids = fixed_template
    return copy_db(path, tmp_path / "fixed.db"), ids


def _outbox(path: Path) -> list[Any]:
    return [
        (r["status"], r["to_addr"], r["subject"], r["body"], r["template"], r["reason"])
        for r in rows(
            path, "SELECT status, to_addr, subject, body, template, reason FROM mail_outbox"
        )
    ]


async def _open_card(pilot: Pilot[Any], contact_id: str) -> None:
    await settle(pilot)
    pilot.app.open_contact(contact_id)  # type: ignore[attr-defined]
    await settle(pilot)
    assert isinstance(pilot.app.screen, ContactCardScreen)


async def _compose(pilot: Pilot[Any], template_row: int) -> MailComposeScreen:
    """`m`, then the picker's row `template_row` (0: blank, then the templates by name)."""
    await pilot.press("m")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PickScreen)
    for _ in range(template_row):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MailComposeScreen)
    return screen


def _notices(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_m_on_a_card_fills_a_template_and_queues_the_mail(fixed) -> None:  # type: ignore[no-untyped-def]
    path, ids = fixed
    _config()
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_card(pilot, ids[ANNA])
        compose = await _compose(pilot, 2)  # blank, deal, offer
        assert compose.query_one("#f-subject", FieldInput).value == (
            "Our offer for Kranich Logistik GmbH"
        )
        body = compose.query_one("#f-body", FieldArea)
        assert body.text == "Hello Anna,\n\nhere it is.\n\nJeff King\n"
        assert body.has_focus
        await pilot.press("P", "S", "enter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        ((status, to, subject, text, template, _),) = _outbox(path)
        assert (status, to, subject, template) == (
            "queued",
            "anna.mueller@kranich.example",
            "Our offer for Kranich Logistik GmbH",
            "offer",
        )
        assert text == "PS\nHello Anna,\n\nhere it is.\n\nJeff King\n"
        assert any("crm mail withdraw" in n and "[mail] at_sync" in n for n in _notices(app))


async def test_a_field_the_contact_lacks_is_said_and_must_be_written_in(fixed) -> None:  # type: ignore[no-untyped-def]
    path, ids = fixed
    _config()
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_card(pilot, ids[ANNA])  # Anna has no open deal
        compose = await _compose(pilot, 1)
        status = str(compose.query_one("#mail-status").render())
        assert "no value for {deal}" in status
        assert compose.query_one("#f-subject", FieldInput).value == "About {deal}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is compose and _outbox(path) == []
        assert "Not queued" in str(compose.query_one("#mail-status").render())
        subject = compose.query_one("#f-subject", FieldInput)
        subject.value = "About the fleet contract"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert [r[2:4] for r in _outbox(path)] == [("About the fleet contract", "Hello Anna\n")]


async def test_a_do_not_email_contact_is_refused_and_kept_with_the_reason(fixed) -> None:  # type: ignore[no-untyped-def]
    from crmtui.services.address_book.contacts import ContactUpdate, update_contact
    from crmtui.store.database import open_store

    path, ids = fixed
    _config()
    store = open_store(path)
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=ids[ANNA], data=ContactUpdate(do_not_email=True), region="DE"
        )
    store.close()
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_card(pilot, ids[ANNA])
        await _compose(pilot, 2)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        ((status, *_, reason),) = _outbox(path)
        assert status == "refused" and "do-not-email" in (reason or "")
        assert any(n.startswith("Not sent to Anna Müller") for n in _notices(app))


async def test_without_a_sender_it_says_what_to_set(fixed) -> None:  # type: ignore[no-untyped-def]
    path, ids = fixed
    _config(mail=False)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_card(pilot, ids[ANNA])
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert any("Set [mail] addresses" in n for n in _notices(app))
        titles = [title for title, _, _ in app.screen.palette_commands()]
        assert f"Write a mail to {ANNA}" in titles
