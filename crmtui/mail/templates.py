"""The templates folder: mail templates as `NAME.txt` files, listed and read for the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crmtui.formats.mail_template import MailTemplate, TemplateError, parse_template


@dataclass(frozen=True)
class TemplateEntry:
    """One template file: its name, and its subject (or why it cannot be read)."""

    name: str
    subject: str
    readable: bool = True


def template_folder(configured: str | None, config_dir: Path) -> Path:
    """`[mail] templates_dir`, else `templates` beside the config file."""
    return Path(configured).expanduser() if configured else config_dir / "templates"


def template_path(folder: Path, name: str) -> Path:
    """The file of template `name`; raises TemplateError for a name that is not a plain name."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise TemplateError(f"invalid template name {name!r} (a plain name like 'follow-up')")
    return folder / (name if name.endswith(".txt") else f"{name}.txt")


def list_templates(folder: Path) -> list[TemplateEntry]:
    """Every template in `folder`, by name; an unreadable one is listed with the reason."""
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    out = []
    for path in files:
        try:
            subject = parse_template(path.read_text(encoding="utf-8"), str(path)).subject
        except (OSError, UnicodeDecodeError, TemplateError) as exc:
            out.append(TemplateEntry(path.stem, f"(unreadable: {exc})", readable=False))
            continue
        out.append(TemplateEntry(path.stem, subject))
    return out


def read_template(folder: Path, name: str) -> MailTemplate:
    """Template `name` from `folder`; raises TemplateError saying what is wrong, path included."""
    path = template_path(folder, name)
    try:
        return parse_template(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise TemplateError(f"no template {path} (crm mail templates lists them)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read it ({exc})") from None
