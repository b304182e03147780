"""Reading vCard 2.1, 3.0 and 4.0 content lines as producers really write them.

vobject reads the standard well but not what phones and old Outlook write, so
import reads the lines itself:

- line ends CR LF, LF, CR and CR CR LF (some Windows tools); folded lines (a
  leading space or tab), and 2.1 quoted-printable soft breaks ("=" at the end);
- 2.1 parameters without a name (TEL;WORK;FAX), 3.0/4.0 TYPE lists, quoted
  parameter values; group prefixes (item1.TEL) are kept apart from the name;
- quoted-printable values in their CHARSET; base64 data (PHOTO, LOGO, SOUND,
  KEY), including 2.1 blocks whose lines are not folded, is skipped whole;
- text values keep their commas: only the structured properties (N, ADR, ORG)
  are split, on unescaped semicolons, and CATEGORIES on unescaped commas. A 2.1
  "FN:Doe, Jane" or "TITLE:VP, Sales" is what it says.
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass, field

BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPED = {"n": "\n", "N": "\n"}


class CardSyntaxError(ValueError):
    """A line of a card cannot be read; the message names it."""


@dataclass
class Prop:
    """One property: its group, name, parameters and decoded value (still escaped)."""

    group: str | None
    name: str
    params: dict[str, list[str]] = field(default_factory=dict)
    value: str = ""

    @property
    def types(self) -> set[str]:
        """TYPE values upper-cased (2.1 bare parameters included); PREF=1 counts as PREF."""
        out = {t.upper() for t in self.params.get("TYPE", [])}
        if self.params.get("PREF"):
            out.add("PREF")
        return out


def unescape(text: str) -> str:
    """A text value with vCard escapes (\\, \\; \\n \\\\) resolved."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), text)


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is not escaped, then unescape each part."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append(unescape("".join(current)))
    return parts


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _colon(line: str) -> int:
    """The index of the colon ending the name and parameters (outside quotes), or -1."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return i
    return -1


def _head(head: str) -> tuple[str | None, str, dict[str, list[str]]]:
    parts = _split_outside_quotes(head, ";")
    group, _, name = parts[0].rpartition(".")
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq:  # 2.1: TEL;WORK;FAX, ADR;QUOTED-PRINTABLE
            bare = key.strip().upper()
            kind = "ENCODING" if bare in ("QUOTED-PRINTABLE", "BASE64", "B", "8BIT") else "TYPE"
            params.setdefault(kind, []).append(bare)
            continue
        values = [v.strip().strip('"') for v in _split_outside_quotes(value, ",")]
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    return group or None, name.strip().upper(), params


def is_quoted_printable(params: dict[str, list[str]]) -> bool:
    """Whether a property's value was quoted-printable (2.1), decoded when read."""
    return any(e.upper() == "QUOTED-PRINTABLE" for e in params.get("ENCODING", []))


def _is_base64(params: dict[str, list[str]]) -> bool:
    return any(e.upper() in ("B", "BASE64") for e in params.get("ENCODING", []))


def _decode_qp(value: str, params: dict[str, list[str]]) -> str:
    raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """The card's unfolded lines with their line numbers (relative to the card's first)."""
    text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    out: list[tuple[int, str]] = []
    in_base64 = False
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            in_base64 = False  # a 2.1 base64 block ends at an empty line
            continue
        if line[0] in " \t" and out:
            n, prev = out[-1]
            out[-1] = (n, prev + line[1:])
            continue
        if out and out[-1][1].endswith("=") and _qp_line(out[-1][1]):
            n, prev = out[-1]
            out[-1] = (n, prev[:-1] + line)
            continue
        if in_base64 and _BASE64_LINE.fullmatch(line.strip()):
            n, prev = out[-1]
            out[-1] = (n, prev + line.strip())
            continue
        in_base64 = False
        out.append((number, line))
        colon = _colon(line)
        if colon > 0 and "BASE64" in line[:colon].upper():
            in_base64 = True
    return out


def _qp_line(line: str) -> bool:
    colon = _colon(line)
    return colon > 0 and "QUOTED-PRINTABLE" in line[:colon].upper()


def read_props(text: str, first_line: int = 1) -> list[Prop]:
    """The properties of one card's text (BEGIN/END included); raises CardSyntaxError."""
    props: list[Prop] = []
    for number, line in logical_lines(text):
        colon = _colon(line)
        if colon <= 0:
            where = first_line + number - 1
            raise CardSyntaxError(f"line {where}: no colon in {line[:40]!r}")
        group, name, params = _head(line[:colon])
        value = line[colon + 1 :]
        if name in BINARY and (_is_base64(params) or value.startswith("data:")):
            value = ""  # the data itself is not kept (see the module docstring)
        elif is_quoted_printable(params):
            value = _decode_qp(value, params)
        props.append(Prop(group, name, params, value))
    return props
