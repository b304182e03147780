"""Importing contacts from CSV files made by other CRMs and spreadsheets.

Three steps: `read_csv` decodes and splits the file (encoding and delimiter
detected), `plan_import` checks every row and decides what it would do (new,
update, unchanged, duplicate, rejected) without writing, and `apply_import` writes
the plan in the caller's single write transaction with bulk inserts.

Decisions:
- A file with any rejected row imports nothing, unless the caller asks to skip
  bad rows: half an import is worse than none, and the report names every bad
  line so the file can be fixed and imported again.
- A row matches an existing contact under the identity rule of
  crmtui.domain.identity: the same external id or email is the same person, a
  different one is someone else; a phone (with its extension) plus an agreeing
  name is a *weak* match, which never changes the stored name or strong keys; a
  shared phone alone matches nobody. Matched rows change the contact only with
  `update_existing`; empty cells never clear a stored value.
- A row whose folded name equals an existing contact's but matches no key is a
  *probable duplicate*: imported (it may be a namesake) unless `skip_duplicates`,
  and listed so `crm dedupe scan` can follow up. A row that is, by the same rule,
  the person of an earlier row of the file is skipped as a duplicate of that line.
- Nothing is guessed silently: a phone read in the row's country or the default
  region, a number kept as typed (no region known), a country kept as text are
  each a note on the row, shown by the dry run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

from crmtui.domain.identity import (
    DIFFERENT,
    EVIDENCE,
    SAME,
    Who,
    extension,
    item_key,
    judge,
    name_keys,
    phone_key,
)
from crmtui.domain.ids import uuid7
from crmtui.domain.kept import merged, with_columns
from crmtui.domain.text import fold
from crmtui.domain.validate import (
    TAG_MAX,
    InvalidInput,
    clean_tags,
    optional_text,
    split_name,
)
from crmtui.formats.address_books.layout import (
    LAYOUTS,
    describe,
    detect_layout,
    layout_record,
    make_layout,
    names_people,
    scan,
)
from crmtui.formats.address_books.person import UNSURE_BIRTHDAY, certain_date
from crmtui.formats.countries import country_code
from crmtui.formats.csv_profiles import HeaderMapping, column_name, map_headers
from crmtui.formats.encodings import UndecodableError, decode_file
from crmtui.formats.import_checks import check_bool, check_email, check_phone
from crmtui.formats.spreadsheet import WorkbookError, read_workbook, spreadsheet_kind
from crmtui.formats.table_rows import MAX_CELL, NoHeader, tabulate
from crmtui.search.search_index import index_contact_rows, index_many
from crmtui.services.address_book.people import stored_whos
from crmtui.services.contact_items import add_item, derive_columns, item_rows
from crmtui.services.reindex import Items, reindex_contact, row_document
from crmtui.store.bulk import (
    BulkWriter,
    deferred_indexes,
    full_row,
    full_rows,
    row_template,
    uuid7_batch,
)
from crmtui.store.gc_pause import paused_gc
from crmtui.store.journal import WriteTx
from crmtui.store.models import CONTACT_ITEMS, Account, Contact

Progress = Callable[[int, int], None]
CHUNK = 5000
# Rows with a cell over MAX_CELL are rejected alone; `_CSV_LIMIT` lets the csv module
# read them (its own 128 KiB limit would stop the whole file at one huge cell).
_CSV_LIMIT = 1 << 30
# Longest cells accepted (a CSV with a 10 MB cell is a broken file, not a note).
_TEXT_LIMITS = {
    "salutation": 40,
    "title": 120,
    "city": 120,
    "source": 60,
    "external_id": 120,
    "notes": 10_000,
    "nickname": 120,
    "department": 120,
    "website": 300,
    "source_uid": 300,
    "street": 300,
    "region": 120,
    "postcode": 20,
}
_COMPARED = (
    "name", "title", "tags", "notes", "external_id", "do_not_call", "do_not_email",
    "salutation", "nickname", "department", "website", "birthday",
)  # fmt: skip
# Phones, emails and addresses are items: a matched row adds the ones the contact lacks
# (`_item_adds`), never replacing the ones it has.
# What a weak match (phone and name) never changes: the name and the strong keys.
_STRONG = frozenset({"name", "email", "external_id"})
_FORMULA_STARTS = "=+-@\t\r"  # what crmtui.formats.exports.neutralise guards with an apostrophe
_SNIFF_DELIMITERS = ",;\t|"


class CsvImportError(ValueError):
    """The file cannot be read as CSV at all (encoding, no header); names the line."""


@dataclass
class CsvFile:
    """A decoded CSV file: how it was read, its header and its records with line numbers."""

    encoding: str
    delimiter: str
    headers: list[str]
    records: list[tuple[int, list[str]]]
    note: str | None = None
    oversize: dict[int, str] = field(default_factory=dict)  # line -> why its row is refused
    skipped: list[tuple[int, str]] = field(default_factory=list)  # report footers: line, text
    preamble: list[tuple[int, str]] = field(default_factory=list)  # lines above the header
    sheet: str | None = None  # an Excel workbook's sheet that was read

    def cells_of(self) -> dict[int, list[str]]:
        """Each record's cells by line (for the rejected-rows file)."""
        return dict(self.records)


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise CsvImportError(
            f"line {line}: byte 0x{byte} cannot be decoded as {encoding} "
            "(save the file as UTF-8 and try again)"
        ) from exc


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        # One column, or too irregular to sniff: the most frequent candidate on line 1.
        first = sample.split("\n", 1)[0]
        return max(_SNIFF_DELIMITERS, key=first.count) if first else ","


def _text_of(path: Path, encoding: str | None) -> tuple[str, str, str | None]:
    """The file's text, its encoding and how it was decided; CsvImportError if unreadable."""
    data = path.read_bytes()
    if encoding:
        text, note = _strict(data, encoding), None
    else:
        try:
            decoded = decode_file(data)
        except UndecodableError as exc:
            raise CsvImportError(str(exc)) from exc
        text, encoding, note = decoded.text, decoded.encoding, decoded.note
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise CsvImportError(f"line {line}: NUL byte; this is not a text CSV file")
    return text, encoding, note


