"""`crm mail scan`: log the messages of one Maildir folder that are to or from known contacts.

Only the folder the rep names (its `cur/` and `new/`), never its subfolders or
the rest of the mailbox. Each message is one write transaction; a message
already logged (by Message-ID, per contact) is skipped, so scanning again logs
nothing new. Messages are read, never moved or flagged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from crmtui.formats.mail_message import MailFormatError, parse_message
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.mail_log import log_mail, route
from crmtui.store.database import Store


class NotAMaildir(ValueError):
    """The folder named is not a Maildir folder."""


@dataclass
class ScanReport:
    """What a scan did."""

    messages: int = 0
    logged: int = 0
    already: int = 0
    unknown: int = 0
    unreadable: list[str] = field(default_factory=list)
    unknown_addresses: Counter[str] = field(default_factory=Counter)


def maildir_files(folder: Path) -> list[Path]:
    """The message files of one Maildir folder (`cur/` and `new/`), oldest name first."""
    if not folder.is_dir():
        raise NotAMaildir(f"{folder}: no such folder")
    if not ((folder / "cur").is_dir() or (folder / "new").is_dir()):
        raise NotAMaildir(
            f"{folder}: not a Maildir folder (it has no cur/ or new/); name the folder itself, "
            "e.g. ~/Mail/work/INBOX"
        )
    files = [
        p
        for sub in ("new", "cur")
        if (folder / sub).is_dir()
        for p in (folder / sub).iterdir()
        if p.is_file() and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: p.name)


def scan_folder(
    store: Store,
    folder: Path,
    *,
    mine: tuple[str, ...],
    cap: CallCap,
    rep_name: str | None,
) -> ScanReport:
    """Log every message of `folder` to or from a known contact (once each)."""
    report = ScanReport()
    for path in maildir_files(folder):
        report.messages += 1
        try:
            message = parse_message(path.read_bytes())
        except (OSError, MailFormatError) as exc:
            report.unreadable.append(f"{path.name}: {exc}")
            continue
        with store.write() as tx:
            where = route(tx.db, message, mine)
            known = [o.contact_id for a in where.counterparts for o in where.known[a.addr.lower()]]
            for address in where.unknown():
                report.unknown_addresses[address.addr] += 1
            if not known:
                report.unknown += 1
                continue
            logged = log_mail(
                tx=tx,
                message=message,
                direction=where.direction,
                contact_ids=known,
                cap=cap,
                rep_name=rep_name,
            )
        if logged:
            report.logged += len(logged)
        else:
            report.already += 1
    return report
