"""Field checks for bulk imports: the services' rules, with fast paths for the common case.

`email_validator` and `phonenumbers` cost ~60 and ~50 µs a call, which is most of
a 100k-row import. Plain ASCII addresses in dot-atom form are accepted by a strict
pattern whose matches `email_validator` provably accepts and normalises the same
way (local part kept, or lowercased for a role mailbox such as "Info"; domain
lowercased). Internationalised local parts ("zoë.12") take the same path when they
are NFC already and made of characters email_validator's safety check accepts;
anything else takes the full check (tests/test_import_emails.py compares them).
Phones written as digits and single spaces (with or without a leading "+") take
`_fast_e164`, which follows `phonenumbers.parse` step by step for that shape and
calls phonenumbers' own functions for every decision that depends on the digits
(IDD and national prefixes, country codes, lengths); anything it is not sure of
goes to `normalize_phone` (tests/test_import_phones.py compares the two).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from crmtui.domain.validate import InvalidInput, Phone, normalize_email, normalize_phone

# An atom of ASCII atext, or (RFC 6531) also any non-ASCII character: email_validator's
# DOT_ATOM_TEXT and DOT_ATOM_TEXT_INTL. An all-ASCII match is the plain RFC 5322 form.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010FFFF-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "ja", "oui", "si", "wahr"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "n", "nein", "non", "falsch"})


@lru_cache(maxsize=1)
def _role_mailboxes() -> frozenset[str]:
    """Local parts email_validator lowercases when ASCII (RFC 2142 role mailboxes)."""
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    return frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@lru_cache(maxsize=1)
def _special_use_domains() -> tuple[str, ...]:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    return tuple(SPECIAL_USE_DOMAIN_NAMES)


def check_email(raw: str) -> str:
    """The normalised address (as `normalize_email` gives it); raises InvalidInput."""
    text = raw.strip()
    m = _EMAIL.fullmatch(text)
    # Lengths as email_validator counts them (UTF-8 bytes of the whole address); a lone
    # surrogate counts 3 and fails `_safe_intl_local`, leaving it to email_validator.
    if m is not None and len(m.group(1)) <= 64 and len(text.encode(errors="surrogatepass")) <= 254:
        local = m.group(1)
        if local.isascii():
            if local.lower() in _role_mailboxes():
                local = local.lower()
        elif not _safe_intl_local(local):
            return normalize_email(text)
        domain = m.group(2).lower()
        # "--" in a label's third and fourth places is IDNA's (xn--) and refused
        # otherwise: any "--" goes to email_validator, which knows the rules.
        if "--" not in domain and _ordinary_domain(domain):
            return f"{local}@{domain}"
    return normalize_email(text)


@lru_cache(maxsize=4096)  # an import's addresses share a few domains
def _ordinary_domain(domain: str) -> bool:
    """Whether a domain is outside the special-use names email_validator refuses."""
    return not any(domain == d or domain.endswith("." + d) for d in _special_use_domains())


def _safe_intl_local(local: str) -> bool:
    """Whether email_validator keeps this internationalised dot-atom local part as it is.

    It does when the text is NFC already (it returns the NFC form) and every
    character is one its `check_unsafe_chars` accepts: a letter, number,
    punctuation or symbol, or a combining mark that is not the first character.
    """
    if not unicodedata.is_normalized("NFC", local):
        return False
    for i, ch in enumerate(local):
        if ch.isascii():
            continue
        kind = unicodedata.category(ch)[0]
        if kind not in "LNPS" and not (kind == "M" and i > 0):
            return False
    return True


def check_bool(raw: str, field: str) -> bool:
    """A yes/no cell as spreadsheets write it ("1", "true", "Yes", "x", "")."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(field, f"{raw!r} is not yes or no")


@lru_cache(maxsize=1)
def phonenumbers_country_names() -> dict[str, str]:
    """Country display names phonenumbers knows (13 languages), casefolded, to ISO codes."""
    import phonenumbers
    from phonenumbers.geocoder import _region_display_name

    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        for lang in ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ru", "ja", "zh", "ko"):
            name = _region_display_name(region, lang)
            if name:
                names.setdefault(name.casefold(), region)
    return names


def check_country(raw: str) -> str | None:
    """An ISO 3166 alpha-2 code from a code or a country name, or None when unrecognised."""
    from crmtui.formats.countries import country_code

    return country_code(raw)


_SIMPLE_PHONE = re.compile(r"\+?[0-9]+(?: [0-9]+)*")
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN


_PHONENUMBERS: list[Any] = []


def _pu() -> Any:
    """phonenumbers' parsing module (imported on first use; its private helpers are untyped)."""
    if not _PHONENUMBERS:
        from phonenumbers import phonenumberutil

        _PHONENUMBERS.append(phonenumberutil)
    return _PHONENUMBERS[0]


@lru_cache(maxsize=256)
def _region_rules(region: str) -> tuple[Any, Any, str] | None:
    """A region's metadata, compiled IDD prefix pattern and country code (None: unknown)."""
    pu = _pu()
    metadata = pu.PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.international_prefix is None:
        return None
    return metadata, pu.re_compile(metadata.international_prefix), str(metadata.country_code)


_LENGTH_VERDICTS: dict[tuple[int, int], tuple[Any, Any]] = {}


