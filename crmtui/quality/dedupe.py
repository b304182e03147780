"""Finding probable duplicate contacts: blocking keys, then a scored comparison with evidence.

Comparing every pair of a million contacts is 5e11 comparisons; instead every
contact gets a few *blocking keys* (its email, each phone in E.164, its family
name plus first initial, its sorted name tokens) and only contacts sharing a key
are compared. A pair's score (0-100) adds up what it has in common:

- name similarity (rapidfuzz token-sort ratio on folded names with salutations
  removed; "J. Smith" counts as "John Smith" when the family names agree): up to 60;
- the same external id: +40; the same email: +40; the same phone number (with its
  extension) +35, only when the names agree (a shared switchboard adds nothing);
- the same email domain (not a free-mail one, similar names only): +20;
- the same account: +15; the same city: +5.

A shared name alone (60) stays under the default threshold of 70: namesakes are
common (the 100k demo has 1.8M same-name pairs), so a name needs something else
in common: "John Smith" / "Mr J. Smith" with the same company domain scores 74,
and any pair sharing an email or a phone with a similar name scores above 85.
Two external ids mean two records in their source: such a pair scores at most 50
(different emails are shown as evidence: imports keep them apart, a reviewer may
not); without a shared strong key, names that do not agree
(crmtui.domain.identity.names_agree) keep a pair under the threshold, so a shared
company or switchboard with a near name is never offered (identity has the rule).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from crmtui.domain.identity import (
    DIFFERENT,
    EVIDENCE,
    SALUTATIONS,
    SAME,
    Who,
    judge,
    name_words,
    names_agree,
    phone_key,
    spelling,
)
from crmtui.domain.text import fold

__all__ = ["SALUTATIONS", "name_words"]

DEFAULT_THRESHOLD = 70
DIFFERENT_CAP = 50  # a pair with conflicting strong keys scores at most this
MAX_BLOCK = 100  # a key shared by more contacts than this says nothing (e.g. "info@")
FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "proton.me",
        "protonmail.com",
        "aol.com",
        "mail.ru",
        "yandex.ru",
        "orange.fr",
        "free.fr",
        "libero.it",
        "qq.com",
        "163.com",
    ]
)


@dataclass(frozen=True)
class Person:
    """The fields of a contact that duplicate detection compares."""

    id: str
    name: str
    email: str | None = None  # the primary, as shown
    phones: tuple[str, ...] = ()  # every phone item's identity key
    account_id: str | None = None
    city: str | None = None
    external_id: str | None = None
    emails: tuple[str, ...] = ()  # every email item, lowercased (empty: the primary only)
    source_uid: str | None = None

    @classmethod
    def from_who(cls, cid: str, who: Who, account_id: str | None, city: str | None) -> Person:
        """From a stored contact's identity (`services.address_book.people.stored_whos`)."""
        return cls(
            cid,
            who.name,
            who.emails[0] if who.emails else None,
            who.phones,
            account_id,
            city,
            who.external_id,
            who.emails,
            who.source_uid,
        )

    def all_emails(self) -> tuple[str, ...]:
        """Every email of this contact, lowercased."""
        if self.emails:
            return self.emails
        return (self.email.lower(),) if self.email else ()

    def who(self) -> Who:
        """The identity view of this contact."""
        return Who(self.name, self.external_id, self.all_emails(), self.phones, self.source_uid)


