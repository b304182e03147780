"""Finding things: the search index, the shell's fast lookup, recent contacts, the palette's finders.

Import-cheap: `crmtui.search.lookup` runs on sqlite3 and rapidfuzz alone (no SQLModel).
"""
