"""The domain services: every write to contacts, accounts, deals, leads, ticklers, territories, merges."""