def _length_verdict(number: str, metadata: Any) -> Any:
    """`_test_number_length(number, metadata)` for any type, remembered per length.

    It reads nothing of the number but its length, so (length, metadata) decides
    the verdict; metadata objects are unhashable singletons, kept alive in the value
    so their id cannot be reused.
    """
    key = (len(number), id(metadata))
    hit = _LENGTH_VERDICTS.get(key)
    if hit is None or hit[0] is not metadata:
        hit = _LENGTH_VERDICTS[key] = (metadata, _pu()._test_number_length(number, metadata))
    return hit[1]


_STRIP_RULES: dict[int, tuple[Any, Any, Any, str | None]] = {}


def _strip_rules(metadata: Any) -> tuple[Any, Any, str | None]:
    """A metadata's national prefix pattern, general number pattern (compiled; None when
    absent) and prefix transform rule, kept per metadata object as `_length_verdict` does."""
    hit = _STRIP_RULES.get(id(metadata))
    if hit is None or hit[0] is not metadata:
        prefix = metadata.national_prefix_for_parsing
        desc = metadata.general_desc
        general = desc.national_number_pattern if desc is not None else None
        hit = _STRIP_RULES[id(metadata)] = (
            metadata,
            re.compile(prefix) if prefix else None,
            re.compile(general) if general else None,
            metadata.national_prefix_transform_rule or None,
        )
    return hit[1], hit[2], hit[3]


def national_candidate(number: str, metadata: Any) -> str | None:
    """The number `_maybe_strip_national_prefix_carrier_code(number, metadata)` gives back.

    The same steps as phonenumbers (version 8/9) with the metadata's patterns compiled
    once, rather than looked up in `re`'s cache three times a call: its
    `_match_national_number(n, desc, False)` is a full match of the general pattern.
    None for the one shape phonenumbers itself fails on (a transform rule and a prefix
    pattern without groups); tests/test_import_phones.py compares the two.
    """
    prefix, general, transform = _strip_rules(metadata)
    if not number or prefix is None:
        return number
    found = prefix.match(number)
    if found is None:
        return number
    viable = general is not None and general.fullmatch(number) is not None
    groups = found.groups()
    if transform is None or (groups and groups[-1] is None):
        stripped = number[found.end() :]
        if viable and not (general is not None and general.fullmatch(stripped) is not None):
            return number
        return stripped
    if not groups:
        return None
    transformed = prefix.sub(transform, number, count=1)
    if viable and general.fullmatch(transformed) is None:
        return number
    return transformed


@lru_cache(maxsize=512)
def _code_metadata(code: int) -> Any:
    """The metadata of a country calling code's main region."""
    pu = _pu()
    return pu.PhoneMetadata.metadata_for_region_or_calling_code(
        code, pu.region_code_for_country_code(code)
    )


@lru_cache(maxsize=1)
def _verdicts() -> tuple[frozenset[Any], frozenset[Any]]:
    """The length verdicts after which parse keeps the national prefix, and the possible ones."""
    result = _pu().ValidationResult
    return (
        frozenset({result.TOO_SHORT, result.IS_POSSIBLE_LOCAL_ONLY, result.INVALID_LENGTH}),
        frozenset({result.IS_POSSIBLE, result.IS_POSSIBLE_LOCAL_ONLY}),
    )


def _fast_e164(typed: str, region: str) -> str | None:
    """The E.164 form `normalize_phone` gives for a digits-and-spaces number, or None.

    None means "not sure": the caller takes the full path, which also makes every
    error message. The steps mirror `phonenumbers.parse` (version 8/9) for this
    shape, where building the national number, the viability check and the
    extension search leave the text as it is and normalising means dropping spaces.
    """
    pu = _pu()
    if len(typed) > 250 or not _SIMPLE_PHONE.fullmatch(typed):
        return None
    rules = _region_rules(region)
    if rules is None:
        return None
    metadata, idd, own_code = rules
    digits = typed.replace(" ", "")
    if digits[0] == "+":
        stripped, digits = True, digits[1:]
    elif idd.match(digits) is None:
        stripped = False  # what `_parse_prefix_as_idd` answers without an IDD prefix
    else:
        stripped, digits = pu._parse_prefix_as_idd(idd, digits)
    if stripped:
        if len(digits) <= _MIN_NSN:
            return None
        code, national = pu._extract_country_code(digits)
        if code == 0:
            return None  # parse retries and may still fail: let it decide
        number_region = pu.region_code_for_country_code(code)
        if number_region != region:
            metadata = pu.PhoneMetadata.metadata_for_region_or_calling_code(code, number_region)
    elif digits.startswith(own_code):
        return None  # "49 30 ..." in DE: parse weighs the national patterns; not here
    else:
        code, national = metadata.country_code, digits
    if len(national) < _MIN_NSN or metadata is None:
        return None
    candidate = national_candidate(national, metadata)
    if candidate is None:
        return None
    too_short_to_strip, possible_lengths = _verdicts()
    if _length_verdict(candidate, metadata) not in too_short_to_strip:
        national = candidate
    if not _MIN_NSN <= len(national) <= _MAX_NSN or len(national.lstrip("0") or "0") < 5:
        return None
    # With its Italian leading zeros, the national significant number is `national`.
    if _length_verdict(national, _code_metadata(code)) not in possible_lengths:
        return None
    return f"+{code}{national}"


def check_phone(raw: str, region: str, field: str = "phone") -> Phone:
    """`normalize_phone(raw, region=region, field=field)`, mostly without its cost."""
    typed = raw.strip()
    e164 = _fast_e164(typed, region.upper()) if typed else None
    if e164 is not None:
        return Phone(typed, e164)
    return normalize_phone(raw, region=region, field=field)
