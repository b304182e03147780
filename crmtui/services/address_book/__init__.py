"""The services for who is who: contacts, accounts, people (identity over items)."""
