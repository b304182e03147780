"""The migration head this code expects; the fast lookup path checks it with sqlite3.

A test asserts it equals alembic's head, so forgetting to bump it fails CI.
"""

SCHEMA_HEAD = "0022_leadcalls"
