"""The package list: discovered, so a new subpackage under crmtui/ ships without a line here."""

from setuptools import find_packages, setup

# pyproject.toml holds everything else. [tool.setuptools.packages.find] names a package
# by its folder, so it cannot ship the top-level migrations/ folder as crmtui.migrations
# (the package-dir mapping in pyproject.toml); find_packages here can.
setup(
    packages=[
        *find_packages(include=["crmtui", "crmtui.*"]),
        *(f"crmtui.{name}" for name in find_packages(include=["migrations", "migrations.*"])),
    ]
)
