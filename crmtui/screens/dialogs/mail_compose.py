"""Writing a mail from the app: `m` on a contact's card, a template, the text, the outbox.

The templates folder is read in a worker; a picker offers a blank mail and each
template (its subject beside it); the chosen one is filled with the contact's
merge fields and shown in a form (subject and body) to change before it is
queued. ctrl+o opens the text in $VISUAL/$EDITOR, with the app suspended. The
mail goes into the outbox (`crm mail send` or `crm sync` with `[mail] at_sync`
sends it) through the same service as `crm mail write`: a do-not-email or
archived contact gives a refused row, kept with its reason. The outbox is this
laptop's own list, not journaled, so ctrl+z does not take a queued mail back:
the notice gives the `crm mail withdraw` command that does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Label, Static

from crmtui.screens.daily_context import DailyApp, UsesDaily
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.screens.dialogs.prompts import SavingForm
from crmtui.screens.dialogs.record_form import DIALOG_CSS
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.formats.mail_template import MailTemplate
    from crmtui.widgets.text_area_field import FieldArea

MAIL_KEY = ("m", "Mail", "Write a mail from a template; it waits in the outbox until sent")
BLANK = "\x00blank"
"""The picker's row id of a blank mail (no template name can hold a NUL)."""


@dataclass(frozen=True)
class MailStart:
    """What the compose form opens with: who, the text, and what the filling said."""

    contact_id: str
    to: str
    template: str | None
    subject: str
    body: str
    sender_domain: str
    values: dict[str, str | None]
    """The contact's merge fields, for fields still in the text when it is queued."""
    problem: str = ""


@dataclass(frozen=True)
class Queued:
    """What queueing did: the message to show, and whether the outbox refused it."""

    summary: str
    refused: bool = False


def mail_binding(prefix: str) -> Binding:
    """The `m` key of a screen that can write to its contact (listed by `?` and the palette)."""
    key, what, tip = MAIL_KEY
    return Binding(key, "write_mail", what, id=f"{prefix}.write_mail", tooltip=tip, show=False)


