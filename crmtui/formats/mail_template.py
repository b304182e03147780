"""Mail templates: a text file with a Subject line, a blank line, and a body with merge fields.

    Subject: Our offer for {company}

    Hello {first_name},
    ...
    {rep}

Merge fields are `{name}`, `{first_name}`, `{last_name}`, `{company}`,
`{deal}`, `{rep}` and `{email}`; `{{` and `}}` write a brace. A field the
contact has no value for is an error naming the field (a mail that reads
"Dear ," is worse than none), unless written with a default: `{company|your team}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELDS = ("name", "first_name", "last_name", "company", "deal", "rep", "email")
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}|]*)(?:\|([^{}]*))?\}")


class TemplateError(ValueError):
    """A template that cannot be read or filled; the message names the field or line."""


@dataclass(frozen=True)
class MailTemplate:
    """A template as written: subject and body, merge fields still in them."""

    subject: str
    body: str

    def fields(self) -> list[str]:
        """The merge fields it uses, in order of first use."""
        found: list[str] = []
        for text in (self.subject, self.body):
            for m in _FIELD.finditer(text):
                if m.group(1) is not None and m.group(1).strip() not in found:
                    found.append(m.group(1).strip())
        return found

    def as_text(self) -> str:
        """The template file's text (what an editor shows)."""
        return f"Subject: {self.subject}\n\n{self.body}"


def parse_template(text: str, where: str = "template") -> MailTemplate:
    """Read a template from its text (merge fields checked); raises TemplateError."""
    template = parse_mail(text, where)
    unknown = [f for f in template.fields() if f not in FIELDS]
    if unknown:
        raise TemplateError(
            f"{where}: unknown merge field {{{unknown[0]}}} (known: {', '.join(FIELDS)})"
        )
    return template


def parse_mail(text: str, where: str = "the mail") -> MailTemplate:
    """Read a Subject line, a blank line and a body (no field checks); raises TemplateError."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    head, sep, body = text.partition("\n\n")
    first = head.split("\n")
    if not first[0].lower().startswith("subject:"):
        raise TemplateError(f"{where}: the first line must be 'Subject: ...'")
    if len(first) > 1:
        raise TemplateError(f"{where}: put one blank line between the Subject line and the body")
    subject = first[0][len("subject:") :].strip()
    if not subject:
        raise TemplateError(f"{where}: the subject is empty")
    if not sep or not body.strip():
        raise TemplateError(f"{where}: the body is empty")
    return MailTemplate(subject, body.rstrip() + "\n")


def _fill(text: str, values: dict[str, str | None], where: str) -> str:
    def one(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        name, default = m.group(1).strip(), m.group(2)
        value = values.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise TemplateError(f"{where}: no value for {{{name}}}")

    return _FIELD.sub(one, text)


def render(template: MailTemplate, values: dict[str, str | None], where: str) -> MailTemplate:
    """The template with its merge fields filled from `values`; raises TemplateError naming a missing one."""
    subject = " ".join(_fill(template.subject, values, where).split())
    return MailTemplate(subject, _fill(template.body, values, where))
