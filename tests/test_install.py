"""A wheel of the checkout, installed (not editable) in a fresh venv, works outside the checkout.

Editable installs read the source tree, so they hide a package left out of the wheel
(crmtui.commands once was: every command of an installed `crm` failed). This builds
the wheel as pip would, installs it into a new virtual environment without network
(its dependencies come from the test venv through a .pth file) and runs `crm` from a
folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _shipped_sources() -> set[str]:
    """Every file the package needs, as its path inside the wheel."""
    wanted = {".py", ".tcss", ".mako", ".ini", ".typed"}
    files = {
        f"crmtui/{p.relative_to(ROOT / 'crmtui')}"
        for p in (ROOT / "crmtui").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    # Alembic's environment ships as crmtui.migrations (package-dir in pyproject.toml).
    files |= {
        f"crmtui/migrations/{p.relative_to(ROOT / 'migrations')}"
        for p in (ROOT / "migrations").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    return {f for f in files if Path(f).suffix in wanted}


def test_a_wheel_in_a_fresh_venv_runs_crm_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    # A copy of the build inputs: the checkout gets no build/ or egg-info, and two
    # xdist workers never build in the same folder.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("crmtui", "migrations"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))

    wheels = tmp_path / "wheels"
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "--wheel-dir", wheels, src,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("crmtui-*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert "crmtui/commands/__init__.py" in in_wheel
    assert _shipped_sources() - in_wheel == set()

    # A fresh venv; the wheel first, then the test venv's packages for its dependencies
    # (a plain path in a .pth: the test venv's own .pth files, among them the editable
    # crmtui's, are not read from there).
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        wheel,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
             cwd=tmp_path, env=env).stdout.strip()
    )  # fmt: skip
    (purelib / "test-venv-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = _run(
        python, "-c", "import crmtui.commands; print(crmtui.__file__)", cwd=outside, env=env
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(purelib), where.stdout

    crm = fresh / "bin" / "crm"
    helped = _run(crm, "--help", cwd=outside, env=env)
    assert helped.returncode == 0, helped.stderr
    assert "Usage: crm" in helped.stdout and "find" in helped.stdout

    db = outside / "demo.db"
    demo = _run(crm, "demo", "--db", db, "--contacts", "200", "--seed", "3", cwd=outside, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    with sqlite3.connect(db) as con:
        count = con.execute("SELECT count(*) FROM contact").fetchone()[0]
        given, family = con.execute(
            "SELECT given_name, family_name FROM contact WHERE family_name <> '' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    assert count == 200

    found = _run(crm, "find", family, "--db", db, "--format", "json", cwd=outside, env=env)
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert any(family in row["name"] and given in row["name"] for row in rows), rows[:3]
