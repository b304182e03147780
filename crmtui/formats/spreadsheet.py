"""Excel workbooks (.xlsx) as tables: HubSpot, Salesforce and Pipedrive export them.

One sheet is read (the one Excel shows first, or `--sheet NAME`); each row's line
is its row number in the sheet, so every message names the row a user sees in
Excel. Cells become the text an import reads: whole numbers without ".0" (Excel
keeps phone numbers and ids as numbers), dates as ISO dates, a formula as the value
Excel last computed. Old .xls workbooks and OpenDocument sheets are named and
refused with what to do, never read as garbled text.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from crmtui.formats.table_rows import NoHeader, Table, tabulate

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls), and other OLE files


class WorkbookError(ValueError):
    """The file is a spreadsheet this reader cannot take, or a broken one."""


def spreadsheet_kind(path: Path) -> str | None:
    """ "xlsx" for an Excel workbook, None for anything else (a text file).

    Raises WorkbookError for spreadsheets that must be saved differently first.
    """
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(_OLE):
        raise WorkbookError(
            "an Excel 97-2003 workbook (.xls) or another binary Office file: open it and save"
            " it as .xlsx or CSV (UTF-8)"
        )
    if not head.startswith(_ZIP):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype") if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"a damaged ZIP archive ({exc}), not a CSV or .xlsx file") from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        raise WorkbookError(
            "an OpenDocument spreadsheet (.ods): save it as .xlsx or CSV (UTF-8) first"
        )
    raise WorkbookError("a ZIP archive, not a CSV file or an Excel workbook (.xlsx)")


def read_workbook(path: Path, sheet: str | None = None) -> tuple[Table, str, str | None]:
    """The table of one sheet, the sheet's name, and a note when there were others."""
    from openpyxl import load_workbook

    try:
        # read_only streams the rows; data_only gives a formula's last computed value.
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise WorkbookError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise WorkbookError(f"no sheet {sheet!r} (sheets: {', '.join(names)})")
        if sheet is not None:
            chosen = sheet
        else:  # the sheet Excel opens on
            chosen = book.active.title if book.active is not None else names[0]
        ws = book[chosen]
        ws.reset_dimensions()  # some producers write a wrong size; read what is there
        lines = (
            (n, [_text(v) for v in row])
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1)
        )
        try:
            table = tabulate(lines)
        except NoHeader as exc:
            raise WorkbookError(f"sheet {chosen!r}: {exc}") from exc
    finally:
        book.close()
    note = None
    if len(names) > 1 and sheet is None:
        others = ", ".join(repr(n) for n in names if n != chosen)
        note = f"read sheet {chosen!r}; the workbook also has {others} (--sheet NAME reads one)"
    return table, chosen, note


def _text(value: Any) -> str:
    """A cell as the text an import reads."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A whole number (a phone, an id, an amount) is written as Excel shows it.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
