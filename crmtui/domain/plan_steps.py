"""Follow-up plans: the TOML definition, the branch rules and an enrolment's derived position.

A plan is text an admin writes:

    name = "New lead"
    [[step]]
    kind = "call"          # call, email, visit or task
    wait = 0               # business days after the previous step (or the enrolment)
    retries = 2            # no answer: try again up to 2 more times ...
    retry_wait = 2         # ... 2 business days apart
    [[step]]
    kind = "email"
    wait = 3
    on = { replied = "leave" }

An enrolment's position is never stored: `derive` walks the plan over the
enrolment's events (step reminders made, outcomes logged, steps skipped), which
are append-only records every laptop merges by taking the union. Two laptops that
logged different outcomes for one step offline get the same answer after sync:
the strongest action wins (leave > next > retry), whatever order they arrive in.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

STEP_KINDS = ("call", "email", "visit", "task")
ACTIONS = ("next", "retry", "leave")
"""What an outcome does: go on to the next step, try this step again, or leave the plan."""
_STRENGTH = {"retry": 0, "next": 1, "leave": 2}
DEFAULT_ACTIONS: Mapping[str, str] = {
    "no-answer": "retry",
    "voicemail": "retry",
    "busy": "retry",
    "callback-requested": "retry",
    "cancelled": "retry",
    "connected": "next",
    "sent": "next",
    "held": "next",
    "meeting-booked": "leave",
    "replied": "leave",
    "not-interested": "leave",
    "wrong-number": "leave",
}
"""The branch of every activity outcome unless a step says otherwise (`on`)."""
ACTIVITY_KINDS_OF_STEP: Mapping[str, tuple[str, ...]] = {
    "call": ("call",),
    "email": ("email",),
    "visit": ("visit", "meeting"),
    "task": (),
}
"""The logged activities that count as doing a step (a task is done by ticking its reminder)."""
MAX_STEPS = 50
MAX_RETRIES = 20
MAX_WAIT = 365
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_PLAN_KEYS = frozenset({"name", "description", "step"})
_STEP_KEYS = frozenset(
    {"key", "kind", "text", "wait", "retries", "retry_wait", "after_retries", "on", "script"}
)


class PlanFileError(ValueError):
    """A plan file that cannot be used; the message names the line and the field."""


@dataclass(frozen=True)
class Step:
    """One step of a plan."""

    key: str
    kind: str
    text: str
    wait: int = 0
    retries: int = 0
    retry_wait: int = 1
    after_retries: str = "next"
    on: Mapping[str, str] = field(default_factory=dict)
    script: str | None = None
    """The name of the call script shown while working this step (`domain.call_scripts`)."""

    def action(self, outcome: str | None) -> str:
        """What logging `outcome` on this step does (no outcome: the step was done)."""
        if outcome is None:
            return "next"
        return self.on.get(outcome) or DEFAULT_ACTIONS.get(outcome, "next")


@dataclass(frozen=True)
class PlanDef:
    """A parsed plan: its name, description and steps."""

    name: str
    description: str
    steps: tuple[Step, ...]

    def index(self, key: str) -> int | None:
        """The position of the step called `key`, or None."""
        return next((i for i, s in enumerate(self.steps) if s.key == key), None)


def _line_of(text: str, step: int | None, key: str | None) -> int:
    """The 1-based line where a field is written (best effort: the step header, else 1)."""
    lines = text.splitlines()
    start, seen = 0, -1
    if step is not None:
        for number, line in enumerate(lines):
            if line.strip().startswith("[[step]]"):
                seen += 1
                if seen == step:
                    start = number
                    break
    key_at = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    for number in range(start, len(lines)):
        if number > start and step is not None and lines[number].strip().startswith("["):
            break
        if key_at is not None and key_at.match(lines[number]):
            return number + 1
    return start + 1


def _int(raw: Mapping[str, object], name: str, default: int, low: int, high: int) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _step(raw: object, number: int, known_outcomes: Iterable[str]) -> Step:
    if not isinstance(raw, dict):
        raise ValueError("a step is a table ([[step]])")
    unknown = sorted(set(raw) - _STEP_KEYS)
    if unknown:
        raise KeyError(unknown[0])
    kind = raw.get("kind")
    if kind not in STEP_KINDS:
        raise _FieldError("kind", f"must be one of {', '.join(STEP_KINDS)}, not {kind!r}")
    key = raw.get("key", f"step-{number + 1}")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise _FieldError("key", "must be lower-case letters, digits and dashes (at most 40)")
    text = raw.get("text", f"{kind.capitalize()} ({key})")
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        raise _FieldError("text", "must be a non-empty text of at most 200 characters")
    values: dict[str, int] = {}
    for name, default, high in (
        ("wait", 0, MAX_WAIT),
        ("retries", 0, MAX_RETRIES),
        ("retry_wait", 1, MAX_WAIT),
    ):
        try:
            values[name] = _int(raw, name, default, 0, high)
        except ValueError as exc:
            raise _FieldError(name, str(exc).removeprefix(f"{name} ")) from None
    after = raw.get("after_retries", "next")
    if after not in ("next", "leave"):
        raise _FieldError("after_retries", f"must be next or leave, not {after!r}")
    on = raw.get("on", {})
    if not isinstance(on, dict):
        raise _FieldError("on", 'must be a table like { replied = "leave" }')
    outcomes = set(known_outcomes)
    for outcome, action in on.items():
        if outcome not in outcomes:
            raise _FieldError(
                "on", f"{outcome!r} is not an outcome ({', '.join(sorted(outcomes))})"
            )
        if action not in ACTIONS:
            raise _FieldError("on", f"{outcome} must be next, retry or leave, not {action!r}")
    script = raw.get("script")
    if script is not None and (
        not isinstance(script, str) or not script.strip() or len(script.strip()) > 80
    ):
        raise _FieldError("script", "must be a script's name (1 to 80 characters)")
    return Step(
        key,
        kind,
        text.strip(),
        **values,
        after_retries=after,
        on=dict(on),
        script=script.strip() if script else None,
    )


class _FieldError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def parse_plan(text: str, *, source: str, outcomes: Iterable[str]) -> PlanDef:
    """Read a plan file's text; `PlanFileError` names `source`, the line and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _PLAN_KEYS)
    if unknown:
        line = _line_of(text, None, unknown[0])
        raise PlanFileError(f"{source}:{line}: unknown field {unknown[0]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        line = _line_of(text, None, "name")
        raise PlanFileError(f"{source}:{line}: name must be a text of 1 to 80 characters")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise PlanFileError(
            f"{source}:{_line_of(text, None, 'description')}: description must be a text"
        )
    steps_raw = raw.get("step")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PlanFileError(f"{source}: a plan needs at least one [[step]]")
    if len(steps_raw) > MAX_STEPS:
        raise PlanFileError(f"{source}: a plan has at most {MAX_STEPS} steps")
    known = tuple(outcomes)
    steps: list[Step] = []
    for number, item in enumerate(steps_raw):
        try:
            steps.append(_step(item, number, known))
        except KeyError as exc:
            line = _line_of(text, number, str(exc.args[0]))
            raise PlanFileError(
                f"{source}:{line}: step {number + 1}: unknown field {exc.args[0]!r}"
            ) from None
        except _FieldError as exc:
            line = _line_of(text, number, exc.name)
            raise PlanFileError(f"{source}:{line}: step {number + 1}: {exc.name} {exc}") from None
        except ValueError as exc:
            line = _line_of(text, number, None)
            raise PlanFileError(f"{source}:{line}: step {number + 1}: {exc}") from None
    keys = [s.key for s in steps]
    for number, key in enumerate(keys):
        if keys.index(key) != number:
            line = _line_of(text, number, "key")
            raise PlanFileError(f"{source}:{line}: step {number + 1}: key {key!r} is used twice")
    return PlanDef(name.strip(), description.strip(), tuple(steps))


# ------------------------------------------------------------------ derivation


@dataclass(frozen=True)
class Event:
    """One fact about an enrolment (a `plan_event` row), as the derivation reads it."""

    id: str
    kind: str
    """"scheduled", "outcome", "skipped", "paused", "migrated" or "left"."""
    at: datetime
    step: str | None = None
    attempt: int | None = None
    tickler_id: str | None = None
    outcome: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Reminder:
    """What the derivation needs of a step's reminder."""

    status: str
    done_at: datetime | None


@dataclass(frozen=True)
class Position:
    """Where an enrolment is, and why.

    `state`: "waiting" (a step's reminder is open), "to-schedule" (the next step's
    reminder is to be made, due `wait` business days after `since`), "left" (an
    outcome left the plan), "completed" (every step done), "stopped" (a person took
    it off the plan) or "ended" (consent, a closed deal or an archived contact).
    """

    state: str
    why: str
    step: Step | None = None
    step_number: int | None = None
    attempt: int = 1
    since: datetime | None = None
    wait: int = 0
    tickler_id: str | None = None
    """The open reminder of the current step (state "waiting")."""
    on_path: frozenset[str] = frozenset()
    """Reminders of the step instances the derived path went through (the others are stale)."""

    @property
    def running(self) -> bool:
        """Whether the enrolment still has steps ahead."""
        return self.state in ("waiting", "to-schedule")


def _canonical(scheduled: list[Event]) -> Event | None:
    # Two laptops may both schedule one step instance offline: the lowest id wins everywhere.
    return min(scheduled, key=lambda e: e.tickler_id or e.id) if scheduled else None


def derive(
    plan: PlanDef,
    *,
    enrolled_at: datetime,
    events: Iterable[Event],
    reminders: Mapping[str, Reminder],
    stopped: str | None = None,
    ended: str | None = None,
) -> Position:
    """Walk `plan` over an enrolment's events to its current position (pure, order-free)."""
    by_instance: dict[tuple[str, int], list[Event]] = {}
    touched: set[str] = set()
    migrated = False
    for event in events:
        migrated = migrated or event.kind == "migrated"
        if event.step is not None and event.attempt is not None:
            by_instance.setdefault((event.step, event.attempt), []).append(event)
            touched.add(event.step)
    if stopped:
        return Position("stopped", stopped)
    if ended:
        return Position("ended", ended)
    # A migrated enrolment carries on where it was: steps of the new version before the
    # last step it has events for were not in the version it ran, so they are passed.
    last_touched = max((i for i, s in enumerate(plan.steps) if s.key in touched), default=-1)
    on_path: set[str] = set()
    index, attempt, since = 0, 1, enrolled_at
    wait = plan.steps[0].wait
    while index < len(plan.steps):
        step = plan.steps[index]
        found = by_instance.get((step.key, attempt), [])
        sched = _canonical([e for e in found if e.kind == "scheduled"])
        outcomes = [e for e in found if e.kind == "outcome"]
        skips = [e for e in found if e.kind == "skipped"]
        reminder = reminders.get(sched.tickler_id) if sched and sched.tickler_id else None
        if sched is not None and sched.tickler_id:
            on_path.add(sched.tickler_id)
        if outcomes:
            best = max(
                outcomes, key=lambda e: (_STRENGTH[step.action(e.outcome)], -e.at.timestamp(), e.id)
            )
            action, at = step.action(best.outcome), best.at
            why = f"{step.kind} {best.outcome or 'done'}"
        elif skips:
            first = min(skips, key=lambda e: (e.at, e.id))
            action, at, why = "next", first.at, f"skipped: {first.reason}"
        elif reminder is not None and reminder.status != "open":
            action = "next"
            at = reminder.done_at or since
            why = f"reminder {reminder.status}"
        elif reminder is not None:
            return Position(
                "waiting",
                f"step {index + 1} ({step.kind}), attempt {attempt}: reminder open",
                step,
                index + 1,
                attempt,
                since,
                wait,
                sched.tickler_id if sched else None,
                frozenset(on_path),
            )
        elif migrated and step.key not in touched and index < last_touched:
            index, attempt = index + 1, 1
            continue
        else:
            return Position(
                "to-schedule",
                f"step {index + 1} ({step.kind}), attempt {attempt}: due {wait} business day(s) on",
                step,
                index + 1,
                attempt,
                since,
                wait,
                None,
                frozenset(on_path),
            )
        if action == "retry" and attempt <= step.retries:
            attempt, since, wait = attempt + 1, at, step.retry_wait
            continue
        if action == "retry":
            action = step.after_retries
            why = f"{why} after {attempt} attempt(s)"
        if action == "leave":
            return Position(
                "left", f"left at step {index + 1}: {why}", step, index + 1, attempt, at
            )
        index, attempt, since = index + 1, 1, at
        if index < len(plan.steps):
            wait = plan.steps[index].wait
    return Position("completed", "every step done", since=since, on_path=frozenset(on_path))
