"""A mail message as the timeline sees it: addresses, subject, date, body, files named.

Pure values and rules (no parsing: `crmtui.formats.mail_message` reads the bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

EXCERPT_CHARS = 1500
"""How much of the body goes on the activity: the first part, not the thread below it."""


@dataclass(frozen=True)
class Address:
    """One mailbox: display name (may be empty) and address (lower-cased domain)."""

    name: str
    addr: str

    def __str__(self) -> str:
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass
class MailMessage:
    """What the timeline needs from a message."""

    message_id: str | None
    subject: str
    date: datetime | None
    sender: list[Address]
    to: list[Address]
    cc: list[Address]
    body: str
    attachments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was read approximately (an unknown charset, a date without a zone)."""

    def everyone(self) -> list[Address]:
        """From, To and Cc in that order."""
        return [*self.sender, *self.to, *self.cc]

    def excerpt(self, limit: int = EXCERPT_CHARS) -> str:
        """The first part of the body: above the quoted thread and the signature, at most `limit`."""
        return first_part(self.body, limit)


def normal_address(addr: str) -> str:
    """An address as compared: trimmed, domain lower-cased (the local part keeps its case)."""
    local, at, domain = addr.strip().strip("<>").rpartition("@")
    return f"{local}@{domain.lower()}" if at else addr.strip()


_QUOTE_HEAD = re.compile(
    r"^(On .+ wrote:|Am .+ schrieb .+:|Le .+ a écrit ?:|-+ ?Original Message ?-+)$"
)


def first_part(body: str, limit: int = EXCERPT_CHARS) -> str:
    """The text above the quoted thread and the signature, cut at `limit` characters."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped == "--" or line == "-- " or stripped.startswith(">"):
            break
        if _QUOTE_HEAD.match(stripped):
            break
        kept.append(line.rstrip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if not text:  # a reply written under the quote: keep the start of it all
        text = body.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
