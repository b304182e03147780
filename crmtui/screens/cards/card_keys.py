"""The keys every card shares: add or edit a reminder, edit an activity, add a deal, go to the account.

Mixed into the contact, account and deal cards. A card says what it is about
(`card_subject`); the lists to choose from are read in a worker, then a picker
(when there is more than one row) and a `RecordForm` (crmtui/screens/cards/card_forms.py)
do the rest. After a save the card reads itself again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen

from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.record_form import RecordForm, Saved


@dataclass(frozen=True)
class Subject:
    """What a card is about: "contact", "account" or "deal", its id and name, and its links."""

    about: str
    row_id: str
    name: str
    account_id: str | None = None
    contact_id: str | None = None
    currency: str = "EUR"


# (action, key, description, tooltip)
SHARED_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("add_reminder", "t", "Remind", "Add a reminder (due, repeat, what)"),
    ("edit_reminder", "T", "Edit reminder", "Change an open reminder's due moment, text or repeat"),
    ("edit_activity", "v", "Edit activity", "Correct a logged activity's moment, outcome or note"),
    ("add_deal", "n", "New deal", "Open a deal here"),
    ("go_account", "g", "Account", "Open the account's card"),
)


def shared_bindings(prefix: str, actions: tuple[str, ...]) -> list[Binding]:
    """The shared keys a card offers (kept out of the footer: `?` and the palette list them)."""
    return [
        Binding(key, action, what, id=f"{prefix}.{action}", tooltip=tip, show=False)
        for action, key, what, tip in SHARED_KEYS
        if action in actions
    ]


class CardKeys:
    """Mixed into a card `Screen`: the shared actions, given `card_subject` and `reload`."""

    _db: sqlite3.Connection
    SHARED_ACTIONS: tuple[str, ...] = ()
    """Which of the shared keys this card offers (its BINDINGS hold `shared_bindings` of them)."""

    def card_subject(self) -> Subject | None:
        """What the card shows (None until it is loaded)."""
        raise NotImplementedError

    def reload(self) -> None:
        """Read the card again."""
        raise NotImplementedError

    @property
    def _screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def _card_now(self) -> datetime:
        # The card's load worker read the settings already; this reads the cached zone.
        return cast(DailyApp, self._screen.app).daily.now()

    def open_form(self, form: RecordForm, then: Callable[[Saved], None] | None = None) -> None:
        """Show a form; after a save say what it did and read the card again."""

        def done(result: Saved | None) -> None:
            if result is None:
                return
            self._screen.notify(result.summary, title="Saved")
            self.reload()
            if then is not None:
                then(result)

        self._screen.app.push_screen(form, done)

    def shared_palette(self) -> list[tuple[str, str, Any]]:
        """(title, help with key, callback) of the shared actions possible now."""
        out = []
        screen = self._screen
        for action, key, what, tip in SHARED_KEYS:
            if action in self.SHARED_ACTIONS and screen.check_action(action, ()):
                out.append((what, f"{tip} ({key})", getattr(self, f"action_{action}")))
        return out

    # ---------------------------------------------------------------- actions

    def action_add_reminder(self) -> None:
        """A new reminder about what the card shows."""
        from crmtui.screens.cards.card_forms import add_reminder_form

        subject = self.card_subject()
        if subject is None:
            return
        self.open_form(
            add_reminder_form(
                about=subject.about,
                row_id=subject.row_id,
                name=subject.name,
                now=self._card_now(),
                account_id=subject.account_id,
            )
        )

    def action_add_deal(self) -> None:
        """A new deal at the account (and with the contact) the card shows."""
        from crmtui.screens.cards.card_forms import add_deal_form

        subject = self.card_subject()
        if subject is None:
            return
        contact_id = subject.contact_id if subject.about != "contact" else subject.row_id
        account_id = subject.account_id if subject.about != "account" else subject.row_id
        about = f"With {subject.name}" if subject.about == "contact" else f"At {subject.name}"

        def opened(result: Saved) -> None:
            # Over this card, so Escape comes back to it.
            from crmtui.screens.cards.deal_card import DealCardScreen

            daily = cast(DailyApp, self._screen.app).daily
            self._screen.app.push_screen(
                DealCardScreen(self._db, result.record_id, now=daily.now, tz=daily.zone)
            )

        self.open_form(
            add_deal_form(
                now=self._card_now(),
                account_id=account_id,
                contact_id=contact_id,
                about=about,
                currency=subject.currency,
            ),
            opened,
        )

    def action_go_account(self) -> None:
        """Open the card of the account this record belongs to."""
        subject = self.card_subject()
        if subject is None or not subject.account_id:
            self._screen.notify("No account is linked here.", title="Account")
            return
        open_account = getattr(self._screen.app, "open_account", None)
        if callable(open_account):
            open_account(subject.account_id)

    def action_edit_reminder(self) -> None:
        """Choose an open reminder (when there are several), then edit it."""
        self._pick_then("reminders", self._edit_reminder)

    def action_edit_activity(self) -> None:
        """Choose a logged activity (when there are several), then edit it."""
        self._pick_then("activities", self._edit_activity)

    def _pick_then(self, what: str, then: Callable[[dict[str, Any]], None]) -> None:
        subject = self.card_subject()
        if subject is None:
            return
        self._screen.run_worker(
            lambda: self._read_rows(what, subject, then),
            thread=True,
            group="card-pick",
            exit_on_error=False,
        )

    def _read_rows(
        self, what: str, subject: Subject, then: Callable[[dict[str, Any]], None]
    ) -> None:
        from crmtui.reports.account_card import activities_of, reminders_of

        read = reminders_of if what == "reminders" else activities_of
        rows = read(self._db, subject.about, subject.row_id)
        self._screen.app.call_from_thread(self._choose, what, rows, then)

    def _choose(
        self, what: str, rows: list[dict[str, Any]], then: Callable[[dict[str, Any]], None]
    ) -> None:
        # Here, not at the top: the contact card imports this module.
        from crmtui.screens.cards.contact_card import activity_line, tickler_line
        from crmtui.screens.dialogs.pick import PickScreen

        if not rows:
            self._screen.notify(
                f"There are no {'open reminders' if what == 'reminders' else 'activities'} here."
            )
            return
        if len(rows) == 1:
            then(rows[0])
            return
        now = self._card_now()
        tz = now.tzinfo
        by_id = {str(r["id"]): r for r in rows}
        subject = self.card_subject()
        subject_about = subject.about if subject else ""

        def line(r: dict[str, Any]) -> Text:
            if what == "reminders":
                return tickler_line(r, tz, now)
            text = activity_line(r, tz, now)
            if r.get("contact_name") and subject_about != "contact":
                text.append(f"  ({r['contact_name']})", style="dim")
            return text

        def chosen(row_id: str | None) -> None:
            if row_id is not None and row_id in by_id:
                then(by_id[row_id])

        title = "Edit which reminder?" if what == "reminders" else "Edit which activity?"
        self._screen.app.push_screen(
            PickScreen(title, [(str(r["id"]), line(r)) for r in rows]), chosen
        )

    def _edit_reminder(self, row: dict[str, Any]) -> None:
        from crmtui.screens.cards.card_forms import edit_reminder_form

        self.open_form(edit_reminder_form(row, now=self._card_now()))

    def _edit_activity(self, row: dict[str, Any]) -> None:
        from crmtui.screens.cards.card_forms import edit_activity_form

        self.open_form(edit_activity_form(row, now=self._card_now()))
