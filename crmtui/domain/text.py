"""Text folding and tokenising shared by the search index and the lookup path.

Both sides must fold identically, so this module is the one place that decides
what "muller" and "Müller" have in common. It imports nothing heavy.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters NFKD does not decompose into a base letter plus a mark.
_SPECIAL = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
    }
)
_TOKEN = re.compile(r"[^\W_]+")
_NON_DIGIT = re.compile(r"\D+")


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Müller' -> 'muller', 'Øre' -> 'ore'."""
    # ASCII has no accents, decompositions or special letters, and its casefold is
    # its lower(): the same result without the cache (tests/test_search_bulk.py).
    if text.isascii():
        return text.lower()
    return _fold_unicode(text)


@lru_cache(maxsize=65_536)  # names repeat a lot; bulk indexing folds ~5 texts per row
def _fold_unicode(text: str) -> str:
    """`fold` for text with non-ASCII characters."""
    text = text.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


def tokens(text: str) -> list[str]:
    """Split folded text into the word tokens the FTS index uses."""
    return _TOKEN.findall(fold(text))


def digits(text: str) -> str:
    """Keep only the digits of a phone number as typed."""
    # Most numbers are digits, spaces and a leading "+": str methods answer those
    # (isdecimal is the \d class) without the regex; the search index asks 300k times.
    plain = text.replace(" ", "")
    if plain[:1] == "+":
        plain = plain[1:]
    return plain if plain.isdecimal() else _NON_DIGIT.sub("", text)


def is_phone_query(text: str) -> bool:
    """Tell whether a query is a phone number or a part of one."""
    stripped = text.strip()
    if not stripped:
        return False
    d = digits(stripped)
    return len(d) >= 3 and all(ch.isdigit() or ch in " +-()./" for ch in stripped)


def phone_keys(e164: str | None, national: str | None = None) -> list[str]:
    """Index tokens for one phone: its digits, its national digits and the reverse.

    The reversed digits turn "the last 7 digits" into a prefix query.
    """
    keys: list[str] = []
    if e164:
        d = digits(e164)
        keys += [d, d[::-1]]
    if national:
        n = digits(national).lstrip("0")
        if n and n not in keys:
            keys.append(n)
    return keys


def query_phone_digits(text: str) -> str:
    """Digits of a phone query with international or trunk prefixes removed.

    "+49 151 12345678" -> "4915112345678"; "0049 ..." -> "49..."; "0151 1234 5678"
    -> "15112345678" (the national number, a suffix of its E.164 form).
    """
    d = digits(text)
    if d.startswith("00"):
        return d[2:]
    return d.lstrip("0")
