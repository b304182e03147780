"""Alembic environment for the local store (installed as `crmtui.migrations`)."""
