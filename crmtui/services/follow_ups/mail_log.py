"""Logging a mail message on the timeline: one email activity per known contact it involves.

The direction comes from the rep's own addresses (`[mail] addresses`): a message
from one of them is outgoing and is logged for its known To and Cc recipients;
any other message is incoming and is logged for its known sender. A message is
logged once per contact: its Message-ID is kept in `mail_logged` in the same
transaction as the activity, so a second scan of the same folder logs nothing.

Across laptops the activity's id is derived from the Message-ID and the contact
(`mail_activity_id`), so two reps who log the same mail offline (a shared inbox, a
Cc to both) make one record: the server takes the second create as the same one,
and a laptop that already received it by sync does not log it again.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from crmtui.domain.mail import Address, MailMessage
from crmtui.search.addresses import Owner, owners
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import FUTURE_SLACK, ActivityCreate, log_activity
from crmtui.store.journal import WriteTx
from crmtui.store.mail_state import MailLogged
from crmtui.store.models import Activity

MAX_TEXT = 20_000
_MAIL_NAMESPACE = uuid.UUID("6f1c2b7e-3d4a-5b8c-9e0f-a1b2c3d4e5f6")
"""Fixed for ever: changing it would make every laptop log known mails again."""


def mail_activity_id(message_id: str, contact_id: str) -> str:
    """The id every laptop gives the activity of this message for this contact."""
    return str(uuid.uuid5(_MAIL_NAMESPACE, f"{message_id.strip()}\n{contact_id}"))


@dataclass
class MailRoute:
    """Where a message goes on the timeline: its direction and the addresses that matter."""

    direction: str  # "in" or "out"
    counterparts: list[Address]
    known: dict[str, list[Owner]] = field(default_factory=dict)

    def unknown(self) -> list[Address]:
        """Counterpart addresses no live contact holds."""
        return [a for a in self.counterparts if not self.known.get(a.addr.lower())]

    def ambiguous(self) -> list[Address]:
        """Counterpart addresses several live contacts hold."""
        return [a for a in self.counterparts if len(self.known.get(a.addr.lower(), [])) > 1]


def route(db: sqlite3.Connection, message: MailMessage, mine: tuple[str, ...]) -> MailRoute:
    """The message's direction and counterparts, with the contacts holding each address."""
    own = {a.strip().lower() for a in mine}
    outgoing = any(a.addr.lower() in own for a in message.sender)
    if outgoing:
        people = [a for a in (*message.to, *message.cc) if a.addr.lower() not in own]
    else:
        people = [a for a in message.sender if a.addr.lower() not in own]
    unique: dict[str, Address] = {}
    for person in people:
        unique.setdefault(person.addr.lower(), person)
    counterparts = list(unique.values())
    return MailRoute(
        "out" if outgoing else "in",
        counterparts,
        owners(db, [a.addr for a in counterparts]),
    )


def activity_text(message: MailMessage, direction: str) -> str:
    """The activity's note: subject, who to whom, the files named, the first part of the body."""
    verb = "Email sent" if direction == "out" else "Email received"
    lines = [f"{verb}: {message.subject or '(no subject)'}"]
    lines.append("From: " + ", ".join(str(a) for a in message.sender))
    if message.to:
        lines.append("To: " + ", ".join(str(a) for a in message.to))
    if message.cc:
        lines.append("Cc: " + ", ".join(str(a) for a in message.cc))
    if message.attachments:
        lines.append("Attachments (not stored): " + ", ".join(message.attachments))
    excerpt = message.excerpt()
    text = "\n".join(lines) + (f"\n\n{excerpt}" if excerpt else "")
    return text[:MAX_TEXT]


def _logged_as(tx: WriteTx, message_id: str | None, contact_id: str) -> tuple[bool, str | None]:
    """Whether this Message-ID is logged for this contact, here or (by sync) on another
    laptop, and the id a new activity takes: the derived one, unless there is no
    Message-ID or it was used and undone (an undone activity may be logged again)."""
    if not message_id:
        return False, None
    derived = mail_activity_id(message_id, contact_id)
    here = tx.db.execute(
        "SELECT 1 FROM mail_logged m JOIN activity a ON a.id = m.activity_id "
        "WHERE m.message_id = ? AND m.contact_id = ? AND a.deleted_at IS NULL",
        (message_id, contact_id),
    ).fetchone()
    row = tx.db.execute(
        "SELECT deleted_at IS NULL FROM activity WHERE id = ?", (derived,)
    ).fetchone()
    if here is not None or (row is not None and row[0]):
        return True, None
    return False, derived if row is None else None


def log_mail(
    *,
    tx: WriteTx,
    message: MailMessage,
    direction: str,
    contact_ids: list[str],
    cap: CallCap,
    rep_name: str | None = None,
) -> list[Activity]:
    """Log `message` for each contact (skipping those it was logged for); returns the new activities.

    An incoming message is something the contact did: no consent rule stops
    logging it. An outgoing one already went out: it is logged as the fact it is,
    and a do-not-email contact's activity records the override.
    """
    occurred = message.date
    if occurred is None or occurred > tx.now + FUTURE_SLACK:
        occurred = tx.now  # no date, or a sender's clock in the future: when we saw it
    text = activity_text(message, direction)
    logged: list[Activity] = []
    for contact_id in dict.fromkeys(contact_ids):
        logged_already, activity_id = _logged_as(tx, message.message_id, contact_id)
        if logged_already:
            continue
        activity, _ = log_activity(
            tx=tx,
            data=ActivityCreate(
                kind="email",
                contact_id=contact_id,
                occurred_at=_aware(occurred),
                # The outcomes a plan's email step reads: "replied" may end an enrolment.
                outcome="sent" if direction == "out" else "replied",
                text=text,
            ),
            cap=cap,
            force=True,
            rep_name=rep_name,
            consent_applies=direction == "out",
            activity_id=activity_id,
        )
        if message.message_id:
            tx.session.merge(  # replaces the row of an activity undone since
                MailLogged(
                    message_id=message.message_id,
                    contact_id=activity.contact_id or contact_id,
                    activity_id=activity.id,
                    direction=direction,
                )
            )
        logged.append(activity)
    tx.session.flush()
    return logged


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("mail dates are aware (formats.mail_message reads them so)")
    return moment
