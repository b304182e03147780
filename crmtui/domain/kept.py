"""Properties we do not model, kept on a contact (`Contact.extra`) so nothing is lost.

`extra` is JSON text: {"vcard": ["X-FOO:bar", ...], "csv": {"Column": "value", ...}}.
A vCard's unknown lines are written back by the vCard export; a CSV's unknown columns
by our CSV export (the `extra` column) and shown by `crm show`.
"""

from __future__ import annotations

import json
import re
from typing import Any


def _decode(extra: str | None) -> dict[str, Any]:
    if not extra:
        return {}
    try:
        value = json.loads(extra)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def with_columns(extra: str | None, columns: dict[str, str]) -> str | None:
    """`extra` with a CSV's unknown columns merged in (a column given again takes the new value)."""
    if not columns:
        return extra
    kept = _decode(extra)
    kept["csv"] = {**kept.get("csv", {}), **columns}
    return json.dumps(kept, ensure_ascii=False)


def merged(stored: str | None, given: str | None) -> str | None:
    """Stored properties with a newer import's merged in: columns updated, vCard lines added."""
    if not given:
        return stored
    old, new = _decode(stored), _decode(given)
    out = {**old, **{k: v for k, v in new.items() if k not in ("csv", "vcard")}}
    if "csv" in old or "csv" in new:
        out["csv"] = {**old.get("csv", {}), **new.get("csv", {})}
    lines = list(old.get("vcard", []))
    lines += [line for line in new.get("vcard", []) if line not in lines]
    if lines:
        out["vcard"] = lines
    return json.dumps(out, ensure_ascii=False) if out else None


_ESCAPED = re.compile(r"\\([nN,;\\])")


def kept_lines(extra: str | None) -> list[str]:
    """The kept properties as lines a person reads ("Lead Status: Open", "X-FOO:bar")."""
    kept = _decode(extra)
    lines = [f"{column}: {value}" for column, value in kept.get("csv", {}).items()]
    # A vCard line's escaped line breaks ("\\n", a LABEL's) read as " / ", like a cell's;
    # its escaped commas and semicolons as themselves.
    for line in kept.get("vcard", []):
        lines.append(_ESCAPED.sub(lambda m: "\n" if m[1] in "nN" else m[1], str(line)))
    # A kept value of several lines (a vCard LABEL, a multi-line cell) is one line here.
    return [" / ".join(part for part in line.splitlines() if part) for line in lines]
