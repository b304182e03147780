"""The contact card: who the person is, whether they may be contacted, and what is open."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Label, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.contact_details import address_line, dial_mark
from crmtui.domain.date_style import in_list, stored_day
from crmtui.domain.identity import phone_text
from crmtui.domain.kept import kept_lines
from crmtui.screens.cards.card_keys import CardKeys, Subject, shared_bindings
from crmtui.screens.cards.card_plans import CardPlans, plan_bindings, plan_lines, read_plans
from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.mail_compose import MailKeys, mail_binding
from crmtui.screens.dialogs.plan_enrol import PlanEnrolKeys, enrol_binding
from crmtui.screens.dialogs.prompts import SafeConfirm
from crmtui.screens.dialogs.quick_log import Chosen
from crmtui.search.lookup import ContactCard, contact_card
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.services.plan_progress import EnrolmentState

STORED_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_stored(value: str | None) -> datetime | None:
    """A stored UTC timestamp as an aware datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return datetime.strptime(value, STORED_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def format_when(value: str | None, tz: tzinfo | None = None, now: datetime | None = None) -> str:
    """A stored UTC timestamp in `tz` (the system zone when None), as a list row shows it
    against `now` ("today 10:20"), or in full without `now` (crmtui/domain/date_style.py)."""
    moment = parse_stored(value)
    if moment is None:
        return value or ""
    return in_list(moment.astimezone(tz), now)


def format_duration(seconds: int | None) -> str:
    """A call's length as '40 s', '5 min' or '1 h 10 min' (empty when unknown)."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds} s"  # a 4 s no-answer read "1 min"; the quick log said "4 s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def format_amount(minor: int | None, currency: str | None) -> str:
    """An amount in minor units as '12,500.00 EUR'."""
    if minor is None:
        return "no amount"
    return f"{minor / 100:,.2f} {currency or ''}".strip()


def activity_line(
    activity: dict[str, Any], tz: tzinfo | None = None, now: datetime | None = None
) -> Text:
    """One activity: when (in the user's zone), what, how it went, how long, what was said."""
    line = Text(format_when(activity.get("occurred_at"), tz, now), style="dim")
    line.append(f"  {activity.get('kind') or 'activity'}", style="bold")
    if activity.get("outcome"):
        line.append(f" · {activity['outcome'].replace('-', ' ')}")
    if duration := format_duration(activity.get("duration_s")):
        line.append(f" · {duration}")
    if activity.get("text"):
        # A logged mail or a long note: its first lines here, the whole text on `v`.
        lines = activity["text"].split("\n")
        shown = "\n".join(lines[:3]) + (" …" if len(lines) > 3 else "")
        line.append(f" — {shown}")
    if activity.get("consent_override"):
        line.append("  consent override", style="bold italic")
    return line


def tickler_line(
    tickler: dict[str, Any], tz: tzinfo | None = None, now: datetime | None = None
) -> Text:
    """One open follow-up: due when (overdue marked), snoozed or repeating, and what to do."""
    due = parse_stored(tickler.get("due_at"))
    overdue = now is not None and due is not None and due < now
    line = Text(f"due {format_when(tickler.get('due_at'), tz, now)}", style="bold")
    if overdue:
        line.append(" overdue", style="bold red")
    snoozed = parse_stored(tickler.get("snoozed_until"))
    if snoozed is not None and (now is None or snoozed > now):
        until = format_when(tickler["snoozed_until"], tz, now)
        line.append(f" (snoozed until {until})", style="dim")
    line.append(f"  {tickler.get('text') or ''}")
    if tickler.get("recurrence") or tickler.get("recur_after_days"):
        line.append("  ↻ repeats", style="dim")
    return line


def deal_line(deal: dict[str, Any]) -> Text:
    """One open deal: name, amount, stage, expected close."""
    line = Text(deal.get("name") or "(unnamed deal)", style="bold")
    line.append(f" · {format_amount(deal.get('amount_minor'), deal.get('currency'))}")
    if deal.get("stage_name"):
        line.append(f" · {deal['stage_name']}")
    if deal.get("expected_close"):
        line.append(f" · closes {stored_day(deal['expected_close'])}")
    return line


def _item_rows(card: ContactCard) -> list[tuple[str, str | None]]:
    """A row per phone, email and address: the dialled phone and the primaries marked."""
    rows: list[tuple[str, str | None]] = []
    for i, p in enumerate(card.phones):
        dial = dial_mark(p)
        mark = f" · {dial}" if dial else ""
        shown = phone_text(p["number"], p.get("extension"))
        rows.append(("Phones" if i == 0 else "", f"{shown} ({p['kind']}){mark}"))
    for i, e in enumerate(card.emails):
        mark = " · primary" if e.get("is_primary") and len(card.emails) > 1 else ""
        rows.append(("Emails" if i == 0 else "", f"{e['address']} ({e['kind']}){mark}"))
    for i, a in enumerate(card.addresses):
        rows.append(("Addresses" if i == 0 else "", f"{address_line(a)} ({a['kind']})"))
    if not card.emails:
        rows.append(("Emails", None))
    if not card.phones:
        rows.append(("Phones", None))
    return rows


KEPT_SHOWN = 6
"""Kept import values the card shows; the rest are counted."""


def contact_fields(card: ContactCard) -> Table:
    """The label/value grid of a contact's own fields and its account."""
    c = card.contact
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    rows: list[tuple[str, str | None]] = []
    if card.phones or card.emails or card.addresses:
        rows += _item_rows(card)
    else:  # made by an older version: its columns are all it has
        rows += [
            ("Email", c.get("email")),
            ("Phone", c.get("phone") or c.get("phone_e164")),
            ("Mobile", c.get("mobile") or c.get("mobile_e164")),
            ("City", ", ".join(x for x in (c.get("city"), c.get("country")) if x) or None),
        ]
    for label, key in (
        ("Salutation", "salutation"),
        ("Nickname", "nickname"),
        ("Department", "department"),
        ("Birthday", "birthday"),
        ("Website", "website"),
    ):
        if c.get(key):
            rows.append((label, str(c[key])))
    if card.account:
        a = card.account
        rows.append(
            (
                "Account",
                " · ".join(
                    x for x in (a.get("name"), a.get("city"), a.get("phone"), a.get("website")) if x
                ),
            )
        )
    if c.get("stay_in_touch_days"):
        rows.append(("Stay in touch", f"every {c['stay_in_touch_days']} days"))
    if c.get("max_calls"):
        rows.append(
            ("Call cap", f"at most {c['max_calls']} calls in {c.get('max_calls_days')} days")
        )
    tags = c.get("tags") or []
    if tags:
        rows.append(("Tags", "  ".join(f"#{t}" for t in tags)))
    # What an import brought that no field holds (a custom field, a birthday without a
    # year): shown, as `crm show` shows it, the first few here.
    kept = kept_lines(c.get("extra"))
    for i, line in enumerate(kept[:KEPT_SHOWN]):
        rows.append(("From import" if i == 0 else "", line))
    if len(kept) > KEPT_SHOWN:
        rows.append(("", f"… {len(kept) - KEPT_SHOWN} more (crm show lists them)"))
    for label, value in rows:
        grid.add_row(label, Text(value or "—"))
    return grid


class ConfirmCardAction(SafeConfirm):
    """Archive, delete or restore this contact? Only `y` (or a click) says yes."""

    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel", id="card.confirm_cancel"),
        Binding("y", "answer(True)", "Yes", id="card.confirm_yes"),
    ]
    NO = "Cancel"

    def __init__(self, question: str, details: str, yes: str) -> None:
        super().__init__()
        self._question = question
        self._details = details
        self.YES = yes

    def question(self) -> str:
        """The question."""
        return self._question

    def details(self) -> Text:
        """What it does."""
        return Text(self._details)

    def hint(self) -> str:
        """How to take it back."""
        return "ctrl+z undoes it afterwards (from any screen)."


CONTACT_SHARED = ("add_reminder", "edit_reminder", "edit_activity", "add_deal", "go_account")

# (action, key, what, palette help): the card's own actions, for the footer and the palette.
CARD_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("edit", "e", "Edit", "Edit every field, tags, consent and stay-in-touch"),
    ("archive", "a", "Archive", "Archive or unarchive (kept, left out of search)"),
    ("delete", "d", "Delete", "Delete this contact (restorable)"),
    ("restore", "r", "Restore", "Bring back the deleted contact shown"),
)


