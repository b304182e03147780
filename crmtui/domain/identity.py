"""Who is who: the one rule deciding whether two contact records are one person.

`judge` is the one rule. Stored contacts are read as `Who` over all their items by
`crmtui.services.address_book.people` (`stored_whos`, `identity_matches`), which CSV and vCard
import (`csv_import.plan_records`), `crm dedupe scan` and the new-contact duplicate
warning (`dedupe.compare`), and lead conversion (`leads.conversion_matches`) use.

- Strong keys decide: the external id (a source CRM's id, or a vCard's UID), the
  source UID, then any of the record's email addresses (every email item, not
  only the primary). The same strong key is the same person; a *different* value
  of the same strong key (two external ids, emails with none in common) is two
  people, whatever else they share.
- A phone number, compared with its extension, plus a name that agrees is
  evidence: a *weak* match, which never changes the stored person's name or
  strong keys.
- A shared phone (a switchboard), a shared company or a similar name alone never
  makes two records one.

Names agree when, after folding accents and typographic variants (’ and ',
dots, salutations), the family names are equal and every given name equals or
abbreviates the other's ("J." / "John", "Rob" / "Robert").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from crmtui.domain.text import fold

SAME = "same"  # a strong key agrees
EVIDENCE = "evidence"  # phone (with extension) and name agree, no strong key conflicts
DIFFERENT = "different"  # a strong key conflicts: two people
NONE = "none"  # nothing that makes them one

SALUTATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "herr",
        "frau",
        "fr",
        "hr",
        "dipl",
        "ing",
        "mag",
        "sr",
        "sra",
        "srta",
        "m",
        "mme",
        "mlle",
        "sig",
        "sig.ra",
        "dott",
    ]
)
# Apostrophes and quotes that producers type for "'" (O’Brien, Oʼ Neil, D`Angelo).
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018\u02bc\u02bb`\u00b4\u2032"})
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# An extension at the end of a typed number: "ext. 12", "x12", "#12", ";ext=12", "Durchwahl 12".
_EXTENSION = re.compile(
    r"(?:;\s*ext=|\b(?:ext|extn|extension|durchwahl|dw|poste|int)\.?\s*:?|\s[x#]\.?\s*|x)\s*(\d{1,7})\s*$",
    re.IGNORECASE,
)


_VARIANTS = (
    ("ue", "u"),
    ("oe", "o"),
    ("ae", "a"),
    ("ss", "s"),
    ("ph", "f"),
    ("dt", "t"),
    ("th", "t"),
)
_DOUBLES = re.compile(r"(.)\1+")


def spelling(word: str) -> str:
    """A folded name word with common spelling variants collapsed (Mueller/Müller, Schmitt/Schmidt)."""
    for variant, plain in _VARIANTS:
        word = word.replace(variant, plain)
    return _DOUBLES.sub(r"\1", word)


def name_words(name: str) -> list[str]:
    """Folded name words without salutations, dots or typographic variants."""
    text = name.translate(_APOSTROPHES).translate(_DASHES)
    return [w for w in _WORD.findall(fold(text)) if w not in SALUTATIONS]


@lru_cache(maxsize=65_536)
def name_keys(name: str) -> tuple[str, frozenset[str]]:
    """A name's last spelled word and all of them: `names_agree(a, b)` needs
    `name_keys(b)[0] in name_keys(a)[1]`, so records sharing a switchboard can be
    looked up by family word instead of compared one by one."""
    words = [spelling(w) for w in name_words(name)]
    return (words[-1] if words else ""), frozenset(words)


@lru_cache(maxsize=65_536)
def names_agree(a: str, b: str) -> bool:
    """Whether two names can be one person's ("Mr J. Smith" / "John Smith", O’Brien / O'Brien)."""
    wa, wb = [spelling(w) for w in name_words(a)], [spelling(w) for w in name_words(b)]
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    if wa[-1] == wb[-1] and (len(wa) == 1 or len(wb) == 1):
        return True  # a family name alone ("Schmidt", "M. Schmidt": M. is Monsieur)
    if len(wa) < 2 or len(wb) < 2 or wa[-1] != wb[-1]:
        return sorted(wa) == sorted(wb)  # "Smith John" from a family-first export
    ga, gb = wa[:-1], wb[:-1]
    if len(ga) != len(gb):
        # A middle name or initial on one side only: the first given names decide.
        ga, gb = ga[:1], gb[:1]
    return all(x.startswith(y) or y.startswith(x) for x, y in zip(ga, gb, strict=True))


def extension(typed: str | None) -> str | None:
    """The extension written at the end of a phone number as typed, if any."""
    if not typed or not typed[-1:].isdigit():
        return None
    found = _EXTENSION.search(typed)
    return found.group(1) if found else None


def phone_text(number: str, ext: str | None) -> str:
    """A phone as shown: as typed, with its extension unless it was typed with it."""
    if not ext or extension(number) == ext:
        return number
    return f"{number} ext. {ext}"


def phone_key(e164: str | None, typed: str | None) -> str | None:
    """A phone as identity compares it: E.164 plus ";ext=N" when an extension is typed."""
    if not e164:
        return None
    ext = extension(typed)
    return f"{e164};ext={ext}" if ext else e164


def item_key(e164: str, ext: str | None, typed: str | None) -> str:
    """A phone item's key: its extension column, else one typed at the end of the number."""
    ext = ext or extension(typed)
    return f"{e164};ext={ext}" if ext else e164


def dial_part(key: str) -> str:
    """The E.164 number of a phone key (what the phone columns store)."""
    return key.split(";", 1)[0]


@dataclass(frozen=True, slots=True)
class Who:
    """The fields identity compares: name, strong keys and phone keys, over every item.

    `emails` holds every email of the record (lowercased), `phones` every phone key
    (`phone_key`): a contact's second email is as strong a key as its first.
    """

    name: str
    external_id: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    source_uid: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two records are one person, and why, in words for a dry run."""

    kind: str  # SAME | EVIDENCE | DIFFERENT | NONE
    reason: str


def judge(a: Who, b: Who) -> Verdict:
    """Apply the rule to two records (see the module docstring).

    Emails are sets: one address in common is the same person; two records that
    both have emails and share none are two people (a colleague, not a second address).
    """
    if a.external_id and b.external_id:
        if a.external_id == b.external_id:
            return Verdict(SAME, "same external id")
        return Verdict(DIFFERENT, "different external ids")
    if a.source_uid and b.source_uid:
        if a.source_uid == b.source_uid:
            return Verdict(SAME, "same source UID")
        return Verdict(DIFFERENT, "different source UIDs")
    if a.emails and b.emails:
        common = sorted(set(a.emails) & set(b.emails))
        if common:
            return Verdict(SAME, "same email")
        return Verdict(DIFFERENT, "different emails")
    shared = sorted(set(a.phones) & set(b.phones))
    if shared:
        if names_agree(a.name, b.name):
            return Verdict(EVIDENCE, f"same phone {shared[0]} and the names agree")
        return Verdict(NONE, f"shares phone {shared[0]} only (names differ)")
    return Verdict(NONE, "")
