"""One-key dialling: the dial command for a number, and a call's length in words.

The rep's `dial_command` (config) is a command line with placeholders: `{tel}` is the
number as a `tel:` URI (RFC 3966, with `;ext=` for an extension), `{number}` the
number alone, `{sip}` a `sip:` URI (`sip:+4930123@` + nothing: the softphone adds its
own domain when the command says so, e.g. `linphonecsh dial sip:{number}@pbx.example`).
A command without a placeholder gets the `tel:` URI as its last argument. It is split
like a shell would (shlex) and run without a shell, so a number is never shell input.
"""

from __future__ import annotations

import shlex

PLACEHOLDERS = ("{tel}", "{number}", "{sip}")


class DialError(ValueError):
    """The dial command cannot be built (empty, unbalanced quotes)."""


def dial_number(number: str) -> str:
    """The number as dialled: "+" and digits only (spaces, dashes and brackets dropped)."""
    text = number.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return f"+{digits}" if text.startswith("+") else digits


def tel_uri(number: str, extension: str | None = None) -> str:
    """A `tel:` URI for a number (and its extension)."""
    return f"tel:{dial_number(number)}" + (f";ext={extension}" if extension else "")


def dial_argv(template: str, number: str, extension: str | None = None) -> list[str]:
    """The command line to run for `number`, from the configured template."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise DialError(f"dial_command cannot be read: {exc}") from None
    if not words:
        raise DialError("dial_command is empty")
    plain = dial_number(number)
    values = {"{tel}": tel_uri(number, extension), "{number}": plain, "{sip}": f"sip:{plain}"}
    if not any(p in template for p in PLACEHOLDERS):
        words.append("{tel}")
    out = []
    for word in words:
        filled = word
        for key, value in values.items():
            filled = filled.replace(key, value)
        out.append(filled)
    return out


def call_length(seconds: float) -> str:
    """A running call's length: "0:42", "12:05", "1:02:03"."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