class ContactCardScreen(MailKeys, CardPlans, PlanEnrolKeys, CardKeys, Screen[None]):
    """One contact, loaded in a worker; Escape goes back to the list as it was."""

    TITLE = "Contact"
    SHARED_ACTIONS = CONTACT_SHARED
    CSS_PATH = "contact_card.tcss"
    BINDINGS = [
        Binding(
            "escape", "app.pop_screen", "Back", id="card.back", tooltip="Back to the contact list"
        ),
        # Only Edit in the footer: at 120 columns more card keys pushed F6/F7 off it.
        # Archive, delete and restore are listed by `?` and the palette.
        *(
            Binding(key, action, what, id=f"card.{action}", tooltip=help, show=action == "edit")
            for action, key, what, help in CARD_ACTIONS
        ),
        # Reminder, activity and deal keys, and g for the account (crmtui/screens/cards/card_keys.py).
        *shared_bindings("card", CONTACT_SHARED),
        enrol_binding("card"),
        mail_binding("card"),
        *plan_bindings("card"),
    ]

    class Wrote(Message):
        """A write from the card finished; `summary` says what it did (`error`: why not)."""

        def __init__(self, summary: str, error: bool = False) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    class CardLoaded(Message):
        """The card's data came back from the database (None: the contact is gone)."""

        def __init__(
            self,
            contact_id: str,
            card: ContactCard | None,
            tz: tzinfo | None = None,
            now: datetime | None = None,
            read: int = 0,
            plans: list[EnrolmentState] | None = None,
        ) -> None:
            super().__init__()
            self.contact_id = contact_id
            self.card = card
            self.tz = tz
            self.now = now
            self.read = read
            self.plans = plans or []

    def __init__(self, db: sqlite3.Connection, contact_id: str) -> None:
        super().__init__()
        self._db = db
        self.contact_id = contact_id
        self._reads = 0
        self.card: ContactCard | None = None
        self.deleted = False
        """Deleted from this card (the card shows that, and `r` brings it back)."""
        self.busy = False
        self.plan_states: list[EnrolmentState] = []

    def compose(self) -> ComposeResult:
        """Name and consent on top, then fields, notes and the open work."""
        yield Header()
        with VerticalScroll(id="card"):
            yield Static("Loading…", id="card-name")
            yield Static(id="card-role")
            with Horizontal(id="consent"):
                yield Label("DO NOT CALL", id="dnc")
                yield Label("DO NOT EMAIL", id="dne")
                yield Label("Calls and email allowed", id="consent-ok")
            yield CardSection("Details", id="details")
            yield CardSection("Follow-up plans", id="plans")
            yield CardSection("Notes", id="notes")
            yield CardSection("Recent activities", id="activities")
            yield CardSection("Open reminders", id="ticklers")
            yield CardSection("Open deals", id="deals")
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Hide the consent row until the flags are known."""
        self.query_one("#consent").display = False

    def on_screen_resume(self) -> None:
        """Shown (first time, or back from a quick log): read the card again."""
        self.load_card()

    def reload(self) -> None:
        """Read the card again (after something was logged)."""
        self.load_card()

    def selected_contact(self) -> Chosen | None:
        """This contact (the quick log's default)."""
        name = (self.card.contact.get("name") if self.card else None) or "this contact"
        return Chosen(self.contact_id, name)

    def load_card(self) -> None:
        """Read the card again; only the latest read is shown."""
        # A read started earlier (on resume, as a confirmed delete starts its write) can
        # finish later, under load, and showed the contact as it was before the write.
        self._reads += 1
        self._read_card(self._reads)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contact-card")
    def _read_card(self, read: int) -> None:
        """Read the card off the UI thread, with the user's zone and clock."""
        daily = cast(DailyApp, self.app).daily
        tz, now = daily.zone(), daily.now()
        card = contact_card(self._db, self.contact_id)
        plans = read_plans(self._db, contact_id=self.contact_id) if card is not None else []
        self.post_message(self.CardLoaded(self.contact_id, card, tz, now, read, plans))

    def card_subject(self) -> Subject | None:
        """This contact, with its account (the shared card keys' subject)."""
        if self.card is None:
            return None
        name = self.card.contact.get("name") or "this contact"
        account_id = (self.card.account or {}).get("id")
        return Subject("contact", self.contact_id, name, account_id=account_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Edit and archive on a live card; delete once loaded; restore once deleted."""
        if action == "go_account":
            return self.card is not None and self.card.account is not None
        if action in ("edit", "archive", "delete", "enrol_plan", "write_mail", *CONTACT_SHARED):
            return self.card is not None and not self.busy
        if action in ("leave_plan", "pause_plan"):
            return self.card is not None and not self.busy and bool(self.running_plans())
        if action == "restore":
            return self.card is None and self.deleted and not self.busy
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """(title, help with key, callback) of the actions possible on this card now."""
        name = (self.card.contact.get("name") if self.card else None) or "contact"
        out = []
        for action, key, what, help in CARD_ACTIONS:
            if self.check_action(action, ()):
                title = (
                    f"{what} {name}" if action != "archive" else self._archive_word() + f" {name}"
                )
                out.append((title, f"{help} ({key})", getattr(self, f"action_{action}")))
        return (
            out
            + self.shared_palette()
            + self.enrol_palette()
            + self.plans_palette()
            + self.mail_palette()
        )

    def mail_contact(self) -> tuple[str, str] | None:
        """This contact, once loaded (the `m` key's subject)."""
        if self.card is None or not self.check_action("write_mail", ()):
            return None
        return self.contact_id, self.card.contact.get("name") or "this contact"

    def plan_who(self) -> str:
        """This contact's name (the plan keys' messages)."""
        return (self.card.contact.get("name") if self.card else None) or "this contact"

    def plan_contact(self) -> tuple[str, str] | None:
        """This contact, once loaded (the `p` key's subject)."""
        if self.card is None or not self.check_action("enrol_plan", ()):
            return None
        return self.contact_id, self.card.contact.get("name") or "this contact"

    def _archive_word(self) -> str:
        archived = bool(self.card and self.card.contact.get("archived_at"))
        return "Unarchive" if archived else "Archive"

    def action_edit(self) -> None:
        """Open the edit form with this contact's values; the card is read again after a save."""
        if self.card is None:
            return
        from crmtui.screens.dialogs.contact_edit import ContactEditScreen, EditResult

        def done(result: EditResult | None) -> None:
            if result is None:
                return
            if result.changed:
                self.notify(f"Changed: {', '.join(result.changed)} · ctrl+z undoes", title="Saved")
            else:
                self.notify("Nothing was changed.", title="Edit")
            self.load_card()

        company = (self.card.account or {}).get("name")
        self.app.push_screen(
            ContactEditScreen(
                self._db,
                self.contact_id,
                self.card.contact,
                company,
                {
                    "phones": self.card.phones,
                    "emails": self.card.emails,
                    "addresses": self.card.addresses,
                },
            ),
            done,
        )

    def _confirm_then(self, question: str, details: str, yes: str, then: Any) -> None:
        def answered(ok: bool | None) -> None:
            if ok:
                self.busy = True
                self.refresh_bindings()
                then()

        self.app.push_screen(ConfirmCardAction(question, details, yes), answered)

    def action_archive(self) -> None:
        """Archive (or unarchive) after a confirmation."""
        if self.card is None:
            return
        name = self.card.contact.get("name") or "this contact"
        archive = not self.card.contact.get("archived_at")
        word = "Archive" if archive else "Unarchive"
        details = (
            "It stays, with its history, but leaves search and lists unless asked for."
            if archive
            else "It comes back into search and lists."
        )
        self._confirm_then(
            f"{word} {name}?", details, word, lambda: self.write_card("archive", archive)
        )

    def action_delete(self) -> None:
        """Delete (a restorable tombstone) after a confirmation."""
        if self.card is None:
            return
        name = self.card.contact.get("name") or "this contact"
        self._confirm_then(
            f"Delete {name}?",
            "It leaves search, lists and the call queue; r on this card restores it.",
            "Delete",
            lambda: self.write_card("delete", True),
        )

    def action_restore(self) -> None:
        """Restore the contact deleted here, after a confirmation."""
        self._confirm_then(
            "Restore this contact?",
            "It comes back into search and lists as it was.",
            "Restore",
            lambda: self.write_card("restore", True),
        )

    @work(thread=True, exit_on_error=False, group="contact-card-write")
    def write_card(self, what: str, flag: bool) -> None:
        """Archive, delete or restore through the contact services, as one undoable write."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.services.address_book.contacts import (
            archive_contact,
            delete_contact,
            restore_contact,
        )
        from crmtui.store.resolve import NotFound

        daily = cast(DailyApp, self.app).daily
        cid = self.contact_id
        name = (self.card.contact.get("name") if self.card else None) or "contact"
        try:
            if what == "archive":
                daily.write_undoable(
                    f"{'Archive' if flag else 'Unarchive'} {name}",
                    lambda tx: archive_contact(tx=tx, contact_id=cid, archived=flag),
                )
                summary = f"{'Archived' if flag else 'Unarchived'} {name}"
            elif what == "delete":
                daily.write_undoable(
                    f"Delete {name}", lambda tx: delete_contact(tx=tx, contact_id=cid)
                )
                summary = f"Deleted {name} · r restores"
            else:
                contact = daily.write_undoable(
                    "Restore contact", lambda tx: restore_contact(tx=tx, contact_id=cid)
                )
                summary = f"Restored {contact.name}"
        except (InvalidInput, NotFound) as exc:
            self.post_message(self.Wrote(str(exc), error=True))
            return
        self.post_message(self.Wrote(summary + " · ctrl+z undoes"))

    @on(Wrote)
    def _wrote(self, event: Wrote) -> None:
        self.busy = False
        if event.error:
            self.notify(event.summary, title="Not done", severity="error")
        else:
            self.deleted = event.summary.startswith("Deleted")
            self.notify(event.summary, title="Contact")
        self.load_card()

    @on(CardLoaded)
    def _show_card(self, event: CardLoaded) -> None:
        if event.read != self._reads:
            return  # a newer read is on its way
        self.card = event.card
        self.plan_states = event.plans
        self.refresh_bindings()
        name = self.query_one("#card-name", Static)
        if event.card is None:
            if self.deleted:
                name.update("This contact was deleted: r restores it, ctrl+z undoes the delete.")
            else:
                name.update("This contact no longer exists (deleted or merged).")
            for section in self.query(CardSection):
                section.display = False
            self.query_one("#card-role", Static).update("")
            self.query_one("#consent").display = False
            return
        for section in self.query(CardSection):
            section.display = True
        plans = self.query_one("#plans", CardSection)
        # Only a contact that was ever on a plan shows the section.
        plans.display = bool(event.plans)
        plans.show_lines(plan_lines(event.plans, event.tz, event.now))
        c = event.card.contact
        # The header reads "<name> — <database file>".
        self.title = c.get("name") or "Contact"
        title = Text(c.get("name") or "(no name)")
        if c.get("archived_at"):
            title.append("  archived", style="italic")
        name.update(title)
        role = " at ".join(x for x in (c.get("title"), (event.card.account or {}).get("name")) if x)
        self.query_one("#card-role", Static).update(Text(role))
        self.query_one("#consent").display = True
        dnc, dne = bool(c.get("do_not_call")), bool(c.get("do_not_email"))
        self.query_one("#dnc").display = dnc
        self.query_one("#dne").display = dne
        self.query_one("#consent-ok").display = not (dnc or dne)
        self.query_one("#details", CardSection).show(contact_fields(event.card))
        notes = c.get("notes")
        self.query_one("#notes", CardSection).show(Text(notes) if notes else None)
        self.query_one("#activities", CardSection).show_lines(
            [activity_line(a, event.tz, event.now) for a in event.card.activities]
        )
        self.query_one("#ticklers", CardSection).show_lines(
            [tickler_line(t, event.tz, event.now) for t in event.card.ticklers]
        )
        self.query_one("#deals", CardSection).show_lines([deal_line(d) for d in event.card.deals])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a failed load on the card itself."""
        if event.state is WorkerState.ERROR:
            if event.worker.group == "contact-card-write":
                self.busy = False
                self.refresh_bindings()
                self.notify(f"{event.worker.error}", title="Not done", severity="error")
                return
            self.query_one("#card-name", Static).update(
                Text(f"Cannot load this contact: {event.worker.error}")
            )
