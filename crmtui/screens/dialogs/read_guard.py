"""The stale-read guard of the edit forms: a save never overwrites a change it did not see.

A form starts from values a card read earlier. If another write (a sync, the CLI, an
undo, another screen) changed a field since, saving the form's value for that field
would overwrite the newer one without anybody noticing. So inside the save's own write
transaction the form reads the record again, in the same shape it was read in, and
refuses, writing nothing, when a field it is about to change holds something else
now. Fields the form does not change are not written, so their newer values stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def changed_since(
    read: Mapping[str, Any], stored: Mapping[str, Any], fields: Iterable[str]
) -> str | None:
    """The first of `fields` whose stored value is no longer what the form read, else None."""
    for name in fields:
        if read.get(name) != stored.get(name):
            return name
    return None


def changed_since_message(now: Any) -> str:
    """The refusal (after the field's label): what the field holds now, and what to do."""
    shown = "blank" if now in ("", None) else repr(now) if isinstance(now, str) else str(now)
    return (
        f"changed since this form was opened (now {shown}); nothing was saved. "
        "Esc, then edit again to start from the stored values"
    )
