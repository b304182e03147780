"""Where crmtui keeps its files, and the user's settings (TOML).

Resolution order for the database: `--db PATH`, then `CRMTUI_DB`, then `db` in
the config file, then the platform's user data folder. The config file is
`CRMTUI_CONFIG` or `config.toml` in the platform's user config folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmtui.domain.business_days import WorkCalendar
    from crmtui.mail.settings import MailSettings

APP_NAME = "crmtui"


class ConfigError(ValueError):
    """The config file cannot be read or holds a bad value."""


@dataclass(frozen=True)
class Settings:
    """User settings; every field has a sensible default."""

    db: str | None = None
    """Database path used when neither --db nor CRMTUI_DB is given."""
    default_region: str = "DE"
    """ISO country code used to read phone numbers typed without +country code."""
    timezone: str | None = None
    """IANA zone for reading and showing dates; the system zone when unset."""
    call_cap: int = 3
    """Default contact-frequency cap: at most this many calls ..."""
    call_cap_days: int = 30
    """... within this many days."""
    rep_name: str | None = None
    """Who is working on this laptop; stamped on activities."""
    working_hour: str = "09:00"
    """When a next touch given as a day ("tomorrow", "in 2 days") is due: HH:MM, local time."""
    working_days: str = "mon-fri"
    """The worked weekdays ("mon-fri", "mon,tue,thu"): follow-up plans wait in business days."""
    holidays: tuple[str, ...] = ()
    """Dates (YYYY-MM-DD) nobody works: plan steps never fall on them."""
    theme: str | None = None
    """The app's colour theme, as last chosen in the app (Ctrl+P "Change theme")."""
    territory_period: str | None = None
    company_currency: str | None = None
    """The ISO 4217 code forecasts convert into (e.g. "EUR"); unset: no converted total."""
    company_name: str | None = None
    """Printed at the top of quote PDFs."""
    company_address: str | None = None
    """Printed under the company's name on quote PDFs (lines separated by newlines)."""
    quote_fallback_fonts: tuple[str, ...] | None = None
    """TTF files for characters DejaVu Sans lacks (CJK) in quote PDFs; unset: Droid Sans
    Fallback when installed (Debian fonts-droid-fallback)."""
    """The F4 Territories period, as last chosen there (`p`)."""
    quote_language: str | None = None
    """The language of quote PDF labels when the customer has none (en, de, fr, cs)."""
    quote_languages: tuple[tuple[str, str], ...] = ()
    """The `[quote_languages]` table: a contact (id, name or email) or an account (id or
    name) and the language its quotes are printed in; the contact's wins."""
    quote_logo: str | None = None
    """A PNG or JPEG printed at the top of quote PDFs."""
    default_region_set: bool = False
    """Whether default_region came from the config file (imports guess no region otherwise)."""
    dial_command: str | None = None
    """How `c` dials (crmtui.domain.dialling): e.g. "xdg-open {uri}"; None: no dialling."""
    calling_hours: str | None = None
    """"09:00-18:00": the call list offers a contact only within these hours in the
    contact's own time zone (from its number); unset: any time."""
    call_script: str | None = None
    """The call script (its name) the call list shows when the contact's plan step names
    none: the script of the calling campaign under way (`crm script ...`)."""
    mail: MailSettings | None = None
    """The `[mail]` table (`crmtui.mail.settings`); None when the file has none."""

    @property
    def import_region(self) -> str | None:
        """The region imports read national numbers in: the configured one, else none."""
        return self.default_region if self.default_region_set else None


def user_config_path() -> Path:
    """The config file in use."""
    env = os.environ.get("CRMTUI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    """The database used when nothing else is said."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "crm.db"


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file; a missing file means defaults."""
    path = path or user_config_path()
    if not path.exists():
        return Settings()
    import tomllib  # only when there is a file: keeps `crm find` start-up lean

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    known = {f.name: f for f in fields(Settings) if f.name != "default_region_set"}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    if "mail" in raw:
        from crmtui.mail.settings import mail_settings

        try:
            raw["mail"] = mail_settings(raw["mail"], str(path))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    _check_types(path, raw)
    if "working_hour" in raw and parse_hour(raw["working_hour"]) is None:
        raise ConfigError(
            f"{path}: working_hour must be HH:MM (like 09:00), not {raw['working_hour']!r}"
        )
    _check_calendar(path, raw)
    _check_calling(path, raw)
    if "company_currency" in raw:
        from crmtui.domain.money import BadMoney, check_currency

        try:
            raw["company_currency"] = check_currency(raw["company_currency"])
        except BadMoney as exc:
            raise ConfigError(f"{path}: company_currency: {exc}") from exc
    if "holidays" in raw:
        raw["holidays"] = tuple(raw["holidays"])
    if "quote_fallback_fonts" in raw:
        raw["quote_fallback_fonts"] = tuple(raw["quote_fallback_fonts"])
    if "quote_languages" in raw:
        raw["quote_languages"] = tuple(sorted(raw["quote_languages"].items()))
    return Settings(**raw, default_region_set="default_region" in raw)


def _check_types(path: Path, raw: dict) -> None:
    """Each setting's TOML type (the tables and lists by their own rules)."""
    for name, value in raw.items():
        if name == "mail":
            continue
        if name == "holidays":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: holidays must be a list of dates, not {value!r}")
            continue
        if name == "quote_languages":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(
                    f'{path}: [quote_languages] maps a contact or account to a language ("de")'
                )
            continue
        if name == "quote_fallback_fonts":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {name} must be a list of font file paths")
            continue
        expected = int if name in ("call_cap", "call_cap_days") else str
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"{path}: {name} must be a {expected.__name__}, not {value!r}")