@dataclass
class Candidate:
    """Two contacts that are probably one person, with the score and why."""

    a: Person
    b: Person
    score: float
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For JSON/CSV output."""
        return {
            "score": round(self.score),
            "a_name": self.a.name,
            "b_name": self.b.name,
            "evidence": "; ".join(self.evidence),
            "a_id": self.a.id,
            "b_id": self.b.id,
        }


def _domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


@lru_cache(maxsize=65_536)  # namesakes repeat: a scan meets the same pair of names often
def name_similarity(a: str, b: str) -> tuple[float, str | None]:
    """0-100 similarity of two names, and a note when initials made them match."""
    from rapidfuzz import fuzz

    wa, wb = name_words(a), name_words(b)
    if not wa or not wb:
        return 0.0, None
    score = fuzz.token_sort_ratio(" ".join(wa), " ".join(wb))
    # "J. Smith" vs "John Smith": same family name, and the given names agree on
    # their initials (one of them given as an initial only).
    if len(wa) >= 2 and len(wb) >= 2 and wa[-1] == wb[-1]:
        ga, gb = wa[:-1], wb[:-1]
        if (
            len(ga) == len(gb)
            and all(
                x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
                for x, y in zip(ga, gb, strict=True)
            )
            and score < 90
        ):
            return 90.0, "initials match"
    return float(score), None


def compare(a: Person, b: Person) -> Candidate:
    """Score a pair and list the evidence, under the identity rule (crmtui.domain.identity).

    Conflicting strong keys (two emails, two external ids) cap the score at
    DIFFERENT_CAP, under any sensible threshold; a shared phone counts only when the
    names agree, so a switchboard number adds nothing.
    """
    verdict = judge(a.who(), b.who())
    similarity, note = name_similarity(a.name, b.name)
    evidence = [f"name {similarity:.0f}% similar" + (f" ({note})" if note else "")]
    score = similarity * 0.6
    if verdict.kind == SAME and verdict.reason == "same external id":
        score += 40
        evidence.append("same external id")
    emails_a, emails_b = a.all_emails(), b.all_emails()
    shared_domains = {_domain(e) for e in emails_a} & {_domain(e) for e in emails_b}
    domains = sorted(d for d in shared_domains if d is not None and d not in FREE_MAIL)
    if set(emails_a) & set(emails_b):
        score += 40
        evidence.append("same email")
    elif domains and similarity >= 60:
        score += 20
        evidence.append(f"same email domain {domains[0]}")
    shared = set(a.phones) & set(b.phones)
    if shared and verdict.kind in (SAME, EVIDENCE):
        score += 35
        evidence.append(f"same phone {sorted(shared)[0]}")
    elif shared and names_agree(a.name, b.name):
        # Names agree but a strong key says two people (different emails): a fact, no score.
        evidence.append(f"same phone {sorted(shared)[0]}")
    elif shared:
        evidence.append(f"shares phone {sorted(shared)[0]} only (names differ)")
    if a.account_id and a.account_id == b.account_id:
        score += 15
        evidence.append("same account")
    if a.city and b.city and fold(a.city) == fold(b.city):
        score += 5
        evidence.append("same city")
    if verdict.kind == DIFFERENT and a.external_id and b.external_id:
        # Two ids of one source system are two records there: two people.
        score = min(score, DIFFERENT_CAP)
        evidence.append(f"{verdict.reason}: two people")
    elif verdict.kind == DIFFERENT:
        # Different emails keep an import from joining them, but a person with a work
        # and a private address is what a review list is for: shown, not hidden.
        evidence.append(verdict.reason)
    elif verdict.kind != SAME and not names_agree(a.name, b.name):
        # Without a strong key, names that do not agree (Maria / Marta) stay under the
        # threshold whatever they share: a company and a similar name are two colleagues.
        score = min(score, DEFAULT_THRESHOLD - 1)
    return Candidate(a, b, min(score, 100.0), evidence)


def blocking_keys(person: Person) -> Iterator[str]:
    """The keys under which a contact meets the contacts it may duplicate."""
    for email in person.all_emails():
        yield "e:" + email
    for phone in person.phones:
        yield "p:" + phone
    words = name_words(person.name)
    if words:
        yield "n:" + " ".join(sorted(words))
        if len(words) >= 2:
            yield f"f:{spelling(words[-1])}|{words[0][0]}"


def load_people(db: sqlite3.Connection) -> list[Person]:
    """Every live contact (archived ones too: they can still be duplicates), all its items' keys."""
    return _people(db, None)


