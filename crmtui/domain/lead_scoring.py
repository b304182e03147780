"""Explainable lead and deal scores: the admin's rules plus the territory's won/lost history.

A score is a sum of **points**, and every point has a line that says where it came from:

- each rule of the scoring file that matches adds its points (the admin's judgement);
- the history adds, per variable, `history_points` x log2 of the naive-Bayes likelihood
  ratio that variable's value has in the territory's won and lost records (Laplace
  smoothed), plus a baseline for the territory's overall odds. `history_points` is what
  doubling the odds of winning is worth; a variable with no value adds nothing.

Every line is rounded to tenths of a point and the score is the sum of the rounded
lines, so `--explain` adds up to the score shown, exactly. The history part also gives
the win probability it implies (`p_win`). No database and no network here: the records
come in as `Features`, the model is counts.

The scoring file (reference data, published like plans):

    history_points = 10     # points per doubling of the odds of winning (0: rules only)
    min_closed = 10         # fewer won+lost records than this (or none won, or none
                            # lost) in a territory: rules only, and the explanation says so
    [[rule]]
    label = "Came from the web form"
    when = "source"         # a variable (RULE_VARIABLES)
    is = ["web:contact-us"] # or at_least / at_most (numbers), or present = true/false
    points = 15
    applies = "lead"        # lead, deal or both (the default)
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HISTORY_VARIABLES = ("source", "industry", "size", "country", "activities")
"""What the naive Bayes reads, as Odoo's predictive lead scoring does (its frequencies)."""
TEXT_VARIABLES = ("source", "industry", "size", "country", "status", "stage", "company", "email")
NUMBER_VARIABLES = ("employees", "activities", "amount")
RULE_VARIABLES = (*TEXT_VARIABLES, "phone", *NUMBER_VARIABLES)
"""What a rule may test; `amount` (whole units) and `stage` only a deal has, `status` a lead."""
APPLIES = ("lead", "deal", "both")
DEFAULT_HISTORY_POINTS = 10.0
DEFAULT_MIN_CLOSED = 10
MAX_RULES = 200
SIZE_BUCKETS = ((1, "1-9"), (10, "10-49"), (50, "50-249"), (250, "250-999"), (1000, "1000+"))
"""Employee counts in the EU's size classes: one value the history can count per bucket."""
ACTIVITY_BUCKETS = ((0, "0"), (1, "1-2"), (3, "3-5"), (6, "6+"))
_FILE_KEYS = frozenset({"history_points", "min_closed", "rule"})
_RULE_KEYS = frozenset(
    {"label", "when", "is", "at_least", "at_most", "present", "points", "applies"}
)


class ScoringFileError(ValueError):
    """A scoring file that cannot be used; the message names the file and the rule."""


def size_bucket(employees: int | None) -> str | None:
    """The size class of a head count (None when unknown or not positive)."""
    if employees is None or employees < 1:
        return None
    label = SIZE_BUCKETS[0][1]
    for low, name in SIZE_BUCKETS:
        if employees >= low:
            label = name
    return label


def activity_bucket(count: int) -> str:
    """The activity-count class the history counts (0, 1-2, 3-5, 6+)."""
    label = ACTIVITY_BUCKETS[0][1]
    for low, name in ACTIVITY_BUCKETS:
        if count >= low:
            label = name
    return label


@dataclass(frozen=True)
class Features:
    """What is known about one lead or deal, as the rules and the history read it."""

    kind: str  # "lead" or "deal"
    source: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None
    activities: int = 0
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    status: str | None = None
    stage: str | None = None
    amount: int | None = None  # whole units of the deal's currency

    def value(self, variable: str) -> str | int | None:
        """The value of a rule or history variable (text folded to lower case)."""
        if variable == "size":
            return size_bucket(self.employees)
        raw = getattr(self, variable)
        if isinstance(raw, str):
            text = raw.strip().casefold()
            return text or None
        return raw

    def history_value(self, variable: str) -> str | None:
        """The value the history counts for `variable` (None: unknown, not counted)."""
        if variable == "activities":
            return activity_bucket(self.activities)
        found = self.value(variable)
        return None if found is None else str(found)


@dataclass(frozen=True)
class Rule:
    """One admin rule: a test on one variable and the points it adds."""

    label: str
    when: str
    points: float
    one_of: tuple[str, ...] = ()
    at_least: float | None = None
    at_most: float | None = None
    present: bool | None = None
    applies: str = "both"

    def matches(self, features: Features) -> bool:
        """Whether this rule adds its points to this record."""
        if self.applies not in ("both", features.kind):
            return False
        value = features.value(self.when)
        if self.present is not None:
            return (value is not None) == self.present
        if value is None:
            return False
        if self.one_of:
            return str(value) in self.one_of
        if not isinstance(value, int):
            return False
        if self.at_least is not None and value < self.at_least:
            return False
        return not (self.at_most is not None and value > self.at_most)


