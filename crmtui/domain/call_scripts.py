"""Call scripts: the TOML definition, its branches, and walking a call's answers through it.

A script is text an admin writes (reference data, published like a plan):

    name = "Intro call"
    [[question]]
    key = "budget"
    text = "Is there a budget for this year?"
    answers = ["yes", "no", "not sure"]      # choices; without them the answer is free text
    next = { no = "close", yes = "seats" }   # branch on the answer (else the next question)
    [[question]]
    key = "seats"
    text = "How many seats?"
    [[question]]
    key = "close"
    text = "May we call again next quarter?"
    answers = ["yes", "no"]

A branch may only jump forward (to a later question, or "end"), so every walk ends.
`walk` is pure: the answers given so far decide the path and the question now asked.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

END = "end"
"""A branch target that ends the script."""
MAX_QUESTIONS = 60
MAX_ANSWER = 300
"""Characters of one typed answer."""
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_SCRIPT_KEYS = frozenset({"name", "description", "question"})
_QUESTION_KEYS = frozenset({"key", "text", "answers", "next"})


class ScriptFileError(ValueError):
    """A script file that cannot be used; the message names the line and the field."""


class AnswerError(ValueError):
    """Answers that do not fit the script (unknown question, not a choice, off the path)."""


@dataclass(frozen=True)
class Question:
    """One question of a script."""

    key: str
    text: str
    answers: tuple[str, ...] = ()
    """The choices; empty: a free-text answer."""
    next: Mapping[str, str] = field(default_factory=dict)
    """Per answer (or "*" for any), the key of the question that follows, or "end"."""

    def after(self, answer: str) -> str | None:
        """The key that follows `answer` ("end"), or None for the next question in order."""
        return self.next.get(answer) or self.next.get("*")

    def match(self, answer: str) -> str:
        """The answer as the script spells it (a choice, matched by case or its number)."""
        text = answer.strip()
        if not text:
            raise AnswerError(f"{self.key}: the answer is empty")
        if len(text) > MAX_ANSWER:
            raise AnswerError(f"{self.key}: an answer has at most {MAX_ANSWER} characters")
        if not self.answers:
            return text
        for choice in self.answers:
            if choice.lower() == text.lower():
                return choice
        if text.isdigit() and 1 <= int(text) <= len(self.answers):
            return self.answers[int(text) - 1]
        raise AnswerError(
            f"{self.key}: {text!r} is not one of {', '.join(self.answers)}"
            f" (or their number 1-{len(self.answers)})"
        )


@dataclass(frozen=True)
class ScriptDef:
    """A parsed script: its name, description and questions in order."""

    name: str
    description: str
    questions: tuple[Question, ...]

    def index(self, key: str) -> int | None:
        """The position of the question called `key`, or None."""
        return next((i for i, q in enumerate(self.questions) if q.key == key), None)


@dataclass(frozen=True)
class Walk:
    """Where a call stands in its script: the answered questions on the path, and the next."""

    answered: tuple[tuple[Question, str], ...]
    current: Question | None
    """The question to ask now; None when the script has ended."""

    @property
    def done(self) -> bool:
        """Whether the script has no more questions to ask."""
        return self.current is None


def _line_of(text: str, number: int | None, key: str | None) -> int:
    """The 1-based line of a field (best effort: the question's header, else 1)."""
    lines = text.splitlines()
    start, seen = 0, -1
    if number is not None:
        for at, line in enumerate(lines):
            if line.strip().startswith("[[question]]"):
                seen += 1
                if seen == number:
                    start = at
                    break
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    for at in range(start, len(lines)):
        if at > start and number is not None and lines[at].strip().startswith("["):
            break
        if pattern is not None and pattern.match(lines[at]):
            return at + 1
    return start + 1


class _FieldError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _question(raw: object, number: int) -> Question:
    if not isinstance(raw, dict):
        raise _FieldError("question", "a question is a table ([[question]])")
    unknown = sorted(set(raw) - _QUESTION_KEYS)
    if unknown:
        raise _FieldError(unknown[0], "is not a question field (key, text, answers, next)")
    key = raw.get("key", f"q{number + 1}")
    if not isinstance(key, str) or not _KEY.fullmatch(key) or key == END:
        raise _FieldError("key", "must be lower-case letters, digits and dashes (not 'end')")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        raise _FieldError("text", "must be a non-empty text of at most 300 characters")
    answers = raw.get("answers", [])
    if not isinstance(answers, list) or not all(
        isinstance(a, str) and a.strip() and len(a) <= 80 for a in answers
    ):
        raise _FieldError("answers", "must be a list of texts of 1 to 80 characters")
    folded = [a.strip().lower() for a in answers]
    if len(set(folded)) != len(folded):
        raise _FieldError("answers", "lists one answer twice")
    nxt = raw.get("next", {})
    if isinstance(nxt, str):
        nxt = {"*": nxt}
    if not isinstance(nxt, dict) or not all(isinstance(v, str) for v in nxt.values()):
        raise _FieldError("next", 'must be a key, or a table like { no = "close" }')
    clean = tuple(a.strip() for a in answers)
    for answer in nxt:
        if answer != "*" and answer not in clean:
            raise _FieldError(
                "next",
                f"{answer!r} is not one of this question's answers"
                + (f" ({', '.join(clean)})" if clean else " (it has none: use next = KEY)"),
            )
    return Question(key, text.strip(), clean, dict(nxt))


def parse_script(text: str, *, source: str) -> ScriptDef:
    """Read a script file's text; `ScriptFileError` names `source`, the line and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptFileError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _SCRIPT_KEYS)
    if unknown:
        line = _line_of(text, None, unknown[0])
        raise ScriptFileError(f"{source}:{line}: unknown field {unknown[0]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        line = _line_of(text, None, "name")
        raise ScriptFileError(f"{source}:{line}: name must be a text of 1 to 80 characters")
    description = raw.get("description", "")
    if not isinstance(description, str):
        line = _line_of(text, None, "description")
        raise ScriptFileError(f"{source}:{line}: description must be a text")
    items = raw.get("question")
    if not isinstance(items, list) or not items:
        raise ScriptFileError(f"{source}: a script needs at least one [[question]]")
    if len(items) > MAX_QUESTIONS:
        raise ScriptFileError(f"{source}: a script has at most {MAX_QUESTIONS} questions")
    questions: list[Question] = []
    for number, item in enumerate(items):
        try:
            questions.append(_question(item, number))
        except _FieldError as exc:
            line = _line_of(text, number, exc.name)
            raise ScriptFileError(
                f"{source}:{line}: question {number + 1}: {exc.name} {exc}"
            ) from None
    keys = [q.key for q in questions]
    for number, question in enumerate(questions):
        if keys.index(question.key) != number:
            line = _line_of(text, number, "key")
            raise ScriptFileError(
                f"{source}:{line}: question {number + 1}: key {question.key!r} is used twice"
            )
        for target in question.next.values():
            if target == END:
                continue
            if target not in keys:
                line = _line_of(text, number, "next")
                raise ScriptFileError(
                    f"{source}:{line}: question {number + 1}: next {target!r} is no question"
                )
            if keys.index(target) <= number:
                line = _line_of(text, number, "next")
                raise ScriptFileError(
                    f"{source}:{line}: question {number + 1}: next {target!r} goes back"
                    " (a branch only jumps forward, so every call ends)"
                )
    return ScriptDef(name.strip(), description.strip(), tuple(questions))


def walk(script: ScriptDef, answers: Mapping[str, str]) -> Walk:
    """Follow the answers given so far through the branches (answers are already matched)."""
    path: list[tuple[Question, str]] = []
    index: int | None = 0
    while index is not None and index < len(script.questions):
        question = script.questions[index]
        if question.key not in answers:
            return Walk(tuple(path), question)
        answer = answers[question.key]
        path.append((question, answer))
        target = question.after(answer)
        if target == END:
            index = None
        elif target is None:
            index += 1
        else:
            index = script.index(target)
    return Walk(tuple(path), None)


def check_answers(script: ScriptDef, given: Mapping[str, str]) -> Walk:
    """Match typed answers (by question key) to the script and walk them; AnswerError if not."""
    matched: dict[str, str] = {}
    for key, answer in given.items():
        index = script.index(key)
        if index is None:
            keys = ", ".join(q.key for q in script.questions)
            raise AnswerError(f"{key!r} is no question of script {script.name} ({keys})")
        matched[key] = script.questions[index].match(answer)
    result = walk(script, matched)
    on_path = {q.key for q, _ in result.answered}
    off = [k for k in matched if k not in on_path]
    if off:
        raise AnswerError(
            f"{off[0]}: not asked after these answers (the script went "
            + (" -> ".join(q.key for q, _ in result.answered) or "nowhere")
            + ")"
        )
    return result


def answers_text(script_name: str, version: int, result: Walk) -> str:
    """The answers as the activity's text keeps them (searchable, in every export)."""
    lines = [f"Script {script_name} v{version}:"]
    lines += [f"- {q.text} {a}" for q, a in result.answered]
    return "\n".join(lines)
