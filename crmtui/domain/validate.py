"""Input checks and normalisation for the services: phones, emails, names, tags."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SYNCED_VALUE_CHARS = 65_536
"""The longest JSON text of one field value the sync server takes (`wire.MAX_VALUE_CHARS`).

Local writes are held to it too, so no change is made that could never be pushed.
"""


class InvalidInput(ValueError):
    """A value a user gave cannot be stored; names the field and the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Phone:
    """A phone number as typed and in E.164."""

    typed: str
    e164: str


def normalize_phone(raw: str, *, region: str, field: str = "phone") -> Phone:
    """Parse a phone number; numbers without +country use `region` (e.g. "DE")."""
    import phonenumbers

    typed = raw.strip()
    if not typed:
        raise InvalidInput(field, "is empty")
    try:
        parsed = phonenumbers.parse(typed, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(field, f"{typed!r} is not a phone number ({exc})") from exc
    # Very short "possible" numbers (service codes) are typing mistakes in a CRM.
    if len(str(parsed.national_number)) < 5 or not phonenumbers.is_possible_number(parsed):
        raise InvalidInput(
            field,
            f"{typed!r} is not a possible number (region {region.upper()} assumed "
            "when there is no +country code)",
        )
    # E.164 is "+", the country code and the national significant number; building it
    # directly skips format_number's second pass (bulk imports check 100k phones).
    e164 = f"+{parsed.country_code}{phonenumbers.national_significant_number(parsed)}"
    return Phone(typed, e164)


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Check an email address's syntax (offline) and return its normalised form."""
    from email_validator import EmailNotValidError, validate_email

    text = raw.strip()
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(field, f"{text!r} is not a valid address: {exc}") from exc


def require_text(raw: str | None, field: str, *, max_len: int = 200) -> str:
    """A required single-line text value, trimmed."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput(field, "must not be empty")
    if len(text) > max_len:
        raise InvalidInput(field, f"is longer than {max_len} characters")
    if "\n" in text or "\r" in text:
        raise InvalidInput(field, "must be a single line")
    return text


def optional_text(raw: str | None, field: str, *, max_len: int = 200) -> str | None:
    """An optional single-line text value; empty means none."""
    if raw is None or not raw.strip():
        return None
    return require_text(raw, field, max_len=max_len)


def long_text(raw: str | None, field: str, *, max_len: int = 10_000) -> str | None:
    """An optional text of several lines (a note, a mail's first part): line ends made
    `\n`, trailing blanks dropped; empty means none."""
    if raw is None:
        return None
    lines = [line.rstrip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        return None
    if len(text) > max_len:
        raise InvalidInput(field, f"is longer than {max_len} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise InvalidInput(field, "holds control characters")
    return text


TAG_MAX = 40
"""The longest tag, in characters."""


def clean_tags(raw: list[str] | tuple[str, ...]) -> list[str]:
    """Trim, lowercase and de-duplicate tags, keeping their order."""
    seen: list[str] = []
    for tag in raw:
        t = tag.strip().lower()
        if not t:
            raise InvalidInput("tag", "must not be empty")
        if len(t) > TAG_MAX or any(ch.isspace() for ch in t):
            raise InvalidInput(
                "tag", f"{tag!r}: tags are single words of at most {TAG_MAX} characters"
            )
        if t not in seen:
            seen.append(t)
    return seen


def split_name(name: str) -> tuple[str | None, str | None]:
    """Best-effort given and family names from a full name ("Anna Müller")."""
    parts = name.split()
    if len(parts) < 2:
        return None, None
    return " ".join(parts[:-1]), parts[-1]