@dataclass(frozen=True)
class ScoringDef:
    """A scoring file: the rules and how much the history weighs."""

    rules: tuple[Rule, ...] = ()
    history_points: float = DEFAULT_HISTORY_POINTS
    min_closed: int = DEFAULT_MIN_CLOSED


DEFAULT_SCORING = ScoringDef()
"""No file published: history only, at the default weight."""


def parse_scoring(text: str, *, source: str) -> ScoringDef:
    """Read a scoring file's text; `ScoringFileError` names `source` and the rule."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScoringFileError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise ScoringFileError(f"{source}: unknown field {unknown[0]!r}")
    weight = raw.get("history_points", DEFAULT_HISTORY_POINTS)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
        raise ScoringFileError(f"{source}: history_points must be a number from 0 to 100")
    min_closed = raw.get("min_closed", DEFAULT_MIN_CLOSED)
    if isinstance(min_closed, bool) or not isinstance(min_closed, int) or min_closed < 1:
        raise ScoringFileError(f"{source}: min_closed must be a whole number of at least 1")
    items = raw.get("rule", [])
    if not isinstance(items, list) or len(items) > MAX_RULES:
        raise ScoringFileError(f"{source}: rule must be a list of at most {MAX_RULES} [[rule]]")
    rules = []
    for number, item in enumerate(items, 1):
        try:
            rules.append(_rule(item))
        except ValueError as exc:
            raise ScoringFileError(f"{source}: rule {number}: {exc}") from None
    return ScoringDef(tuple(rules), float(weight), min_closed)


def _number(item: Mapping[str, object], key: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number")
    return float(value)


def _rule(item: object) -> Rule:
    if not isinstance(item, dict):
        raise ValueError("must be a table")
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    when = item.get("when")
    if when not in RULE_VARIABLES:
        raise ValueError(f"when must be one of {', '.join(RULE_VARIABLES)}, not {when!r}")
    points = _number(item, "points")
    if points is None or abs(points) > 1000:
        raise ValueError("points must be a number from -1000 to 1000")
    applies = item.get("applies", "both")
    if applies not in APPLIES:
        raise ValueError(f"applies must be one of {', '.join(APPLIES)}, not {applies!r}")
    one_of_raw = item.get("is")
    one_of: tuple[str, ...] = ()
    if one_of_raw is not None:
        values = one_of_raw if isinstance(one_of_raw, list) else [one_of_raw]
        if not values or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in values
        ):
            raise ValueError("is must be a text, a number or a list of them")
        one_of = tuple(str(v).strip().casefold() for v in values)
    present = item.get("present")
    if present is not None and not isinstance(present, bool):
        raise ValueError("present must be true or false")
    at_least, at_most = _number(item, "at_least"), _number(item, "at_most")
    tests = sum(x is not None for x in (one_of_raw, present)) + (
        at_least is not None or at_most is not None
    )
    if tests != 1:
        raise ValueError("needs exactly one test: is, at_least/at_most, or present")
    if (at_least is not None or at_most is not None) and when not in NUMBER_VARIABLES:
        raise ValueError(f"at_least/at_most test a number: {', '.join(NUMBER_VARIABLES)}")
    label = item.get("label")
    if label is None:
        label = _default_label(when, one_of, at_least, at_most, present)
    if not isinstance(label, str) or not label.strip() or len(label) > 120:
        raise ValueError("label must be a text of 1 to 120 characters")
    return Rule(label.strip(), when, points, one_of, at_least, at_most, present, applies)


def _default_label(
    when: str,
    one_of: tuple[str, ...],
    at_least: float | None,
    at_most: float | None,
    present: bool | None,
) -> str:
    if present is not None:
        return f"{when} {'known' if present else 'unknown'}"
    if one_of:
        return f"{when} is {' or '.join(one_of)}"
    parts = [
        f">= {at_least:g}" if at_least is not None else "",
        f"<= {at_most:g}" if at_most is not None else "",
    ]
    return f"{when} {' and '.join(p for p in parts if p)}"


@dataclass(frozen=True)
class History:
    """Counts of a territory's closed records: won and lost, and per variable and value."""

    won: int = 0
    lost: int = 0
    won_values: Mapping[str, Counter[str]] = field(default_factory=dict)
    lost_values: Mapping[str, Counter[str]] = field(default_factory=dict)
    # The ratios worked out so far: a territory's thousands of leads share a few values.
    ratios: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def closed(self) -> int:
        """Won and lost records together."""
        return self.won + self.lost


