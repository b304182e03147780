"""The `[mail]` table of the config file: the rep's addresses, SMTP or sendmail, scans.

No password is ever stored here or in the database: `password_env` names an
environment variable, or `password_command` a command whose first output line
is the password (`pass show mail/work`, `secret-tool lookup ...`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class MailSettings:
    """How this rep's mail is read and sent; every field has a default."""

    addresses: tuple[str, ...] = ()
    """The rep's own addresses: a message from one of them is outgoing, else incoming."""
    from_address: str | None = None
    """The sender of mail written here (default: the first of `addresses`)."""
    from_name: str | None = None
    """The sender's display name (default: `rep_name`)."""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    """starttls (port 587), tls (implicit TLS, port 465) or none (a local relay only)."""
    smtp_user: str | None = None
    smtp_cafile: str | None = None
    """A CA certificate file to trust for the server (a company CA); default: the system's."""
    password_env: str | None = None
    """Name of the environment variable holding the SMTP password."""
    password_command: str | None = None
    """A command printing the SMTP password (its first line), run at send time."""
    sendmail_command: str | None = None
    """A local sendmail-compatible command instead of SMTP, e.g. "msmtp -t" or "sendmail -t -oi"."""
    scan_folders: tuple[str, ...] = ()
    """Maildir folders `crm mail scan` reads when none is named (and at sync, with `at_sync`)."""
    at_sync: bool = False
    """`crm sync` also sends the outbox and scans `scan_folders`."""
    templates_dir: str | None = None
    """Where mail templates live (default: `templates` beside the config file)."""

    @property
    def sender(self) -> str | None:
        """The address mail is sent from."""
        return self.from_address or (self.addresses[0] if self.addresses else None)


def mail_settings(raw: Any, where: str) -> MailSettings:
    """Check and build the `[mail]` table; raises ValueError naming the bad key."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: [mail] must be a table")
    known = {f.name for f in fields(MailSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{where}: unknown [mail] setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in ("addresses", "scan_folders"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{where}: mail.{name} must be a list of text, not {value!r}")
            values[name] = tuple(v.strip() for v in value if v.strip())
            continue
        if name == "smtp_port":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
                raise ValueError(f"{where}: mail.smtp_port must be a port number, not {value!r}")
        elif name == "at_sync":
            if not isinstance(value, bool):
                raise ValueError(f"{where}: mail.at_sync must be true or false, not {value!r}")
        elif not isinstance(value, str):
            raise ValueError(f"{where}: mail.{name} must be text, not {value!r}")
        if name == "smtp_security" and value not in SECURITY:
            raise ValueError(f"{where}: mail.smtp_security must be one of {', '.join(SECURITY)}")
        values[name] = value
    return MailSettings(**values)