@paused_gc()
def read_csv(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> CsvFile:
    """Decode and split a CSV file, or read a sheet of an Excel workbook (.xlsx).

    Raises CsvImportError when it cannot be read.
    """
    try:
        if spreadsheet_kind(path) == "xlsx":
            if encoding is not None:
                raise CsvImportError("--encoding is for text files; this is an Excel workbook")
            table, name, note = read_workbook(path, sheet)
            return CsvFile(
                "xlsx", ",", table.headers, table.records, note, table.oversize, table.skipped,
                table.preamble, sheet=name,
            )  # fmt: skip
    except WorkbookError as exc:
        raise CsvImportError(str(exc)) from exc
    if sheet is not None:
        raise CsvImportError("--sheet is for Excel workbooks (.xlsx); this is a text file")
    text, encoding, note = _text_of(path, encoding)
    delimiter = _delimiter(text[:16_384])
    # strict: a quote opened and never closed is an error naming its line, not one
    # giant cell swallowing the rest of the file.
    # Python's own cell limit (128 KiB) would stop the whole file at one huge cell;
    # cells are measured below instead, and a row with a huge one is reported alone.
    if csv.field_size_limit() < _CSV_LIMIT:
        csv.field_size_limit(_CSV_LIMIT)
    try:
        table = tabulate(_csv_lines(text, delimiter), check_sizes=len(text) > MAX_CELL)
    except NoHeader as exc:
        raise CsvImportError(str(exc)) from exc
    return CsvFile(
        encoding, delimiter, table.headers, table.records, note, table.oversize,
        table.skipped, table.preamble,
    )  # fmt: skip


def _csv_lines(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it starts on; a CSV error names its line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = " (a quote opened here is never closed)" if "end of data" in str(exc) else ""
        raise CsvImportError(f"line {start}: {exc}{hint}") from exc


@dataclass
class Row:
    """One data row: its line, the values it gives and what the import will do with it."""

    line: int
    values: dict[str, Any]
    company: str | None
    action: str = "new"  # new | update | unchanged | matched | duplicate | rejected
    reason: str = ""
    contact_id: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    where: str | None = None  # a fuller position when a count is not enough ("card 3 in a.vcf")
    notes: list[str] = field(default_factory=list)  # guesses, values kept as typed, near misses
    weak: bool = False  # matched by phone and name only: name and strong keys never change
    matched_name: str | None = None  # the stored contact's name, for the dry run
    adds: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Items a matched row adds to its contact: (item table, values), see `_item_adds`."""

    def describe_adds(self) -> list[str]:
        """The items this row adds, in words ("adds phone +1 212 555 0100")."""
        return [f"adds {_item_words(table, values)}" for table, values in self.adds]


@dataclass
class ImportPlan:
    """What an import would do, row by row, before anything is written."""

    rows: list[Row]
    unit: str = "line"  # what a row's position counts: CSV lines, or vCard cards
    source: CsvFile | None = None
    mapping: HeaderMapping | None = None
    file_notes: list[str] = field(default_factory=list)  # how files were decoded
    dropped: dict[str, int] = field(default_factory=dict)  # property not read -> rows

    def count_dropped(self, names: Iterable[str]) -> None:
        """Count one row's properties that were not imported (listed once in the summary)."""
        for name in names:
            self.dropped[name] = self.dropped.get(name, 0) + 1

    def by_action(self, action: str) -> list[Row]:
        """The rows with one outcome."""
        return [r for r in self.rows if r.action == action]

    def counts(self) -> dict[str, int]:
        """Rows per outcome (probable duplicates counted apart from plain new rows)."""
        out = {
            a: 0
            for a in ("new", "update", "unchanged", "matched", "duplicate", "probable", "rejected")
        }
        for r in self.rows:
            out["probable" if r.action == "new" and r.reason else r.action] += 1
        return out


def _text(value: str, name: str) -> str | None:
    if name == "notes":
        # Notes are one line in crmtui; a multi-line description keeps its lines apart.
        value = " / ".join(line.strip() for line in value.splitlines() if line.strip())
    return optional_text(value, name, max_len=_TEXT_LIMITS.get(name, 200))


def _tags(value: str) -> tuple[list[str], list[str]]:
    """The labels as tags, and those too long to be one (kept as text by the caller)."""
    # Pipedrive and HubSpot separate labels with commas or semicolons; words within a
    # label are joined with "-" because crmtui tags are single words.
    parts = [p.strip() for chunk in value.split(";") for p in chunk.split(",")]
    words = [("-".join(p.split()), p) for p in parts if p]
    return (
        clean_tags([w for w, _ in words if len(w) <= TAG_MAX]),
        [p for w, p in words if len(w) > TAG_MAX],
    )


_BLANKS = re.compile(r"[ \t\xa0]+")
# A national number as typed, with an optional extension (checked when no region is known).
_TYPED_NUMBER = re.compile(
    r"[0-9 ().\-/]+(?:\s*(?:ext\.?|extension|x|#|;ext=)\s*[0-9]{1,7})?", re.IGNORECASE
)


def _name(cells: dict[str, str], out: dict[str, Any], problems: list[InvalidInput]) -> None:
    """The full name (from a name column, else first + last) and its parts into `out`."""
    given = (cells.get("given_name") or "").strip()
    family = (cells.get("family_name") or "").strip()
    name = cells.get("name") or ""
    if name:
        name = _BLANKS.sub(" ", name).strip()
    # " ".join of the parts that are given, without a generator per row.
    name = name or (f"{given} {family}" if given and family else given or family)
    if "\n" in name or "\r" in name:
        problems.append(InvalidInput("name", "spans several lines"))
    elif not name:
        problems.append(InvalidInput("name", "is empty (no name, first name or last name)"))
    elif len(name) > 200:
        problems.append(InvalidInput("name", "is longer than 200 characters"))
    out["name"] = name
    out["given_name"], out["family_name"] = (
        (given or None, family or None) if (given or family) else split_name(name)
    )


_TEXT_KEYS = (
    "salutation",
    "title",
    "city",
    "notes",
    "source",
    "external_id",
    "nickname",
    "department",
    "website",
    "source_uid",
    "street",
    "region",
    "postcode",
)
_PHONE_KEYS = (("phone", "phone_e164"), ("mobile", "mobile_e164"))


def _place_and_phones(
    get: Callable[[str], str | None],
    out: dict[str, Any],
    region: str | None,
    notes: list[str],
    problems: list[InvalidInput],
) -> None:
    """The country (kept as text when unknown) and the phones, read in the row's country."""
    country = (get("country") or "").strip()
    if country:
        code = country_code(country)
        if code is not None:
            out["country"] = code
        elif len(country) > 120:
            problems.append(InvalidInput("country", "is longer than 120 characters"))
        else:
            # Kept as written: a country we cannot name is still the person's address.
            out["_country_text"] = country
            notes.append(f"country {country!r} is not a country we know: kept as text")
    phone_region = out.get("country") or region
    for key, e164_key in _PHONE_KEYS:
        raw = (get(key) or "").strip()
        if raw[:1] == "'":
            raw = raw[1:].strip()  # a spreadsheet's text mark ("'+49 ..."), ours included
        if not raw:
            continue
        if raw[0] != "+" and phone_region is None:
            # No country in the row and no default region: no guess is written as a fact.
            if not _TYPED_NUMBER.fullmatch(raw) or sum(c.isdigit() for c in raw) < 5:
                _keep_typed(key, raw, out, notes, problems)
                continue
            out[key] = raw
            notes.append(
                f"{key} {raw!r} has no country code and no region is known "
                "(no country in the row, no default_region configured): kept as typed, not dialled"
            )
            continue
        try:
            phone = check_phone(raw, phone_region or "ZZ", key)
            out[key], out[e164_key] = phone.typed, phone.e164
        except InvalidInput:
            _keep_typed(key, raw, out, notes, problems)
            continue
        if raw[0] != "+":
            whence = "the row's country" if out.get("country") == phone_region else "default_region"
            notes.append(f"{key} {raw!r} read as {phone_region} ({whence}): {phone.e164}")


# A number kept as typed is one line of at most this many characters; anything longer
# is not a number a person typed but another column's text, and the row is refused.
_TYPED_PHONE_MAX = 60


def _not_typed(text: str, limit: int) -> bool:
    """Whether an unreadable value is another column's text (too long, several lines),
    which refuses the row, rather than a person's typing, which is kept as written."""
    return len(text) > limit or "\n" in text or "\r" in text


def _keep_typed(
    key: str, raw: str, out: dict[str, Any], notes: list[str], problems: list[InvalidInput]
) -> None:
    """A number that cannot be read ("ask reception", a digit too many) kept as typed, noted:
    one unreadable field never costs the whole person (TARGETS.md, import of real files)."""
    if _not_typed(raw, _TYPED_PHONE_MAX):
        problems.append(InvalidInput(key, f"{raw[:40]!r}... is not a phone number"))
        return
    out[key] = raw
    notes.append(f"{key} {raw!r} cannot be read as a number: kept as typed, not dialled")


def _details(
    cells: dict[str, str],
    out: dict[str, Any],
    region: str | None,
    notes: list[str],
    problems: list[InvalidInput],
    unread: dict[str, str],
) -> None:
    """Birthday, unmodelled properties and every phone, email and address of a card;
    `unread`: values kept as text (`extra`)."""
    birthday = (cells.get("birthday") or "").strip()
    if birthday:
        try:
            out["birthday"] = date.fromisoformat(birthday)
        except ValueError:
            day = certain_date(birthday)
            if day is not None:
                out["birthday"] = day
                notes.append(f"birthday {birthday!r} read as {day.isoformat()}")
            elif _not_typed(birthday, 120):
                problems.append(InvalidInput("birthday", f"{birthday[:40]!r} is not a date"))
            else:
                unread["Birthday (as written)"] = birthday
                notes.append(UNSURE_BIRTHDAY.format(text=birthday))
    extra = (cells.get("extra") or "").strip() or None
    if extra is not None and not _json_object(extra):
        problems.append(
            InvalidInput("extra", "is not a JSON object (our export's kept properties)")
        )
        extra = None
    if "_kept" in cells:
        extra = with_columns(extra, json.loads(cells["_kept"]))
    if unread:
        extra = with_columns(extra, unread)
    if extra:
        out["extra"] = extra
    if cells.get("_items"):
        whence = "the row's country" if out.get("country") else "default_region"
        # Told by _place_and_phones: the numbers it read, and those it kept as typed.
        noted = {out.get("phone_e164"), out.get("mobile_e164")}
        noted |= {out[k] for k, e in _PHONE_KEYS if out.get(k) and not out.get(e)}
        out["_items"] = _card_items(
            json.loads(cells["_items"]), out.get("country") or region, notes, (whence, noted)
        )


def _json_object(text: str) -> bool:
    """Whether a cell is a JSON object (the `extra` column of our own export)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _card_items(
    items: dict[str, Any],
    region: str | None,
    notes: list[str],
    told: tuple[str, set[str | None]] = ("default_region", set()),
) -> dict[str, list[dict[str, Any]]]:
    """A card's items checked; a number or address we cannot read is kept as written, noted.

    A national number read in `region` is a guess, noted as the columns' numbers are
    (`told`: where the region came from, and the numbers already noted).
    """
    phones = []
    for kind, typed, primary in items.get("phones", []):
        e164 = None
        try:
            e164 = check_phone(typed, region or "ZZ", "phone").e164
        except InvalidInput:
            if typed not in told[1]:
                notes.append(f"{kind} phone {typed!r} kept as typed (not a number we can dial)")
        else:
            if not typed.lstrip().startswith("+") and e164 not in told[1]:
                notes.append(f"{kind} phone {typed!r} read as {region} ({told[0]}): {e164}")
        phones.append(
            {"kind": kind, "number": typed, "e164": e164, "extension": extension(typed),
             "is_primary": bool(primary) and kind != "fax"}
        )  # fmt: skip
    _dialled(phones, notes)
    emails = []
    for kind, written, primary in items.get("emails", []):
        address = written
        try:
            address = check_email(written)
        except InvalidInput:
            notes.append(f"{kind} email {written!r} kept as written (not a valid address)")
        emails.append({"kind": kind, "address": address, "is_primary": bool(primary)})
    addresses = []
    for parts in items.get("addresses", []):
        country = parts.get("country") or None
        code = country_code(country) if country else None
        addresses.append(
            {
                "kind": parts["kind"],
                **{k: parts.get(k) or None for k in ("street", "city", "region", "postcode")},
                "country": code or country,
                "is_primary": bool(parts.get("primary")),
            }
        )
    return {"contact_phone": phones, "contact_email": emails, "contact_address": addresses}


def _dialled(phones: list[dict[str, Any]], notes: list[str]) -> None:
    """The number the call list dials must be one it can dial: a marked one that cannot
    (typed as words, no country known) gives way to the first that can, noted."""
    marked = next((p for p in phones if p["is_primary"]), None)
    if marked is None or marked["e164"]:
        return
    usable = [p for p in phones if p["e164"] and p["kind"] != "fax"]
    choice = next((p for p in usable if p["kind"] != "mobile"), usable[0] if usable else None)
    if choice is None:
        return
    marked["is_primary"], choice["is_primary"] = False, True
    notes.append(
        f"{marked['number']!r} cannot be dialled: the call list dials {choice['number']!r}"
    )


def _unread_email(
    email: str,
    exc: InvalidInput,
    cells: dict[str, str],
    notes: list[str],
    problems: list[InvalidInput],
    unread: dict[str, str],
) -> None:
    """An address we cannot write to, kept as text (a card's items keep it themselves)."""
    if _not_typed(email, 254):
        problems.append(exc)
    elif not cells.get("_items"):
        unread["Email (not an address)"] = email
        notes.append(f"email {email!r} is not an address we can write to: kept as text")


def _row_values(
    cells: dict[str, str], region: str | None, notes: list[str] | None = None
) -> tuple[dict[str, Any], str | None]:
    """Checked contact values from one row's mapped cells; raises InvalidInput listing all.

    Guesses and values kept as typed are added to `notes` for the dry run.
    """
    # Plain try blocks rather than a helper taking closures: this runs once per row
    # of a 100k-row import, and every check's problem is collected, in this order.
    out: dict[str, Any] = {}
    problems: list[InvalidInput] = []
    get = cells.get
    if notes is None:
        notes = []
    _name(cells, out, problems)
    _place_and_phones(get, out, region, notes, problems)
    # Values we cannot read, kept as text under these names (`extra`) and noted.
    unread: dict[str, str] = {}
    email = (get("email") or "").strip()
    if email:
        try:
            out["email"] = check_email(email)
        except InvalidInput as exc:
            _unread_email(email, exc, cells, notes, problems, unread)
    for key in _TEXT_KEYS:
        raw = get(key) or ""
        text = raw.strip()
        if not text:
            continue
        # A one-line cell within its limit is what `_text` returns, stripped; anything
        # else (notes, lines, too long) goes through `_text` for its rule or message.
        one_line = "\n" not in text and "\r" not in text
        if key != "notes" and one_line and len(text) <= _TEXT_LIMITS[key]:
            out[key] = text
            continue
        try:
            out[key] = _text(raw, key)
        except InvalidInput as exc:
            problems.append(exc)
    if (get("tags") or "").strip():
        tags, too_long = _tags(cells["tags"])
        if tags:
            out["tags"] = tags
        if too_long:
            unread["Tags (too long for a tag)"] = "; ".join(too_long)
            notes.append(
                f"label {too_long[0]!r} is longer than a tag ({TAG_MAX} characters): kept as text"
            )
    for key in ("do_not_call", "do_not_email"):
        if key in cells:
            try:
                out[key] = check_bool(cells[key], key)
            except InvalidInput as exc:
                problems.append(exc)
    _details(cells, out, region, notes, problems, unread)
    if problems:
        raise InvalidInput(
            problems[0].field, "; ".join(f"{p.field}: {p.message}" for p in problems)
        )
    if "_country_text" in out:
        out["country"] = out.pop("_country_text")
    ref = (get("account_external_id") or "").strip()
    if ref:
        out["account_external_id"] = ref
    company = " ".join((get("company") or "").split()) or None
    return out, company


@dataclass
class _Existing:
    """The contacts already stored, indexed by their identity keys (crmtui.domain.identity)."""

    by_external: dict[str, str]
    by_email: dict[str, str]
    by_phone: dict[str, list[str]]  # a switchboard number is many people's
    by_name: dict[str, str]
    people: dict[str, Who]
    # A switchboard's people by family word (see `_Seen`), made when a row first needs it.
    by_phone_name: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    orders: dict[str, dict[str, int]] = field(default_factory=dict)  # stored order on a phone

    def on_phone(self, key: str, name: str) -> list[str]:
        """The stored people on a shared phone whose name could agree with `name`."""
        index = self.by_phone_name.get(key)
        if index is None:
            index = self.by_phone_name[key] = {}
            for cid in self.by_phone[key]:
                index.setdefault(name_keys(self.people[cid].name)[0], []).append(cid)
        lists = [index[w] for w in name_keys(name)[1] if w in index]
        if len(lists) == 1:
            return lists[0]
        order = self.orders.get(key) or self.orders.setdefault(
            key, {c: i for i, c in enumerate(self.by_phone[key])}
        )
        return sorted({c for found in lists for c in found}, key=order.__getitem__)


# Characters a number as typed has when it carries no extension: digits and separators
# (translated away; anything left may be an extension).
_NUMBER_CHARS = str.maketrans(dict.fromkeys("+0123456789 ().-/"))


def _key_of(e164: str, typed: str) -> str:
    """The identity key of a phone: E.164, plus the extension when one is typed."""
    # An extension needs a letter, "#" or ";" before its digits; most numbers have none.
    if typed.isascii() and not typed.translate(_NUMBER_CHARS):
        return e164
    return phone_key(e164, typed) or e164


def _existing(tx: WriteTx) -> _Existing:
    """Every stored contact's identity (all its emails and phones), indexed by key."""
    ext: dict[str, str] = {}
    email: dict[str, str] = {}
    phone: dict[str, list[str]] = {}
    name: dict[str, str] = {}
    people = stored_whos(tx.db)
    for cid, who in people.items():
        if who.external_id:
            ext.setdefault(who.external_id, cid)
        if who.source_uid:
            ext.setdefault(who.source_uid, cid)
        for address in who.emails:
            email.setdefault(address, cid)
        for key in who.phones:
            phone.setdefault(key, []).append(cid)
        name.setdefault(fold(who.name), cid)
    return _Existing(ext, email, phone, name, people)


def _phone_keys(values: dict[str, Any]) -> list[str]:
    """A row's phone identity keys (E.164 with the extension typed, if any), a card's items too."""
    keys = []
    get = values.get
    if get("phone_e164"):
        keys.append(_key_of(values["phone_e164"], values["phone"]))
    if get("mobile_e164"):
        keys.append(_key_of(values["mobile_e164"], values["mobile"]))
    if "_items" in values:
        for item in values["_items"].get("contact_phone", ()):
            if item["e164"]:
                key = item_key(item["e164"], item["extension"], item["number"])
                if key not in keys:
                    keys.append(key)
    return keys


def _who(values: dict[str, Any], phones: list[str]) -> Who:
    """A row's identity: its external id and UID, and every email it gives (a card's items)."""
    email = values.get("email")
    emails = [email.lower()] if email else []
    for item in values.get("_items", {}).get("contact_email", ()):
        low = item["address"].lower()
        if low not in emails:
            emails.append(low)
    return Who(values["name"], values.get("external_id"), tuple(emails), tuple(phones),
               values.get("source_uid"))  # fmt: skip


def _file_who(values: dict[str, Any], phones: list[str], crm_id: str | None) -> Who:
    """A row's identity against the file's other rows: a crmtui id is the record itself
    (two rows of our own export are two records, whatever they share)."""
    who = _who(values, phones)
    return Who(who.name, f"crmtui:{crm_id}", who.emails, who.phones) if crm_id else who


_NEAR_MISSES_NAMED = 5
"""Stored contacts sharing a row's phone that the dry run names one by one; more are a
switchboard, counted in one note."""


def _match_stored(
    row: Row, who: Who, existing: _Existing, crm_id: str | None, update_existing: bool
) -> None:
    """Match a row to a stored contact under the identity rule; sets action, reason, notes."""
    values = row.values
    ext = values.get("external_id")
    if crm_id and crm_id in existing.people:
        # Our own export's id column: the very record, whatever else changed.
        _matched(row, crm_id, existing, "same crmtui id", weak=False, update=update_existing)
        return
    if ext and ext in existing.people and ext not in existing.by_external:
        # crmtui's own id in an id column read as an external id (an older export).
        del values["external_id"]
        _matched(row, ext, existing, "same id", weak=False, update=update_existing)
        return
    candidates: list[str] = []
    if ext and (cid := existing.by_external.get(ext)):
        candidates.append(cid)
    for address in who.emails:
        if cid := existing.by_email.get(address):
            candidates.append(cid)
    switchboards: list[tuple[str, int]] = []
    for key in who.phones:
        sharing = existing.by_phone.get(key, ())
        if len(sharing) <= _NEAR_MISSES_NAMED:
            candidates += sharing  # each one judged, and named if it is not this person
            continue
        # A switchboard: only the people whose name could agree are judged; the others
        # (a phone alone is never evidence) are counted in one note.
        agreeing = existing.on_phone(key, who.name)
        candidates += agreeing
        switchboards.append((key, len(sharing) - len(agreeing)))
    evidence: list[tuple[str, str]] = []
    seen: set[str] = set()
    for cid in candidates:
        if cid in seen:
            continue
        seen.add(cid)
        stored = existing.people[cid]
        verdict = judge(who, stored)
        if verdict.kind == SAME:
            _matched(row, cid, existing, verdict.reason, weak=False, update=update_existing)
            return
        if verdict.kind == EVIDENCE:
            evidence.append((cid, verdict.reason))
        elif verdict.reason:
            row.notes.append(f"not {stored.name} [{cid}]: {verdict.reason}")
    for key, others in switchboards:
        if others:
            row.notes.append(
                f"not the {others} other stored contacts on {key} (a shared number; their"
                " names or emails differ)"
            )
    if len(evidence) == 1:
        cid, reason = evidence[0]
        _matched(row, cid, existing, reason, weak=True, update=update_existing)
    elif evidence:
        # Phone and name agree with several people: nobody is picked; imported as new
        # and listed as a probable duplicate for `crm dedupe scan`.
        row.reason = "phone and name agree with " + ", ".join(f"[{c}]" for c, _ in evidence)
        row.contact_id = evidence[0][0]


def _matched(
    row: Row, cid: str, existing: _Existing, reason: str, *, weak: bool, update: bool
) -> None:
    row.contact_id = cid
    row.matched_name = existing.people[cid].name
    row.reason = reason + (" (weak: name, email and external id are kept)" if weak else "")
    row.weak = weak
    row.action = "update" if update else "matched"


@dataclass
class _Seen:
    """The first row (index into the plan's rows) of each key met so far in the file.

    A phone is looked up with a family word (`identity.name_keys`): a phone is evidence
    only with a name that agrees, so the rows sharing a switchboard are never compared
    with every earlier one (10,000 colleagues on one number took minutes).
    """

    ext: dict[str, int]
    email: dict[str, int]
    phone: dict[str, int]  # the first row of each phone
    phone_name: dict[str, list[int]]  # a shared phone's rows: "key NUL family word" -> rows
    whos: dict[int, Who]

    def add(self, index: int, ext: str | None, who: Who, rows: list[Row]) -> None:
        """Remember a row's keys (its family word only once its phone is shared)."""
        if ext:
            self.ext.setdefault(ext, index)
        for email in who.emails:
            self.email.setdefault(email, index)
        for key in who.phones:
            first = self.phone.setdefault(key, index)
            if first == index:
                continue
            if first >= 0:  # the number is shared from now on: its first row joins the index
                self.phone[key] = -1 - first
                self._index(key, first, rows[first].values["name"])
            self._index(key, index, who.name)

    def _index(self, key: str, index: int, name: str) -> None:
        self.phone_name.setdefault(f"{key}\x00{name_keys(name)[0]}", []).append(index)

    def by_phone(self, key: str, name: str) -> list[int]:
        """Earlier rows on this phone whose name could agree with `name`."""
        first = self.phone.get(key)
        if first is None:
            return []
        if first >= 0:
            return [first]  # one row on the number: judged as it is
        return [i for w in name_keys(name)[1] for i in self.phone_name.get(f"{key}\x00{w}", ())]


def _same_as_earlier(
    row: Row,
    crm_id: str | None,
    who: Who,
    seen: _Seen,
    rows: list[Row],
    unit: str,
) -> None:
    """Mark a row that is, by the identity rule, the person of an earlier row a duplicate.

    A row sharing only a switchboard number with an earlier one is someone else.
    """
    earlier: list[int] = []
    if who.external_id and (i := seen.ext.get(who.external_id)) is not None:
        earlier.append(i)
    for email in who.emails:
        if (i := seen.email.get(email)) is not None:
            earlier.append(i)
    by_phone: set[int] = set()
    for key in who.phones:
        by_phone.update(seen.by_phone(key, who.name))
    earlier += sorted(by_phone)  # file order, as before: the first that agrees is named
    if not earlier:
        return
    mine = _file_who(row.values, list(who.phones), crm_id)
    for i in earlier:
        if i not in seen.whos:
            seen.whos[i] = _who(rows[i].values, _phone_keys(rows[i].values))
        verdict = judge(mine, seen.whos[i])
        if verdict.kind in (SAME, EVIDENCE):
            row.action = "duplicate"
            row.reason = f"{verdict.reason} as {unit} {rows[i].line}"
            break


def _refused(source: CsvFile, line: int, cells: list[str], width: int) -> str | None:
    """Why a record cannot be read at all (a huge cell, more cells than columns), or None."""
    if source.oversize and line in source.oversize:
        return source.oversize[line]
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return f"{len(cells)} cells for {width} columns"
    return None


def mapped_records(
    source: CsvFile, mapping: HeaderMapping, *, unguard: bool = False
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Each record as (line, field -> cell), or (line, why it cannot be read).

    `unguard` strips crmtui's own export's spreadsheet guard ("'+49 ...", "'=x").
    """
    columns = list(mapping.columns.items())
    width = len(source.headers)
    fields = [f for _, f in columns]
    # A row with every mapped cell (nearly all) is picked in one C call.
    pick = itemgetter(*(i for i, _ in columns)) if len(columns) > 1 else None
    needed = max((i for i, _ in columns), default=-1) + 1
    kept = [(i, column_name(source.headers, i)) for i in mapping.kept]
    for line, raw_cells in source.records:
        cells = raw_cells
        if unguard:
            cells = [
                c[1:] if c[:1] == "'" and c[1:2] and c[1] in _FORMULA_STARTS else c
                for c in raw_cells
            ]
        refused = _refused(source, line, cells, width)
        if refused is not None:
            yield line, refused
        else:
            if pick is not None and len(cells) >= needed:
                mapped = dict(zip(fields, pick(cells), strict=True))
            else:
                mapped = {f: cells[i] for i, f in columns if i < len(cells)}
            if kept:
                values = {
                    h: cells[i].strip() for i, h in kept if i < len(cells) and cells[i].strip()
                }
                if values:
                    mapped["_kept"] = json.dumps(values, ensure_ascii=False)
            yield line, mapped


def _layout_records(
    source: CsvFile, name: str, overrides: dict[str, str] | None
) -> tuple[HeaderMapping, list[tuple[int, dict[str, str] | str]]]:
    """An address book export's rows (Google, Outlook, Thunderbird), every phone, email and
    address as items."""
    layout = make_layout(name, source.headers, overrides)
    found = scan(layout, source.headers, (cells for _, cells in source.records))
    headers = source.headers
    width = len(headers)
    records: list[tuple[int, dict[str, str] | str]] = []
    kept: set[str] = set()
    for line, cells in source.records:
        refused = _refused(source, line, cells, width)
        if refused is not None:
            records.append((line, refused))
        else:
            record = layout_record(layout, headers, cells)
            if "_kept" in record:
                kept.update(json.loads(record["_kept"]))
            records.append((line, record))
    # Kept: the columns no field takes, and the labels of a person's own ("Assistant").
    names = [column_name(headers, i) for i in range(width)]
    kept_at = tuple(sorted({names.index(h) for h in kept if h in names}))
    ignored = [headers[i] for i in sorted(layout.dropped | set(found.defaults))]
    return HeaderMapping(name, describe(layout, found), tuple(ignored), (), kept_at), records


def plan_import(
    tx: WriteTx,
    source: CsvFile,
    *,
    region: str | None,
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
    update_existing: bool = False,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check every CSV row and decide its outcome; writes nothing."""
    layout = profile if profile in LAYOUTS else None
    if profile is None:
        layout = detect_layout(source.headers)
    records: Iterable[tuple[int, dict[str, str] | str]]
    if layout is not None:
        mapping, records = _layout_records(source, layout, overrides)
    else:
        mapping = map_headers(source.headers, profile=profile, overrides=overrides)
        records = mapped_records(source, mapping, unguard=mapping.profile == "crmtui")
    named = ("name", "given_name", "family_name")
    if not any(f in mapping.columns.values() for f in named) and not (
        layout and names_people(source.headers)
    ):
        raise CsvImportError('line 1: no column gives the name (map one with --map "Column=name")')
    rows = plan_records(
        tx,
        records,
        total=len(source.records),
        region=region,
        update_existing=update_existing,
        skip_duplicates=skip_duplicates,
        progress=progress,
    )
    return ImportPlan(rows, source=source, mapping=mapping)


@paused_gc()  # see gc_pause.paused_gc: ~10% of a 100k import went to the cycle collector
def plan_records(
    tx: WriteTx,
    records: Iterable[tuple[int, dict[str, str] | str]],
    *,
    total: int,
    region: str | None,
    update_existing: bool = False,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
    unit: str = "line",
) -> list[Row]:
    """Check records (position, field -> text; or a reason it is unreadable) and match them."""
    existing = _existing(tx)
    # Into an empty table (a first import) no row can match a stored contact: the
    # lookups would all miss, so they are not made.
    anything_stored = bool(existing.people)
    seen = _Seen({}, {}, {}, {}, {})
    rows: list[Row] = []
    for n, (line, cells) in enumerate(records, 1):
        if isinstance(cells, str):
            rows.append(Row(line, {}, None, "rejected", cells))
            continue
        notes: list[str] = []
        try:
            values, company = _row_values(cells, region, notes)
        except InvalidInput as exc:
            rows.append(Row(line, {}, None, "rejected", exc.message))
            continue
        row = Row(line, values, company, notes=notes)
        if "_notes" in cells:
            notes += cells["_notes"].split("\n")
        phones = _phone_keys(values)
        crm_id = cells.get("crm_id")
        if crm_id and not values.get("external_id") and crm_id not in existing.people:
            # Our own export's id, in another database: kept as the source id (as a
            # vCard's UID is), so the row stays one record and can come home again.
            values["external_id"] = crm_id
        ext = values.get("external_id")
        row_who = _who(values, phones)
        read_as = dict(values) if ext else values  # matching may take the id off `values`
        _same_as_earlier(row, crm_id, row_who, seen, rows, unit)
        if row.action != "duplicate" and anything_stored:
            _match_stored(row, row_who, existing, cells.get("crm_id"), update_existing)
            if row.contact_id is None:
                twin = existing.by_name.get(fold(values["name"]))
                # A namesake whose strong keys differ is someone else, not a probable duplicate.
                if twin is not None and judge(row_who, existing.people[twin]).kind != DIFFERENT:
                    row.reason = f"same name as contact {twin}"
                    row.contact_id = twin
                    if skip_duplicates:
                        row.action = "duplicate"
        if row.action != "duplicate":
            seen.add(len(rows), ext, row_who, rows)
            if crm_id or (ext and "external_id" not in values):
                # Kept now: matching took the id off `values` (or the file's own id
                # decides), and later rows compare with the row as it was read.
                seen.whos[len(rows)] = _file_who(read_as, phones, crm_id)
        rows.append(row)
        if progress and n % 1000 == 0:
            progress(n, total)
    _resolve_account_refs(tx, rows)
    _diff_matches(tx, rows)
    if progress:
        progress(total, total)
    return rows


def _resolve_account_refs(tx: WriteTx, rows: list[Row]) -> None:
    """Link rows whose source account id (Salesforce AccountId) names an imported account.

    The account wins over the company name; an id no account has is a note, and the
    company name (if any) links the person instead.
    """
    wanted = [r for r in rows if "account_external_id" in r.values]
    if not wanted:
        return
    known = {
        x: (i, n)
        for i, x, n in tx.db.execute(
            "SELECT id, external_id, name FROM account "
            "WHERE deleted_at IS NULL AND external_id IS NOT NULL"
        )
    }
    for row in wanted:
        ref = row.values.pop("account_external_id")
        if ref in known:
            account_id, name = known[ref]
            row.values["account_id"] = account_id
            row.company = None
            row.notes.append(f"account id {ref} is account {name} [{account_id}]")
        else:
            row.notes.append(
                f"account id {ref} is no account here (import the accounts first)"
                + (f": linked by company name {row.company!r}" if row.company else ": not linked")
            )


def _diff_matches(tx: WriteTx, rows: list[Row]) -> None:
    """Fill in the changed fields and new items of matched rows (empty cells never clear)."""
    matched = [r for r in rows if r.action in ("update", "matched")]
    accounts = {
        a: n for a, n in tx.db.execute("SELECT id, name FROM account WHERE deleted_at IS NULL")
    }
    held = _held_items(tx, {r.contact_id for r in matched if r.contact_id})
    for row in matched:
        contact = tx.session.get(Contact, row.contact_id)
        if contact is None:
            continue
        for key in _COMPARED:
            if key not in row.values:
                continue
            if row.weak and key in _STRONG:
                if row.values[key] != getattr(contact, key):
                    row.notes.append(f"{key} not changed: a weak match (phone and name) only")
                continue
            if row.values[key] != getattr(contact, key):
                row.changes[key] = (getattr(contact, key), row.values[key])
        company_now = accounts.get(contact.account_id or "")
        if row.company and (company_now or "").lower() != row.company.lower():
            row.changes["company"] = (company_now, row.company)
        if "extra" in row.values:
            # Kept properties are merged: a column given again is updated, none is lost.
            row.values["extra"] = merged(contact.extra, row.values["extra"])
            if row.values["extra"] != contact.extra:
                row.changes["extra"] = (contact.extra, row.values["extra"])
        row.adds = _item_adds(row, held.setdefault(contact.id, _Held()))
        if not row.changes and not row.adds:
            row.action = "unchanged"


@dataclass
class _Held:
    """A matched contact's items as a row's items are compared with them."""

    phones: set[tuple[str | None, str | None, str]] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    addresses: list[dict[str, Any]] = field(default_factory=list)


_PLACE = ("street", "city", "region", "postcode", "country")


def _held_items(tx: WriteTx, ids: set[str]) -> dict[str, _Held]:
    """The live items of matched contacts, read once for all rows (indexed by contact)."""
    from crmtui.store.sql_in import select_in

    held: dict[str, _Held] = {}
    wanted = sorted(ids)
    live = "deleted_at IS NULL"
    for cid, e164, ext, number in select_in(
        tx.db, "SELECT contact_id, e164, extension, number FROM contact_phone", wanted,
        column="contact_id", where=live,
    ):  # fmt: skip
        held.setdefault(cid, _Held()).phones.add(_phone_item_key(e164, ext, number))
    for cid, address in select_in(
        tx.db, "SELECT contact_id, address FROM contact_email", wanted,
        column="contact_id", where=live,
    ):  # fmt: skip
        held.setdefault(cid, _Held()).emails.add(address.lower())
    for cid, *parts in select_in(
        tx.db, f"SELECT contact_id, {', '.join(_PLACE)} FROM contact_address", wanted,
        column="contact_id", where=live,
    ):  # fmt: skip
        held.setdefault(cid, _Held()).addresses.append(dict(zip(_PLACE, parts, strict=True)))
    return held


def _phone_item_key(
    e164: str | None, ext: str | None, number: str
) -> tuple[str | None, str | None, str]:
    """How two phone items are the same number: E.164 and extension, else the typed text."""
    if e164:
        return (e164, ext or extension(number), "")
    return (None, ext, "".join(ch for ch in number if ch.isdigit()))


def _row_items(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The phones, emails and addresses a row gives, as item values (a card's, or its columns)."""
    if "_items" in values:
        return {
            t: [{k: v for k, v in item.items() if k != "is_primary"} for item in items]
            for t, items in values["_items"].items()
        }
    phones = [
        {"kind": kind, "number": values[key], "e164": values.get(f"{key}_e164"),
         "extension": extension(values[key])}
        for key, kind in (("phone", "work"), ("mobile", "mobile")) if values.get(key)
    ]  # fmt: skip
    emails = [{"kind": "work", "address": values["email"]}] if values.get("email") else []
    place = {k: values.get(k) for k in _PLACE}
    addresses = [{"kind": "work", **dict.fromkeys(_PLACE), **place}] if any(place.values()) else []
    return {"contact_phone": phones, "contact_email": emails, "contact_address": addresses}


def _covers(stored: dict[str, Any], given: dict[str, Any]) -> bool:
    """Whether a stored address already says everything a given one does."""
    return all(
        not given.get(k) or fold(str(stored.get(k) or "")) == fold(str(given[k])) for k in _PLACE
    )


def _item_adds(row: Row, held: _Held) -> list[tuple[str, dict[str, Any]]]:
    """The items of a matched row its contact lacks; `held` grows so later rows do not repeat them.

    A weak match (phone and name) adds no email: an email is a strong key, and a weak
    match never changes the stored person's strong keys.
    """
    adds: list[tuple[str, dict[str, Any]]] = []
    given = _row_items(row.values)
    for phone in given.get("contact_phone", []):
        key = _phone_item_key(phone["e164"], phone["extension"], phone["number"])
        if key not in held.phones:
            held.phones.add(key)
            adds.append(("contact_phone", phone))
    for email in given.get("contact_email", []):
        low = email["address"].lower()
        if low in held.emails:
            continue
        if row.weak:
            row.notes.append(
                f"email {email['address']} not added: a weak match (phone and name) only"
            )
            continue
        held.emails.add(low)
        adds.append(("contact_email", email))
    for address in given.get("contact_address", []):
        if not any(_covers(stored, address) for stored in held.addresses):
            held.addresses.append(address)
            adds.append(("contact_address", address))
    return adds


def _item_words(table: str, values: dict[str, Any]) -> str:
    """An item in the dry run's words: "phone +1 212 555 0100", "email a@x", "address Berlin, DE"."""
    if table == "contact_phone":
        kind = "" if values["kind"] == "work" else f"{values['kind']} "
        return f"{kind}phone {values['number']}"
    if table == "contact_email":
        return f"email {values['address']}"
    return "address " + ", ".join(str(values[k]) for k in _PLACE if values.get(k))


@dataclass
class ImportResult:
    """What `apply_import` wrote."""

    created: int = 0
    updated: int = 0
    accounts: int = 0
    journal_ops: int = 0
    created_ids: list[tuple[str, str]] = field(default_factory=list)  # (entity, id), for a batch


def contact_rows(
    tx: WriteTx, rows: Sequence[Row], source_label: str, account_ids: dict[str, str]
) -> list[dict[str, Any]]:
    """The complete contact rows of new rows, with new ids (`full_row` of each row's values,
    its id, account and source, made from one template; tests/test_import_bulk.py)."""
    base, names, factories = row_template(tx, Contact)
    out = []
    # Ids in one batch: a `uuid7()` call per row cost more than the row's insert.
    for row, row_id in zip(rows, uuid7_batch(len(rows)), strict=True):
        values = row.values
        contact = base.copy()  # column order; setting existing keys keeps it
        for name, factory in factories:
            if name != "id" and name not in values:
                contact[name] = factory()
        contact.update(
            values if values.keys() <= names else {k: values[k] for k in values if k in names}
        )
        contact["id"] = row_id
        if "source" not in values:
            contact["source"] = source_label
        if row.company and "account_id" not in values:
            contact["account_id"] = account_ids[row.company.lower()]
        out.append(contact)
    return out


def _items_of(
    rows: Sequence[Row], contacts: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """New contacts' items: from their columns, or every item a card listed.

    A card's contact gets its primaries derived from its items (the one rule,
    `contact_details.primary_columns`), set on its row before it is written.
    """
    plain = [c for r, c in zip(rows, contacts, strict=True) if "_items" not in r.values]
    out = item_rows(plain)
    _street_parts(rows, contacts, out["contact_address"])
    for row, contact in zip(rows, contacts, strict=True):
        listed = row.values.get("_items")
        if not listed:
            continue
        made = {
            t: [{"id": uuid7(), "contact_id": contact["id"], **i} for i in v]
            for t, v in listed.items()
        }
        contact.update(derive_columns(made))
        for table, values in made.items():
            out[table] += values
    return out


_STREET_PARTS = ("street", "region", "postcode")


def _street_parts(
    rows: Sequence[Row], contacts: list[dict[str, Any]], addresses: list[dict[str, Any]]
) -> None:
    """Put a row's street, region and postcode on its new address item (made if needed)."""
    wanted = {
        c["id"]: parts
        for r, c in zip(rows, contacts, strict=True)
        if "_items" not in r.values
        and (parts := {k: r.values[k] for k in _STREET_PARTS if r.values.get(k)})
    }
    if not wanted:
        return
    for address in addresses:
        parts = wanted.pop(address["contact_id"], {})
        if parts:
            address.update(parts)
    for cid, parts in wanted.items():  # no city or country: the street makes the address
        addresses.append(
            {"id": uuid7(), "contact_id": cid, "kind": "work", "city": None, "country": None,
             **dict.fromkeys(_STREET_PARTS), **parts, "is_primary": True}
        )  # fmt: skip


def _insert_new(
    tx: WriteTx,
    writer: BulkWriter,
    chunk: list[Any],
    source_label: str,
    account_ids: dict[str, str],
    account_names: dict[str, str],
) -> list[tuple[str, str]]:
    """Insert one chunk of new contacts with their items; (entity, id) of what was made."""
    contacts = contact_rows(tx, chunk, source_label, account_ids)
    items = _items_of(chunk, contacts)
    made_ids = [("contact", c["id"]) for c in contacts]
    # The phones, email and place are the contact's items (its columns their primaries).
    made_items = []
    for table, values in items.items():
        model = CONTACT_ITEMS[table]
        made_items.append((model, full_rows(tx, model, values)))
        made_ids += [(table, v["id"]) for v in values]
    writer.insert_contacts(contacts, made_items)
    # A card's other numbers and emails are searched too: its entry is made from the
    # items at hand (one lookup per contact would scan the item tables, whose indexes
    # are rebuilt only after the import: minutes for 20k cards).
    cards = [c for r, c in zip(chunk, contacts, strict=True) if "_items" in r.values]
    if len(cards) < len(contacts):
        made = {c["id"] for c in cards}
        index_contact_rows(tx.db, [c for c in contacts if c["id"] not in made], account_names)
    if cards:
        listed = _searched_items(items)
        company = account_names.get
        index_many(
            tx.db,
            (row_document(c, company(c["account_id"] or ""), listed.get(c["id"])) for c in cards),
        )
    return made_ids


def _searched_items(items: dict[str, list[dict[str, Any]]]) -> dict[str, Items]:
    """Each new contact's emails and phones (as typed, E.164), in the order made."""
    out: dict[str, Items] = {}
    for e in items.get("contact_email", ()):
        out.setdefault(e["contact_id"], ([], []))[0].append(e["address"])
    for p in items.get("contact_phone", ()):
        out.setdefault(p["contact_id"], ([], []))[1].append((p["number"], p["e164"]))
    return out


@paused_gc()
def apply_import(
    tx: WriteTx, plan: ImportPlan, *, source_label: str, progress: Progress | None = None
) -> ImportResult:
    """Write the plan's new and updated rows in `tx` (the caller's one transaction)."""
    writer = BulkWriter(tx)
    result = ImportResult()
    account_names = dict(
        tx.db.execute("SELECT id, name FROM account WHERE deleted_at IS NULL").fetchall()
    )
    account_ids = {n.lower(): a for a, n in account_names.items()}
    new_rows = [r for r in plan.rows if r.action == "new"]
    new_accounts: list[dict[str, Any]] = []
    for row in plan.rows:
        if (
            row.action in ("new", "update")
            and row.company
            and row.company.lower() not in account_ids
        ):
            account = full_row(tx, Account, {"name": row.company})
            account_ids[row.company.lower()] = account["id"]
            account_names[account["id"]] = row.company
            new_accounts.append(account)
    result.accounts = writer.insert(Account, new_accounts)
    result.created_ids += [("account", a["id"]) for a in new_accounts]
    total = len(new_rows)
    with ExitStack() as deferred:
        # The contact's and its items' indexes (each item table gets about one row per
        # contact and kind): built once after the insert when the table is no bigger.
        for table in ("contact", *CONTACT_ITEMS):
            deferred.enter_context(deferred_indexes(tx.db, table, total))
        for start in range(0, total, CHUNK):
            chunk = new_rows[start : start + CHUNK]
            result.created_ids += _insert_new(
                tx, writer, chunk, source_label, account_ids, account_names
            )
            if progress:
                progress(start + len(chunk), total)
    result.created = total
    for row in plan.by_action("update"):
        contact = tx.session.get(Contact, row.contact_id)
        if contact is None:
            continue
        changes = {k: row.values[k] for k in row.changes if k != "company"}
        if "given_name" in row.values and "name" in changes:
            changes["given_name"] = row.values["given_name"]
            changes["family_name"] = row.values["family_name"]
        if "company" in row.changes and row.company:
            changes["account_id"] = account_ids[row.company.lower()]
        changed = tx.update(contact, changes)
        made = [(table, add_item(tx, contact, table, values).id) for table, values in row.adds]
        result.created_ids += made
        if changed or made:
            reindex_contact(tx, contact)
            result.updated += 1
    result.journal_ops = writer.ops
    return result


def rejected_lines(plan: ImportPlan) -> Sequence[Row]:
    """The rows that stop an import (unless bad rows are skipped)."""
    return plan.by_action("rejected")