def learn(closed: Iterable[tuple[Features, bool]]) -> History:
    """Count the history's values: each record with whether it was won."""
    won_values: dict[str, Counter[str]] = {v: Counter() for v in HISTORY_VARIABLES}
    lost_values: dict[str, Counter[str]] = {v: Counter() for v in HISTORY_VARIABLES}
    won = lost = 0
    for features, was_won in closed:
        target = won_values if was_won else lost_values
        if was_won:
            won += 1
        else:
            lost += 1
        for variable in HISTORY_VARIABLES:
            value = features.history_value(variable)
            if value is not None:
                target[variable][value] += 1
    return History(won, lost, won_values, lost_values)


@dataclass(frozen=True)
class Contribution:
    """One line of an explanation: what it is, its points (tenths), and for history lines
    the log-odds (base 2) it stands for."""

    part: str  # "rule" or "history"
    variable: str
    value: str | None
    label: str
    tenths: int
    bits: float | None = None

    @property
    def points(self) -> float:
        """The line's points, as shown."""
        return self.tenths / 10


@dataclass(frozen=True)
class Score:
    """A record's score and the lines it is the sum of."""

    tenths: int
    contributions: tuple[Contribution, ...]
    history_used: bool
    history_note: str
    p_win: float | None  # what the history alone says (None without history)

    @property
    def points(self) -> float:
        """The score as shown: the sum of the lines' points."""
        return self.tenths / 10


def _tenths(points: float) -> int:
    # Half away from zero, so a line of -2.25 shows as -2.3 like its +2.25 twin shows 2.3.
    return int(math.copysign(math.floor(abs(points) * 10 + 0.5), points))


def history_ratio(history: History, variable: str, value: str) -> float:
    """log2 of P(value | won) / P(value | lost), Laplace smoothed over the values seen."""
    known = history.ratios.get((variable, value))
    if known is not None:
        return known
    won_counts = history.won_values.get(variable, Counter())
    lost_counts = history.lost_values.get(variable, Counter())
    seen = set(won_counts) | set(lost_counts) | {value}
    won_known = sum(won_counts.values())
    lost_known = sum(lost_counts.values())
    p_won = (won_counts[value] + 1) / (won_known + len(seen))
    p_lost = (lost_counts[value] + 1) / (lost_known + len(seen))
    bits = math.log2(p_won / p_lost)
    history.ratios[(variable, value)] = bits
    return bits


def prior_bits(history: History) -> float:
    """log2 of the territory's smoothed odds of winning, (won + 1) / (lost + 1)."""
    return math.log2((history.won + 1) / (history.lost + 1))


def history_usable(scoring: ScoringDef, history: History) -> str | None:
    """Why the history is not used for this territory, or None when it is."""
    if scoring.history_points == 0:
        return "the scoring file gives the history no weight (history_points = 0)"
    if history.won == 0 or history.lost == 0 or history.closed < scoring.min_closed:
        return (
            f"no usable history: {history.won} won and {history.lost} lost"
            f" (needs at least {scoring.min_closed} closed, some won and some lost)"
        )
    return None


def score(features: Features, scoring: ScoringDef, history: History) -> Score:
    """Score one record: its matching rules, then the history's lines when it is usable."""
    lines: list[Contribution] = [
        Contribution(
            "rule", rule.when, _shown(features.value(rule.when)), rule.label, _tenths(rule.points)
        )
        for rule in scoring.rules
        if rule.matches(features)
    ]
    why_not = history_usable(scoring, history)
    p_win: float | None = None
    if why_not is None:
        weight = scoring.history_points
        base = prior_bits(history)
        total_bits = base
        lines.append(
            Contribution(
                "history",
                "baseline",
                None,
                f"territory: {history.won} won, {history.lost} lost",
                _tenths(weight * base),
                base,
            )
        )
        for variable in HISTORY_VARIABLES:
            value = features.history_value(variable)
            if value is None:
                continue
            bits = history_ratio(history, variable, value)
            total_bits += bits
            lines.append(
                Contribution(
                    "history",
                    variable,
                    value,
                    f"{variable} = {value}",
                    _tenths(weight * bits),
                    bits,
                )
            )
        p_win = 1 / (1 + 2 ** (-total_bits))
        note = f"history: {history.won} won, {history.lost} lost in the territory"
    else:
        note = f"rules only: {why_not}"
    return Score(sum(line.tenths for line in lines), tuple(lines), why_not is None, note, p_win)


def _shown(value: str | int | None) -> str | None:
    return None if value is None else str(value)
