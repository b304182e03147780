"""An RFC 822 (RFC 5322 + MIME) message read for the timeline: who, when, what, which files.

Only the standard library's `email` package: headers with RFC 2047 encoded words
are decoded, bodies in any charset Python knows (quoted-printable or base64) are
turned into text, an HTML-only message is converted to plain text, and
attachments are named, never stored. A charset Python does not know is read as
Latin-1 with a note rather than refused: the words are kept, a few letters may
be wrong.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from crmtui.domain.mail import Address, MailMessage, normal_address

MAX_MESSAGE_BYTES = 50 * 1024 * 1024


class MailFormatError(ValueError):
    """The input is not a mail message we can read."""


def _addresses(msg: Message, name: str) -> list[Address]:
    values = [str(v) for v in msg.get_all(name, [])]
    found: list[Address] = []
    for display, addr in getaddresses(values):
        if "@" in addr:
            found.append(Address(" ".join(display.split()), normal_address(addr)))
    return found


def _date(msg: Message, notes: list[str]) -> datetime | None:
    raw = msg.get("Date")
    if raw is None:
        return None
    try:
        moment = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError, IndexError):
        notes.append(f"unreadable Date header {str(raw)!r}")
        return None
    if moment.tzinfo is None:
        # RFC 5322's "-0000": the zone is unknown; UTC is the honest reading.
        notes.append("the Date header has no time zone; read as UTC")
        moment = moment.replace(tzinfo=UTC)
    return moment


def _part_text(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        notes.append(f"unknown charset {charset!r}, read as Latin-1")
        return payload.decode("latin-1")


class _TextFromHTML(HTMLParser):
    """HTML to plain text: block elements break lines, scripts and styles vanish."""

    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (whitespace folded, paragraphs kept)."""
    parser = _TextFromHTML()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _body_and_files(msg: Message, notes: list[str]) -> tuple[str, list[str]]:
    plain: str | None = None
    html: str | None = None
    files: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        ctype = part.get_content_type()
        if filename or disposition == "attachment":
            files.append(str(filename) if filename else f"unnamed {ctype}")
            continue
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part, notes)
        elif ctype == "text/html" and html is None:
            html = _part_text(part, notes)
        elif not ctype.startswith(("text/", "message/", "multipart/")):
            files.append(f"unnamed {ctype}")
    if plain is not None and plain.strip():
        return plain, files
    if html is not None:
        return html_to_text(html), files
    return plain or "", files


def parse_message(data: bytes) -> MailMessage:
    """Read one message from its bytes; raises MailFormatError when it is not one."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MailFormatError(f"message is larger than {MAX_MESSAGE_BYTES // 1024 // 1024} MB")
    if data.startswith(b"From ") and b"\n" in data:
        data = data.split(b"\n", 1)[1]  # an mbox "From " line (mutt's pipe may send one)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    if not any(msg.get(h) for h in ("From", "To", "Cc", "Subject", "Date", "Message-ID")):
        raise MailFormatError("no mail headers (From, To, Subject, Date ...) found")
    notes: list[str] = []
    if msg.defects:
        notes.extend(type(d).__name__ for d in msg.defects[:3])
    try:
        subject = " ".join(str(msg.get("Subject", "")).split())
    except (ValueError, LookupError):
        subject = ""
    raw_id = msg.get("Message-ID")
    message_id = str(raw_id).strip() if raw_id else None
    body, files = _body_and_files(msg, notes)
    return MailMessage(
        message_id=message_id or None,
        subject=subject,
        date=_date(msg, notes),
        sender=_addresses(msg, "From"),
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        body=body,
        attachments=files,
        notes=notes,
    )
