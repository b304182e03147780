"""The database's own shell commands: import, export, demo data, db upkeep, undo."""
