"""Country names and codes as real files write them, through pycountry (ISO 3166-1).

A value is looked up, folded (case, accents, punctuation), among: ISO alpha-2 and
alpha-3 codes, pycountry's name, official and common names ("Korea, Republic of",
"United States of America", "Czechia", "Türkiye", "Viet Nam"), their translations
in the languages pycountry ships for the languages our users write in
("Deutschland", "Allemagne", "Alemania"), the names phonenumbers knows, and a
few colloquial forms ("USA", "UK", "Holland", "South Korea"). `None` means
unrecognised: the import keeps the text and warns, it never rejects the row.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crmtui.domain.text import fold

# Languages whose country names are accepted (pycountry's gettext catalogues).
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "cs", "tr",
             "ru", "ja", "zh_CN", "ko", "el", "hu", "ro")  # fmt: skip
_COLLOQUIAL = {
    "usa": "US", "u s a": "US", "u s": "US", "us of a": "US", "america": "US",
    "united states": "US", "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "holland": "NL", "the netherlands": "NL", "south korea": "KR", "korea": "KR",
    "north korea": "KP", "russia": "RU", "vietnam": "VN", "czech republic": "CZ",
    "turkey": "TR", "turkiye": "TR", "ivory coast": "CI", "macedonia": "MK",
    "swaziland": "SZ", "burma": "MM", "persia": "IR", "iran": "IR", "syria": "SY",
    "laos": "LA", "moldova": "MD", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "taiwan": "TW", "uae": "AE", "emirates": "AE", "vatican": "VA", "palestine": "PS",
}  # fmt: skip
_PUNCT = re.compile(r"[^\w]+")


def _key(text: str) -> str:
    """Folded, punctuation as single spaces: "Korea, Republic of" -> "korea republic of"."""
    return " ".join(_PUNCT.sub(" ", fold(text)).split())


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    import gettext

    import pycountry

    names: dict[str, str] = {}
    catalogues = []
    for lang in LANGUAGES:
        try:
            catalogues.append(
                gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
            )
        except OSError:
            continue  # a pycountry without this catalogue: that language's names are skipped
    for country in pycountry.countries:
        code = country.alpha_2
        english = [
            getattr(country, attr, None) for attr in ("name", "official_name", "common_name")
        ]
        for name in english:
            if name:
                names.setdefault(_key(name), code)
                for catalogue in catalogues:
                    names.setdefault(_key(catalogue.gettext(name)), code)
        names[country.alpha_3.lower()] = code
    for key, code in _COLLOQUIAL.items():
        names.setdefault(key, code)
    for country in pycountry.countries:
        names[country.alpha_2.lower()] = country.alpha_2  # a code always means itself
    return names


@lru_cache(maxsize=1)
def _more_names() -> dict[str, str]:
    """phonenumbers' display names, read only for a name `_table` lacks: importing its
    geocoder data takes seconds (most files name their countries the usual way)."""
    from crmtui.formats.import_checks import phonenumbers_country_names

    return {_key(name): code for name, code in reversed(phonenumbers_country_names().items())}


@lru_cache(maxsize=4096)
def country_code(raw: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code, or None when unrecognised."""
    key = _key(raw)
    if not key:
        return None
    # `_table` first: its names win over phonenumbers' (and every alpha-2 code is in it).
    return _table().get(key) or _more_names().get(key)
