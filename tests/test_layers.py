"""The layering rules of DESIGN.md, enforced."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import crmtui

PACKAGE_DIR = Path(crmtui.__file__).parent


def _modules(package: str) -> list[str]:
    path = PACKAGE_DIR / package.split(".", 1)[1]
    # walk_packages, not iter_modules: services/ has subpackages (sales/, upkeep/, ...).
    found = pkgutil.walk_packages([str(path)], prefix=f"{package}.")
    return [package] + [m.name for m in found]


# Everything below the UI (docs/architecture.md); import-linter checks the same statically.
CORE = (
    "crmtui.domain",
    "crmtui.store",
    "crmtui.search",
    "crmtui.services",
    "crmtui.reports",
    "crmtui.quality",
    "crmtui.formats",
    "crmtui.demo",
    "crmtui.sync",
    "crmtui.dav",
)


def test_store_and_sync_never_import_textual() -> None:
    names = [name for package in CORE for name in _modules(package)]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual'"
        " or m.startswith(('crmtui.screens', 'crmtui.widgets', 'crmtui.app')))\n"
        "assert not bad, bad\n"
        "print(len(" + repr(names) + "))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(names) > 5


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_widgets_do_not_touch_the_store() -> None:
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): sorted(
            m for m in _imports(path) if m.startswith(("crmtui.store", "sqlite3", "sqlmodel"))
        )
        for path in (PACKAGE_DIR / "widgets").glob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_nothing_outside_the_store_writes_with_sqlmodel_sessions() -> None:
    # Writes go through Store.write(); a Session built elsewhere would bypass the journal.
    offenders = []
    for path in PACKAGE_DIR.rglob("*.py"):
        rel = path.relative_to(PACKAGE_DIR)
        if rel.parts[0] == "store":
            continue
        if "Session(" in path.read_text(encoding="utf-8"):
            offenders.append(str(rel))
    assert offenders == []
