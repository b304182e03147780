"""Excel workbooks (.xlsx) import as their CSV would (crmtui/formats/spreadsheet.py).

HubSpot, Salesforce and Pipedrive export .xlsx as readily as CSV; the import took
one for a binary file ("NUL byte"). The workbooks here are written by xlsxwriter,
a producer independent of the reader (openpyxl), with what Excel files really hold:
numbers where a CSV has text (ids, phones without their "+"), dates, formulas with
their computed values, a second sheet, a report's title above the table.
"""

from __future__ import annotations

import datetime
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import xlsxwriter
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.csv_import import read_csv

HUBSPOT = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Company Name", "Job Title", "City", "Country/Region", "Create Date", "Lead Status",
]  # fmt: skip


def _crm(db: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exit_code == code, result.stderr
    return result.stdout, result.stderr


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime.datetime):
                    ws.write_datetime(r, c, value, stamp)
                elif isinstance(value, tuple):  # (formula, its computed value)
                    ws.write_formula(r, c, value[0], None, value[1])
                elif value is not None:
                    ws.write(r, c, value)
    book.close()
    return path


def _hubspot(path: Path) -> Path:
    return _workbook(
        path,
        {
            "contacts": [
                HUBSPOT,
                [1201, "Greta", "Lindqvist", "greta@lindqvist.example", "+46 8 123 456 78",
                 None, "Lindqvist AB", "CFO", "Stockholm", "Sweden",
                 datetime.datetime(2025, 10, 1, 12, 30), "OPEN"],
                [1202, "Paolo", "Ricci", "paolo@ricci.example", 390212345678, 393471234567,
                 "Ricci Srl", "Buyer", "Milano", "Italy", datetime.datetime(2025, 3, 1), None],
                [],
                [("=A3+1", 1203), "Ines", "Ortega", "ines@ortega.example", "0034 91 123 45 67",
                 None, "Ortega SL", None, "Madrid", "Spain", None, None],
            ],
            "About": [["exported by HubSpot"]],
        },
    )  # fmt: skip


def test_a_workbook_reads_as_its_csv_with_excel_row_numbers(tmp_path: Path) -> None:
    source = read_csv(_hubspot(tmp_path / "export.xlsx"))
    assert source.sheet == "contacts" and source.headers == HUBSPOT
    assert [line for line, _ in source.records] == [2, 3, 5]  # row 4 is blank
    greta, paolo, ines = (cells for _, cells in source.records)
    assert greta[0] == "1201" and greta[10] == "2025-10-01T12:30:00"
    assert paolo[4:6] == ["390212345678", "393471234567"]  # numbers, as Excel shows them
    assert paolo[10] == "2025-03-01"
    assert ines[0] == "1203"  # a formula: the value Excel computed
    assert (
        source.note
        == "read sheet 'contacts'; the workbook also has 'About' (--sheet NAME reads one)"
    )


def test_crm_import_csv_takes_a_workbook_and_says_every_guess(tmp_path: Path) -> None:
    db, book = tmp_path / "crm.db", _hubspot(tmp_path / "export.xlsx")
    out, err = _crm(db, "import", "csv", str(book), "--dry-run")
    assert "read 3 rows (Excel sheet 'contacts', profile hubspot)" in err
    assert (
        "line 3:   note: phone '390212345678' read as IT (the row's country): +390212345678" in out
    )
    assert "line 5: new: Ines Ortega" in out
    _crm(db, "import", "csv", str(book))
    con = sqlite3.connect(db)
    rows = dict(con.execute("SELECT external_id, phone_e164 FROM contact").fetchall())
    con.close()
    assert rows == {"1201": "+46812345678", "1202": "+390212345678", "1203": "+34911234567"}


def test_another_sheet_and_an_unknown_one(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "two.xlsx",
        {"Summary": [["Total", 2]], "People": [["Name", "Email"], ["Ann Lee", "ann@example.com"]]},
    )
    db = tmp_path / "crm.db"
    out, _ = _crm(db, "import", "csv", str(book), "--sheet", "People", "--dry-run")
    assert "line 2: new: Ann Lee" in out
    _, err = _crm(db, "import", "csv", str(book), "--sheet", "Leute", code=2)
    assert "no sheet 'Leute' (sheets: Summary, People)" in err
    _, err = _crm(db, "import", "csv", str(book), "--encoding", "latin-1", code=2)
    assert "--encoding is for text files" in err


