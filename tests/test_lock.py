"""requirements.lock keeps up with pyproject.toml: every dependency pinned, in range, hashed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _locked() -> dict[str, tuple[Version, int]]:
    """{name: (version, number of hashes)} from requirements.lock."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            name = canonicalize_name(pin.group(1))
            pins[name] = (Version(pin.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = _locked()
    stale = []
    for req in _declared():
        names = [req.name] + [f"{req.name}-{extra}" for extra in req.extras]  # psycopg[binary]
        for name in names:
            pinned = locked.get(canonicalize_name(name))
            if pinned is None or (name == req.name and pinned[0] not in req.specifier):
                stale.append(f"{req} (locked: {pinned[0] if pinned else 'missing'})")
    assert not stale, f"requirements.lock is behind pyproject.toml, run `make lock`: {stale}"


def test_every_pin_carries_its_hashes() -> None:
    locked = _locked()
    assert len(locked) > 50  # the dependencies' dependencies too
    assert [name for name, (_, hashes) in locked.items() if hashes == 0] == []
