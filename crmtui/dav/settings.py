"""The DAV account of this database: server, user, collections, what is kept in sync.

Kept in `local_meta` under "dav" (JSON), beside the links it made: both belong to this
database, and a second database on the same laptop may sync to another account.
No password is stored: `password_env` names an environment variable, or
`password_command` a command whose first output line is the password.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from crmtui.dav.client import DavError

META_KEY = "dav"


@dataclass(frozen=True)
class DavSettings:
    """Where and what this database syncs over CardDAV/CalDAV."""

    url: str
    user: str | None = None
    password_env: str | None = None
    password_command: str | None = None
    addressbook: str | None = None
    """The address book's URL (contacts are not synced when None)."""
    calendar: str | None = None
    """The calendar's URL (reminders and meetings are not synced when None)."""
    tag: str | None = None
    """Only contacts with this tag (a segment); None: every live contact on the laptop."""
    territory: str | None = None
    """Only contacts of this territory (its id); None: all the laptop holds."""
    at_sync: bool = False
    """`crm sync` runs the DAV sync too."""

    def to_json(self) -> str:
        """As stored."""
        return json.dumps(asdict(self), sort_keys=True)


def from_json(text: str) -> DavSettings:
    """Stored settings back (keys this version does not know are ignored)."""
    raw: dict[str, Any] = json.loads(text)
    known = set(DavSettings.__dataclass_fields__)
    return DavSettings(**{k: v for k, v in raw.items() if k in known})


def password(settings: DavSettings) -> str | None:
    """The password from the named environment variable or command (never stored)."""
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise DavError(f"the environment variable {settings.password_env} is not set", "auth")
        return value
    if settings.password_command:
        try:
            done = subprocess.run(
                shlex.split(settings.password_command),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise DavError(f"password_command failed: {exc}", "auth") from None
        if done.returncode != 0:
            raise DavError(
                f"password_command exited {done.returncode}: {done.stderr.strip()[:200]}", "auth"
            )
        return done.stdout.splitlines()[0] if done.stdout else ""
    return None