def _check_calling(path: Path, raw: dict) -> None:
    """The dial command and the calling hours, read the way the app will read them."""
    if "dial_command" in raw:
        from crmtui.domain.dialling import DialError, check_dial_command

        try:
            check_dial_command(raw["dial_command"])
        except DialError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if "calling_hours" in raw:
        from crmtui.domain.calling_hours import parse_hours

        try:
            parse_hours(raw["calling_hours"])
        except ValueError as exc:
            raise ConfigError(f"{path}: calling_hours {exc}") from None


def _check_calendar(path: Path, raw: dict) -> None:
    from crmtui.domain.business_days import parse_holidays, parse_weekdays

    try:
        parse_weekdays(raw.get("working_days", "mon-fri"))
    except ValueError as exc:
        raise ConfigError(f"{path}: working_days {exc}") from None
    try:
        parse_holidays(raw.get("holidays", []))
    except ValueError as exc:
        raise ConfigError(f"{path}: holidays: {exc}") from None


def work_calendar(settings: Settings) -> WorkCalendar:
    """The business-day calendar of the settings (checked when they were read)."""
    from datetime import time

    from crmtui.domain.business_days import WorkCalendar, parse_holidays, parse_weekdays

    hour, minute = parse_hour(settings.working_hour) or (9, 0)
    return WorkCalendar(
        parse_weekdays(settings.working_days),
        parse_holidays(list(settings.holidays)),
        time(hour, minute),
    )


def parse_hour(text: str) -> tuple[int, int] | None:
    """(hour, minute) of an "HH:MM" text, or None when it is not one."""
    hour, sep, minute = text.strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        return None
    h, m = int(hour), int(minute)
    return (h, m) if 0 <= h < 24 and 0 <= m < 60 else None


VIEW_CHOICES = frozenset({"theme", "territory_period"})
"""Settings the app writes back when the user changes them on screen."""


def save_view_choice(name: str, value: str, path: Path | None = None) -> None:
    """Write one view choice to the config file, keeping its other lines and comments.

    Raises `ConfigError` when the file cannot be read or written, or would not read back.
    """
    if name not in VIEW_CHOICES:
        raise ValueError(f"{name} is not a view choice")
    import json

    path = path or user_config_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    # A JSON string is a valid TOML basic string (same escapes).
    line = f"{name} = {json.dumps(value, ensure_ascii=False)}"
    # A view choice is a top-level key: it goes among the lines before the first table
    # ([mail], [budget]), never after one, where TOML would read it as that table's.
    top = next((i for i, old in enumerate(lines) if old.lstrip().startswith("[")), len(lines))
    for i, old in enumerate(lines[:top]):
        if old.split("=", 1)[0].strip() == name:
            lines[i] = line
            break
    else:
        end = top
        while end > 0 and not lines[end - 1].strip():
            end -= 1  # keep the blank line that sets the first table apart
        lines.insert(end, line)
    text = "\n".join(lines) + "\n"
    import tomllib

    try:
        written = tomllib.loads(text).get(name)
    except tomllib.TOMLDecodeError as exc:
        written = exc
    if written != value:  # a layout this cannot edit safely: the file is left as it was
        raise ConfigError(f"cannot keep {name} in config {path}: edit it by hand")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write config {path}: {exc}") from exc


def resolve_db_path(cli_value: str | Path | None = None) -> Path:
    """The database to open: --db, then CRMTUI_DB, then the config, then the default."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get("CRMTUI_DB")
    if env:
        return Path(env).expanduser()
    configured = load_settings().db
    if configured:
        return Path(configured).expanduser()
    return default_db_path()
