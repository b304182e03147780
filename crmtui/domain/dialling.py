"""One-key dialling: the configured dial command filled with a phone number, and call lengths.

The command is the user's (`dial_command` in the config): a `tel:` handler
(`xdg-open {uri}`, `open {uri}` on macOS; `{tel}` is the same URI), a softphone's command line
(`linphonec -c "call {number}"`, `baresip -e "/dial {number}"`) or a SIP URI
(`linphonecsh dial {sip}@pbx.example`). It is
split into words first and the placeholders are filled inside each word, and it is
run without a shell, so a number read from an imported file can never become a
second command. Numbers hold only digits and a leading `+` once cleaned.
"""

from __future__ import annotations

import re
import shlex

PLACEHOLDERS = ("{number}", "{uri}", "{tel}", "{sip}", "{digits}", "{ext}")
NUMBER_PLACEHOLDERS = PLACEHOLDERS[:-1]
"""The ones that carry the number: a command must hold one of them."""
_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
_DIALLABLE = re.compile(r"\+?[0-9]{3,20}")
_EXTENSION = re.compile(r"[0-9]{1,10}")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))


class DialError(ValueError):
    """The command or the number cannot be dialled; the message says which and why."""


def check_dial_command(template: str) -> list[str]:
    """The command's words; raises DialError when it cannot be split or names no number."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise DialError(f"dial_command cannot be read ({exc})") from None
    if not words:
        raise DialError("dial_command is empty")
    if not any(p in w for w in words for p in NUMBER_PLACEHOLDERS):
        raise DialError(
            "dial_command must hold {number}, {uri}, {tel}, {sip} or {digits} (the number to call)"
        )
    return words


def clean_number(number: str) -> str:
    """The number with its separators taken out; raises DialError if it is not diallable."""
    cleaned = _SEPARATORS.sub("", number.strip())
    if not _DIALLABLE.fullmatch(cleaned):
        raise DialError(f"{number!r} is not a number a phone can dial")
    return cleaned


def dial_argv(template: str, number: str, extension: str | None = None) -> list[str]:
    """The command line that dials `number` (its extension, when it has one, in {uri} and {ext})."""
    words = check_dial_command(template)
    cleaned = clean_number(number)
    ext = (extension or "").strip()
    if ext and not _EXTENSION.fullmatch(ext):
        raise DialError(f"extension {extension!r} is not digits")
    values: dict[str, str] = {
        "{number}": cleaned,
        "{digits}": cleaned.lstrip("+"),
        "{uri}": f"tel:{cleaned}" + (f";ext={ext}" if ext else ""),
        "{ext}": ext,
        "{sip}": f"sip:{cleaned}",
    }
    values["{tel}"] = values["{uri}"]  # the name some tel: handlers' docs use
    # One pass per word: a filled-in value is never read again as a placeholder.
    return [_PLACEHOLDER.sub(lambda m: values[m.group(0)], word) for word in words]


def call_length(seconds: float) -> str:
    """A call's length as a rep reads it: "45 s", "4 min 05 s", "1 h 02 min"."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def timer_text(seconds: float) -> str:
    """A running call timer: "04:05", "1:02:03"."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
