"""Persistence: the engine, the models, migrations, the journal and the write transaction.

This package and everything in it stays free of Textual (import-linter and a test
enforce it), and importing it is cheap: heavy modules (SQLModel, alembic) are
imported by the submodules that need them, so the shell lookup path
(`crmtui.search.lookup`) can use `crmtui.store.schema_version` with nothing but
sqlite3 and rapidfuzz. The layers above and below are in docs/architecture.md.
"""