class MailComposeScreen(UsesDaily, SavingForm[Queued | None]):
    """Subject and body of one mail; ctrl+s queues it, ctrl+o edits it in $EDITOR."""

    STATUS_ID = "mail-status"
    WHAT = "Queueing the mail"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="mail.cancel", tooltip="Close, queueing nothing"),
        Binding("ctrl+s", "save", "Queue", id="mail.queue", tooltip="Put the mail in the outbox"),
        # ctrl+e is the text fields' end-of-line key.
        Binding("ctrl+o", "editor", "$EDITOR", id="mail.editor", tooltip="Edit in $EDITOR"),
    ]
    DEFAULT_CSS = (
        DIALOG_CSS.format(screen="MailComposeScreen", box="#mail")
        + """
    MailComposeScreen #mail-title {
        text-style: bold;
    }
    MailComposeScreen #mail-about, MailComposeScreen #mail-hint {
        color: $text-muted;
    }
    MailComposeScreen .row {
        height: 1;
        margin: 1 0 0 0;
    }
    MailComposeScreen .row > Label {
        width: 9;
        color: $text-muted;
    }
    MailComposeScreen .row > Input {
        width: 1fr;
        border: none;
        height: 1;
        padding: 0;
    }
    MailComposeScreen #f-body {
        height: 10;
        margin: 1 0 0 0;
    }
    MailComposeScreen #mail-status {
        height: auto;
    }
    MailComposeScreen #mail-status.-error {
        color: $error;
    }
    """
    )

    def __init__(self, start: MailStart) -> None:
        super().__init__()
        self.start = start
        self.saving = False

    def compose(self) -> ComposeResult:
        """To, the template used, subject, body, the status and the keys."""
        # Textual's TextArea is imported when a mail is written, not with the cards.
        from crmtui.widgets.text_area_field import FieldArea

        start = self.start
        with Vertical(id="mail"):
            yield Label(
                Text(f"Mail to {start.to}", overflow="ellipsis", no_wrap=True), id="mail-title"
            )
            used = f"template {start.template}" if start.template else "no template"
            yield Static(Text(f"From {used}; queued in the outbox, sent later."), id="mail-about")
            with Horizontal(classes="row"):
                yield Label("Subject")
                yield FieldInput(start.subject, id="f-subject")
            yield FieldArea(start.body, id="f-body", soft_wrap=True, show_line_numbers=False)
            yield Static(
                Text(start.problem), id="mail-status", classes="-error" if start.problem else ""
            )
            yield Static(
                "ctrl+s queues · ctrl+o opens $EDITOR · Tab moves · Esc cancels", id="mail-hint"
            )

    def on_mount(self) -> None:
        """The body has the focus when the subject is filled, else the subject."""
        target = "#f-body" if self.start.subject else "#f-subject"
        self.query_one(target).focus()

    def _body(self) -> FieldArea:
        from crmtui.widgets.text_area_field import FieldArea

        return self.query_one("#f-body", FieldArea)

    def _texts(self) -> tuple[str, str]:
        return self.query_one("#f-subject", FieldInput).value, self._body().text

    def save_values(self) -> None:
        """Queue what the form holds (a worker)."""
        subject, body = self._texts()
        self._queue(subject, body)

    @work(thread=True, exit_on_error=False, group="mail-compose")
    def _queue(self, subject: str, body: str) -> None:
        from crmtui.domain.validate import InvalidInput
        from crmtui.formats.mail_template import MailTemplate, TemplateError, render
        from crmtui.services.follow_ups.outbox import Draft, queue_mail

        start = self.start
        mail = MailTemplate(subject, body)
        try:
            if mail.fields():  # merge fields still in the text (a failed fill, or typed)
                mail = render(mail, start.values, start.to)
            row = self.daily.write(
                lambda tx: queue_mail(
                    tx=tx,
                    draft=Draft(start.contact_id, mail.subject, mail.body, start.template),
                    sender_domain=start.sender_domain,
                )
            )
        except (TemplateError, InvalidInput) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            self.app.call_from_thread(self._refused_here, message)
            return
        short = row.id[:8]
        if row.status == "refused":
            result = Queued(
                f"Not sent to {start.to}: {row.reason}. Kept in the outbox as refused; "
                f"`crm mail withdraw {short}` removes it.",
                refused=True,
            )
        else:
            result = Queued(
                f"In the outbox for {start.to}: {row.subject}. `crm mail send` (or a sync with "
                f"[mail] at_sync) sends it; `crm mail withdraw {short}` takes it back."
            )
        self.app.call_from_thread(self.dismiss, result)

    def _refused_here(self, message: str) -> None:
        self.saving = False
        self._status(f"Not queued: {message}", error=True)

    def action_editor(self) -> None:
        """Suspend the app and edit the mail (Subject line, blank line, body) in $EDITOR."""
        from textual.app import SuspendNotSupported

        from crmtui.editor import EditorError, edit_text
        from crmtui.formats.mail_template import TemplateError, parse_mail

        if self.saving:
            return
        subject, body = self._texts()
        try:
            with self.app.suspend():
                text = edit_text(f"Subject: {subject}\n\n{body}", suffix=".eml")
        except SuspendNotSupported:
            self._status(
                "This terminal cannot hand over to an editor: edit the mail here.", error=True
            )
            return
        except EditorError as exc:
            self._status(str(exc), error=True)
            return
        try:
            mail = parse_mail(text)
        except TemplateError as exc:
            self._status(f"{exc}; the form keeps the text it had", error=True)
            return
        self.query_one("#f-subject", FieldInput).value = mail.subject
        self._body().text = mail.body
        self._status("Edited in the editor; ctrl+s queues it.")