def _people(db: sqlite3.Connection, ids: Iterable[str] | None) -> list[Person]:
    """Contacts as duplicate detection compares them (all live ones, or those of `ids`)."""
    from crmtui.services.address_book.people import stored_whos
    from crmtui.store.sql_in import select_in

    whos = stored_whos(db, ids)
    select = "SELECT id, account_id, city FROM contact"
    rows = db.execute(select) if ids is None else select_in(db, select, sorted(whos))
    places = {cid: (account, city) for cid, account, city in rows if cid in whos}
    return [Person.from_who(cid, whos[cid], *places[cid]) for cid in sorted(whos)]


def scan(
    people: Iterable[Person],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    involving: set[str] | None = None,
) -> list[Candidate]:
    """Candidate pairs scoring at least `threshold`, best first.

    With `involving`, only pairs with at least one of those contact ids (the
    contacts that arrived by sync): the same pairs a full scan finds for them.
    """
    blocks: dict[str, list[Person]] = {}
    for person in people:
        for key in blocking_keys(person):
            blocks.setdefault(key, []).append(person)
    seen: set[tuple[str, str]] = set()
    found: list[Candidate] = []
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        if involving is not None and not any(m.id in involving for m in members):
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if pair in seen:
                    continue
                if involving is not None and a.id not in involving and b.id not in involving:
                    continue
                seen.add(pair)
                candidate = compare(a, b)
                if candidate.score >= threshold:
                    found.append(candidate)
    found.sort(key=lambda c: (-c.score, c.a.id, c.b.id))
    return found


def new_pairs(
    db: sqlite3.Connection, *, threshold: float = DEFAULT_THRESHOLD
) -> tuple[list[Candidate], set[str] | None]:
    """Pairs involving contacts that arrived by sync since the last review, and those ids.

    The ids (None: all contacts, after a first sync) are what a review takes off the
    list afterwards (`store.arrivals.take_reviewed`). Nothing arrived: no pairs.
    """
    from crmtui.store.arrivals import arrivals

    waiting = arrivals(db)
    if waiting is not None and not waiting:
        return [], waiting
    return scan(load_people(db), threshold=threshold, involving=waiting), waiting


def typed_person(
    name: str, email: str | None, phones: Iterable[str | None], *, region: str
) -> Person:
    """A contact as typed (not saved yet), normalised as the services store it.

    Values that do not validate are left out: the check before an add should not
    fail on them (the save reports them), and a half-typed phone matches nothing.
    """
    from crmtui.domain.validate import InvalidInput, normalize_email, normalize_phone

    numbers: list[str] = []
    for typed in phones:
        if typed and typed.strip():
            try:
                phone = normalize_phone(typed, region=region)
                numbers.append(phone_key(phone.e164, phone.typed) or phone.e164)
            except InvalidInput:
                continue
    clean_email: str | None = None
    if email and email.strip():
        try:
            clean_email = normalize_email(email)
        except InvalidInput:
            clean_email = None
    return Person(id="", name=name, email=clean_email, phones=tuple(numbers))


def duplicates_of(
    db: sqlite3.Connection, person: Person, *, threshold: float = DEFAULT_THRESHOLD
) -> list[Candidate]:
    """Stored contacts that `person` (not saved yet) probably duplicates, best first.

    Index lookups only (any email item, any phone item, and the search index for
    the name), so the check before an add stays in milliseconds on a million contacts.
    """
    from crmtui.search.lookup import search_contacts
    from crmtui.services.address_book.people import candidate_ids

    ids = candidate_ids(db, person.who())
    words = name_words(person.name)
    if words:
        ids |= {h.id for h in search_contacts(db, " ".join(words), limit=20, include_archived=True)}
    if not ids:
        return []
    found = [compare(person, other) for other in _people(db, ids)]
    return sorted((c for c in found if c.score >= threshold), key=lambda c: (-c.score, c.b.id))
