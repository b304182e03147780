"""The daily loop's shell commands: the day, contacts, accounts, lookups, plans, mail."""
