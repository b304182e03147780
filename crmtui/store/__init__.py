"""The local data layer: models, engine, migrations, search, journal and services.

This package and everything in it stays free of Textual (a test enforces it), and
importing it is cheap: heavy modules (SQLModel, alembic) are imported by the
submodules that need them, so the shell lookup path can use `crmtui.store.lookup`
with nothing but sqlite3 and rapidfuzz.
"""
