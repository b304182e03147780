"""CSV export of contacts, accounts, deals and activities, safe to open in a spreadsheet.

Rows are read with plain SQL (values as stored: UTC timestamps as text, amounts
in minor units plus a decimal `amount` column) and written with the csv module.
Tombstoned rows are left out; archived ones are kept (they are still data).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, TextIO

from crmtui.domain.money import exponent

# A cell starting with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets (CSV injection); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_QUERIES = {
    "contacts": (
        "SELECT c.*, a.name AS company, ad.street, ad.region, ad.postcode FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id "
        # The primary address item, the one city and country are derived from
        # (`contact_details.primary_columns`): the marked one with the greatest id,
        # else the oldest. Its street, region and postcode are no contact columns.
        "LEFT JOIN contact_address ad ON ad.id = ("
        " SELECT x.id FROM contact_address x WHERE x.contact_id = c.id AND x.deleted_at IS NULL"
        " ORDER BY x.is_primary DESC, CASE WHEN x.is_primary THEN x.id END DESC, x.id LIMIT 1) "
        "WHERE c.deleted_at IS NULL ORDER BY c.name, c.id"
    ),
    "accounts": "SELECT * FROM account WHERE deleted_at IS NULL ORDER BY name, id",
    "deals": (
        "SELECT d.*, a.name AS account, c.name AS contact, s.name AS stage FROM deal d "
        "LEFT JOIN account a ON a.id = d.account_id "
        "LEFT JOIN contact c ON c.id = d.contact_id "
        "LEFT JOIN stage s ON s.id = d.stage_id "
        "WHERE d.deleted_at IS NULL ORDER BY d.created_at, d.id"
    ),
    "activities": (
        "SELECT x.*, c.name AS contact, a.name AS account FROM activity x "
        "LEFT JOIN contact c ON c.id = x.contact_id "
        "LEFT JOIN account a ON a.id = x.account_id "
        "WHERE x.deleted_at IS NULL ORDER BY x.occurred_at, x.id"
    ),
}
EXPORT_ENTITIES = tuple(_QUERIES)
_JSON_LISTS = {"tags"}
_DROPPED = {"deleted_at"}  # always empty in an export of live rows


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet will run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def plain_amount(minor: int, currency: str) -> str:
    """Minor units as a plain decimal a spreadsheet reads as a number ("1234.50")."""
    places = exponent(currency)
    sign, digits = ("-" if minor < 0 else ""), f"{abs(minor):0{places + 1}d}"
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def _rows(db: sqlite3.Connection, entity: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    cursor = db.execute(_QUERIES[entity])
    names = [d[0] for d in cursor.description]
    return names, iter(cursor)


def export_csv(db: sqlite3.Connection, entity: str, out: TextIO, *, bom: bool = False) -> int:
    """Write one entity's live rows as CSV with a header; returns the row count.

    `bom` starts the text with U+FEFF, which Excel needs to read UTF-8 as UTF-8.
    """
    if entity not in _QUERIES:
        raise ValueError(f"cannot export {entity!r} (choose from {', '.join(EXPORT_ENTITIES)})")
    names, rows = _rows(db, entity)
    keep = [i for i, n in enumerate(names) if n not in _DROPPED]
    header = [names[i] for i in keep]
    amount_at = names.index("amount_minor") if "amount_minor" in names else None
    if amount_at is not None:
        header.append("amount")
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        cells = []
        for i in keep:
            value = row[i]
            if names[i] in _JSON_LISTS and isinstance(value, str):
                value = ";".join(json.loads(value))
            cells.append(neutralise(value))
        if amount_at is not None:
            minor, currency = row[amount_at], row[names.index("currency")]
            cells.append("" if minor is None else plain_amount(minor, currency))
        writer.writerow(cells)
        count += 1
    return count