class MailKeys:
    """Mixed into a `Screen` that shows one contact: `m` writes it a mail."""

    _db: sqlite3.Connection

    def mail_contact(self) -> tuple[str, str] | None:
        """(contact id, name) of the contact on screen, or None."""
        raise NotImplementedError

    @property
    def _mail_screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def mail_palette(self) -> list[tuple[str, str, Any]]:
        """The palette's entry for `m` (when there is a contact)."""
        who = self.mail_contact()
        if who is None:
            return []
        key, _, tip = MAIL_KEY
        return [(f"Write a mail to {who[1]}", f"{tip} ({key})", self.action_write_mail)]

    def action_write_mail(self) -> None:
        """Read the settings and the templates (worker), then pick one and compose."""
        who = self.mail_contact()
        if who is None:
            return
        self._mail_screen.run_worker(
            lambda: self._read_templates(who), thread=True, exit_on_error=False, group="mail"
        )

    def _read_templates(self, who: tuple[str, str]) -> None:
        from crmtui.config import ConfigError, user_config_path
        from crmtui.mail.templates import list_templates, template_folder

        screen = self._mail_screen
        daily = cast(DailyApp, screen.app).daily
        try:
            settings = daily.settings()
        except ConfigError as exc:
            screen.app.call_from_thread(
                screen.notify, str(exc), title="Mail", severity="error", markup=False
            )
            return
        sender = settings.mail.sender if settings.mail else None
        if not sender or "@" not in sender:
            screen.app.call_from_thread(
                screen.notify,
                "Set [mail] addresses (or from_address) in the config: mail needs a sender.",
                title="Mail",
                severity="error",
                markup=False,
            )
            return
        configured = settings.mail.templates_dir if settings.mail else None
        folder = template_folder(configured, user_config_path().parent)
        entries = [e for e in list_templates(folder) if e.readable]
        screen.app.call_from_thread(self._pick_template, who, folder, entries, sender)

    def _pick_template(
        self, who: tuple[str, str], folder: Any, entries: list[Any], sender: str
    ) -> None:
        if not entries:
            self._start_compose(who, folder, None, sender)
            return
        rows: list[tuple[str, Text | str]] = [(BLANK, Text("A blank mail", style="italic"))]
        rows += [(e.name, Text.assemble((e.name, "bold"), "  ", e.subject)) for e in entries]

        def picked(choice: str | None) -> None:
            if choice is not None:
                self._start_compose(who, folder, None if choice == BLANK else choice, sender)

        self._mail_screen.app.push_screen(
            PickScreen(f"Mail to {who[1]}: which template?", rows), picked
        )

    def _start_compose(
        self, who: tuple[str, str], folder: Any, name: str | None, sender: str
    ) -> None:
        self._mail_screen.run_worker(
            lambda: self._fill(who, folder, name, sender),
            thread=True,
            exit_on_error=False,
            group="mail",
        )

    def _fill(self, who: tuple[str, str], folder: Any, name: str | None, sender: str) -> None:
        from crmtui.formats.mail_template import TemplateError, render
        from crmtui.mail.merge import merge_values
        from crmtui.mail.templates import read_template

        screen = self._mail_screen
        daily = cast(DailyApp, screen.app).daily
        contact_id, contact_name = who
        row = self._db.execute("SELECT email FROM contact WHERE id = ?", (contact_id,)).fetchone()
        email = row[0] if row else None
        if not email:
            screen.app.call_from_thread(
                screen.notify,
                f"{contact_name} has no email address.",
                title="Mail",
                severity="error",
            )
            return
        settings = daily.settings()
        rep = (settings.mail.from_name if settings.mail else None) or settings.rep_name
        subject, body, problem = "", "", ""
        values = merge_values(self._db, contact_id, rep=rep)
        if name is not None:
            try:
                template: MailTemplate = read_template(folder, name)
            except TemplateError as exc:
                screen.app.call_from_thread(
                    screen.notify, str(exc), title="Mail", severity="error", markup=False
                )
                return
            subject, body = template.subject, template.body
            try:
                filled = render(template, values, contact_name)
                subject, body = filled.subject, filled.body
            except TemplateError as exc:
                problem = f"{exc}: write it in, or it is asked again when queued"
        start = MailStart(
            contact_id=contact_id,
            to=f"{contact_name} <{email}>",
            template=name,
            subject=subject,
            body=body,
            sender_domain=sender.rpartition("@")[2],
            values=values,
            problem=problem,
        )
        screen.app.call_from_thread(self._open, start)

    def _open(self, start: MailStart) -> None:
        screen = self._mail_screen

        def done(result: Queued | None) -> None:
            if result is None:
                return
            screen.notify(
                result.summary,
                title="Mail refused" if result.refused else "Mail queued",
                severity="warning" if result.refused else "information",
                timeout=8,
                markup=False,  # "[mail]" and names are text, not Rich markup
            )

        screen.app.push_screen(MailComposeScreen(start), done)
