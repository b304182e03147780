"""Where crmtui keeps its files, and the user's settings (TOML).

Resolution order for the database: `--db PATH`, then `CRMTUI_DB`, then `db` in
the config file, then the platform's user data folder. The config file is
`CRMTUI_CONFIG` or `config.toml` in the platform's user config folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

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
    default_region_set: bool = False
    """Whether default_region came from the config file (imports guess no region otherwise)."""

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
    for name, value in raw.items():
        expected = int if name in ("call_cap", "call_cap_days") else str
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"{path}: {name} must be a {expected.__name__}, not {value!r}")
    return Settings(**raw, default_region_set="default_region" in raw)


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
