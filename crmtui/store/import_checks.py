"""Field checks for bulk imports: the services' rules, with fast paths for the common case.

`email_validator` and `phonenumbers` cost ~60 and ~50 µs a call, which is most of
a 100k-row import. Plain ASCII addresses in dot-atom form are accepted by a strict
pattern whose matches `email_validator` provably accepts and normalises the same
way (local part kept, domain lowercased); anything else takes the full check.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crmtui.store.validate import InvalidInput, normalize_email

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIMPLE_EMAIL = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "ja", "oui", "si", "wahr"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "n", "nein", "non", "falsch"})


@lru_cache(maxsize=1)
def _special_use_domains() -> tuple[str, ...]:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    return tuple(SPECIAL_USE_DOMAIN_NAMES)


def check_email(raw: str) -> str:
    """The normalised address (as `normalize_email` gives it); raises InvalidInput."""
    text = raw.strip()
    m = _SIMPLE_EMAIL.fullmatch(text)
    if m and len(m.group(1)) <= 64 and len(text) <= 254:
        domain = m.group(2).lower()
        if not any(domain == d or domain.endswith("." + d) for d in _special_use_domains()):
            return f"{m.group(1)}@{domain}"
    return normalize_email(text)


def check_bool(raw: str, field: str) -> bool:
    """A yes/no cell as spreadsheets write it ("1", "true", "Yes", "x", "")."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(field, f"{raw!r} is not yes or no")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import phonenumbers
    from phonenumbers.geocoder import _region_display_name

    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        for lang in ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ru", "ja", "zh", "ko"):
            name = _region_display_name(region, lang)
            if name:
                names.setdefault(name.casefold(), region)
    names.update({"usa": "US", "u.s.a.": "US", "u.s.": "US", "uk": "GB", "england": "GB"})
    names.update({"great britain": "GB", "holland": "NL", "the netherlands": "NL"})
    return names


@lru_cache(maxsize=4096)
def check_country(raw: str) -> str:
    """An ISO 3166 alpha-2 code from a code or a country name ("Germany", "de")."""
    import phonenumbers

    text = " ".join(raw.split())
    if len(text) == 2 and text.upper() in phonenumbers.SUPPORTED_REGIONS:
        return text.upper()
    code = _country_names().get(text.casefold())
    if code is None:
        raise InvalidInput("country", f"{raw!r} is not a country name or ISO code")
    return code
