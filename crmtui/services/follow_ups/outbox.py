"""The offline outbox: mail written here waits in `mail_outbox` until `crm mail send`.

Consent is checked twice: when a message is queued and again just before it is
sent (the contact may have opted out in between, on this laptop or through a
sync). A refusal is a record, not a silence: the row stays with status
`refused` and the reason.

Each message gets its Message-ID when it is queued and keeps it. Before a send
the row is marked `sending` in its own transaction; a row still `sending` later
means the process stopped without knowing whether the server took the message,
so it is never resent automatically (`crm mail send --retry-unclear` does it,
with the same Message-ID, which receivers use to drop duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid

from crmtui.domain.validate import InvalidInput
from crmtui.services.consent import CallCap, blockers
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.store.journal import WriteTx
from crmtui.store.mail_state import MailOutbox
from crmtui.store.models import Activity, Contact
from crmtui.store.resolve import get_live

MAX_SUBJECT = 998  # RFC 5322's line limit
MAX_BODY = 200_000


@dataclass(frozen=True)
class Draft:
    """A written message for one contact."""

    contact_id: str
    subject: str
    body: str
    template: str | None = None


def _reasons(tx: WriteTx, contact: Contact) -> list[str]:
    reasons = blockers(tx.db, contact.id, "email", now=tx.now, cap=CallCap())
    if contact.archived_at is not None:
        reasons.append(f"{contact.name} is archived")
    return reasons


def queue_mail(*, tx: WriteTx, draft: Draft, sender_domain: str) -> MailOutbox:
    """Queue one message; a do-not-email or archived contact gives a `refused` row (the record).

    Raises InvalidInput when the contact has no address or the text is unusable.
    """
    contact = get_live(tx, Contact, draft.contact_id)
    if not contact.email:
        raise InvalidInput("email", f"{contact.name} has no email address")
    subject = " ".join(draft.subject.split())
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput("subject", f"must be 1 to {MAX_SUBJECT} characters")
    if not draft.body.strip() or len(draft.body) > MAX_BODY:
        raise InvalidInput("body", f"must be 1 to {MAX_BODY} characters")
    reasons = _reasons(tx, contact)
    row = MailOutbox(
        contact_id=contact.id,
        to_addr=contact.email,
        to_name=contact.name,
        subject=subject,
        body=draft.body,
        message_id=make_msgid(domain=sender_domain),
        template=draft.template,
        status="refused" if reasons else "queued",
        reason="; ".join(reasons) or None,
        queued_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    return row


def sendable(tx: WriteTx, *, retry_unclear: bool = False) -> list[MailOutbox]:
    """Rows to try now: queued and failed ones (and `sending` ones when asked), oldest first."""
    statuses = ("queued", "failed", "sending") if retry_unclear else ("queued", "failed")
    rows = tx.db.execute(
        f"SELECT id FROM mail_outbox WHERE status IN ({','.join('?' * len(statuses))}) "
        "ORDER BY queued_at, id",
        statuses,
    ).fetchall()
    return [tx.session.get_one(MailOutbox, r[0]) for r in rows]


def begin_send(*, tx: WriteTx, outbox_id: str) -> MailOutbox:
    """Check consent again and mark the row `sending` (or `refused`, with the reason)."""
    row = tx.session.get_one(MailOutbox, outbox_id)
    contact = tx.session.get(Contact, row.contact_id)
    if contact is None or contact.deleted_at is not None:
        row.status, row.reason = "refused", "the contact was deleted"
    else:
        reasons = _reasons(tx, contact)
        if reasons:
            row.status, row.reason = "refused", "; ".join(reasons)
        else:
            row.status, row.reason = "sending", None
            row.attempts += 1
    tx.session.add(row)
    tx.session.flush()
    return row


def mark_failed(*, tx: WriteTx, outbox_id: str, reason: str) -> MailOutbox:
    """The transport refused or could not be reached: the row waits for the next send."""
    row = tx.session.get_one(MailOutbox, outbox_id)
    row.status, row.reason = "failed", reason[:2000]
    tx.session.add(row)
    tx.session.flush()
    return row


def mark_sent(*, tx: WriteTx, outbox_id: str, rep_name: str | None = None) -> Activity:
    """The server took the message: log it as an email activity and close the row."""
    row = tx.session.get_one(MailOutbox, outbox_id)
    text = f"Email sent: {row.subject}\nTo: {row.to_name} <{row.to_addr}>\n\n{row.body}"
    # Consent was checked by `begin_send` an instant ago; the send happened, so it is
    # logged as the fact it is (force: never a lost record of a sent mail).
    activity, _ = log_activity(
        tx=tx,
        data=ActivityCreate(
            kind="email", contact_id=row.contact_id, outcome="sent", text=text[:20_000]
        ),
        cap=CallCap(),
        force=True,
        rep_name=rep_name,
    )
    row.status, row.reason, row.sent_at, row.activity_id = "sent", None, tx.now, activity.id
    tx.session.add(row)
    tx.session.flush()
    return activity


WITHDRAWABLE = ("queued", "failed", "refused")


def withdraw_mail(*, tx: WriteTx, outbox_id: str) -> MailOutbox:
    """Take a message out of the outbox before it is sent (queued, failed or refused only).

    A message being sent or sent cannot be withdrawn: it may have left already.
    `outbox_id` may be a unique prefix of the id (at least 6 characters).
    """
    ref = outbox_id.strip().lower()
    rows = tx.db.execute(
        "SELECT id FROM mail_outbox WHERE id = ? OR (length(?) >= 6 AND id LIKE ? || '%') LIMIT 2",
        (ref, ref, ref),
    ).fetchall()
    if not rows:
        raise InvalidInput("id", f"no message {outbox_id!r} in the outbox (crm mail outbox)")
    if len(rows) > 1:
        raise InvalidInput("id", f"{outbox_id!r} names several messages: give more of the id")
    row = tx.session.get_one(MailOutbox, rows[0][0])
    if row.status not in WITHDRAWABLE:
        raise InvalidInput(
            "id", f"the message to {row.to_addr} is {row.status}: it cannot be withdrawn"
        )
    tx.session.delete(row)
    tx.session.flush()
    return row