def test_a_report_title_above_the_table_is_skipped(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "report.xlsx",
        {
            "Report": [
                ["Contacts with Accounts"],
                ["Filtered By: Account Owner equals Ann"],
                [],
                ["First Name", "Last Name", "Account Name", "Email"],
                ["Ann", "Lee", "Lee Ltd", "ann@lee.example"],
                ["Grand Totals (1 records)"],
            ]
        },
    )
    source = read_csv(book)
    assert source.headers == ["First Name", "Last Name", "Account Name", "Email"]
    assert [line for line, _ in source.records] == [5]
    assert source.preamble == [
        (1, "Contacts with Accounts"), (2, "Filtered By: Account Owner equals Ann"),
    ]  # fmt: skip
    assert source.skipped == [(6, "Grand Totals (1 records)")]


def test_a_bad_row_goes_to_a_csv_rejects_file_that_imports(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "bad.xlsx",
        {"S": [["Name", "Email"], ["Ann Lee", "ann@example.com"], ["", "nobody@example.com"]]},
    )
    db, rejects = tmp_path / "crm.db", tmp_path / "fix.csv"
    out, _ = _crm(db, "import", "csv", str(book), "--skip-bad", "--rejects", str(rejects))
    assert "line 3: rejected: name: is empty" in out
    assert rejects.read_text().splitlines() == [
        "Name,Email,reason",
        ',nobody@example.com,"name: is empty (no name, first name or last name)"',
    ]
    fixed = rejects.read_text().replace(",nobody@", "Nobody Else,nobody@")
    rejects.write_text(fixed)
    _, err = _crm(db, "import", "csv", str(rejects))
    assert "imported 1 new contacts" in err


def test_accounts_import_from_a_workbook(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "accounts.xlsx",
        {"Accounts": [["Account ID", "Account Name", "Billing Country"],
                      ["0015g00000A1", "Lindqvist AB", "Sweden"]]},
    )  # fmt: skip
    _, err = _crm(tmp_path / "crm.db", "import", "accounts", str(book))
    assert "read 1 rows (Excel sheet 'Accounts', profile salesforce)" in err
    assert "imported 1 new accounts" in err


def test_spreadsheets_it_cannot_read_are_named_with_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    _, err = _crm(db, "import", "csv", str(xls), code=2)
    assert "Excel 97-2003 workbook (.xls)" in err and "save it as .xlsx or CSV" in err
    ods = tmp_path / "sheet.ods"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    _, err = _crm(db, "import", "csv", str(ods), code=2)
    assert "OpenDocument spreadsheet (.ods)" in err
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "x")
    _, err = _crm(db, "import", "csv", str(other), code=2)
    assert "a ZIP archive, not a CSV file or an Excel workbook" in err
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("xl/workbook.xml", "<not a workbook")
    _, err = _crm(db, "import", "csv", str(broken), code=2)
    assert "not a readable .xlsx workbook" in err


EXCEL = Path(__file__).parent / "data" / "real" / "excel"


def test_workbooks_saved_by_microsoft_excel_read_as_excel_shows_them() -> None:
    table = read_csv(EXCEL / "autofilter00.xlsx")
    assert table.headers == ["Region", "Item", "Volume", "Month"]
    assert len(table.records) == 50 and table.records[0] == (2, ["East", "Apple", "9000", "July"])
    assert table.records[-1] == (51, ["East", "Grape", "6000", "February"])
    # The 1904 date system (Excel for Mac's): each day as Excel shows it.
    dates = read_csv(EXCEL / "date_1904_02.xlsx")
    assert [c for _, (c,) in dates.records] == [
        "1906-09-27", "1917-09-09", "1931-05-19", "2177-10-15", "4641-11-27",
    ]  # fmt: skip
    # A sheet named "5&4", and cells of quotes, ampersands and angle brackets.
    escapes = read_csv(EXCEL / "escapes01.xlsx")
    assert escapes.sheet == "5&4"
    assert [c for _, (c,) in escapes.records][:2] == ["'<>&", "1b"]


def test_an_empty_sheet_says_so(tmp_path: Path) -> None:
    _, err = _crm(tmp_path / "crm.db", "import", "csv", str(EXCEL / "xlrd_sample.xlsx"), code=2)
    assert "sheet 'Sheet1': line 1: no header row" in err
