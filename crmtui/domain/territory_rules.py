"""Territory rules: which rule places a record, the same on every laptop and on the server.

Each rule is one condition: `country` equals, `postcode_prefix` starts the postcode,
`industry` equals (case-insensitive), `employees_min` / `employees_max` bound the head
count. Among the rules a record matches, the highest `priority` wins; a tie goes to the
more specific rule (a longer value, e.g. a longer postcode prefix), then to the deeper
territory, then to the smaller rule id, so every replica decides the same way. The
laptop places accounts with it (`crmtui.services.territories`), the server routes web
leads with it (`crmtui.server.routing`).
"""

from __future__ import annotations

from typing import Protocol, TypeVar


class RuleLike(Protocol):
    """What a rule holds (a `TerritoryRule` row, or the server's copy of one)."""

    @property
    def id(self) -> str: ...
    @property
    def territory_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def priority(self) -> int: ...


class PlaceLike(Protocol):
    """What a rule compares: an account, or a web lead's country, postcode, industry, size."""

    @property
    def country(self) -> str | None: ...
    @property
    def postcode(self) -> str | None: ...
    @property
    def industry(self) -> str | None: ...
    @property
    def employees(self) -> int | None: ...


R = TypeVar("R", bound=RuleLike)


def rule_matches(rule: RuleLike, place: PlaceLike) -> bool:
    """Tell whether one rule's condition holds for an account (or a lead's details)."""
    if rule.kind == "country":
        return (place.country or "").upper() == rule.value
    if rule.kind == "postcode_prefix":
        return (place.postcode or "").upper().replace(" ", "").startswith(rule.value)
    if rule.kind == "industry":
        return (place.industry or "").strip().lower() == rule.value.lower()
    if rule.kind == "employees_min":
        return place.employees is not None and place.employees >= int(rule.value)
    if rule.kind == "employees_max":
        return place.employees is not None and place.employees <= int(rule.value)
    return False


def describe_rule(rule: RuleLike) -> str:
    """A rule in words: "postcode starts with 80 (priority 5)"."""
    words = {
        "country": "country is",
        "postcode_prefix": "postcode starts with",
        "industry": "industry is",
        "employees_min": "employees at least",
        "employees_max": "employees at most",
    }.get(rule.kind, rule.kind)
    return f"{words} {rule.value} (priority {rule.priority})"


def choose_rule(place: PlaceLike, rules: list[R], depth: dict[str, int]) -> R | None:
    """The rule that decides a record's territory, or None when none matches."""
    matching = [r for r in rules if rule_matches(r, place)]
    if not matching:
        return None
    return min(
        matching,
        key=lambda r: (-r.priority, -len(r.value), -depth.get(r.territory_id, 0), r.id),
    )
