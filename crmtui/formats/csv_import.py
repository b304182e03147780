"""Importing contacts from CSV files made by other CRMs and spreadsheets.

Three steps: `read_csv` decodes and splits the file (encoding and delimiter
detected), `plan_import` checks every row and decides what it would do (new,
update, unchanged, duplicate, rejected) without writing, and `apply_import` writes
the plan in the caller's single write transaction with bulk inserts.

Decisions:
- A file with any rejected row imports nothing, unless the caller asks to skip
  bad rows: half an import is worse than none, and the report names every bad
  line so the file can be fixed and imported again.
- A row matches an existing contact by external id, then email, then phone or
  mobile (E.164). Matched rows change the contact only with `update_existing`;
  empty cells never clear a stored value.
- A row whose folded name equals an existing contact's but matches no key is a
  *probable duplicate*: imported (it may be a namesake) unless `skip_duplicates`,
  and listed so `crm dedupe scan` can follow up. A row repeating an earlier row's
  key in the same file is skipped as a duplicate of that line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from crmtui.domain.text import fold
from crmtui.domain.validate import (
    InvalidInput,
    clean_tags,
    optional_text,
    split_name,
)
from crmtui.formats.csv_profiles import HeaderMapping, map_headers
from crmtui.formats.import_checks import check_bool, check_country, check_email, check_phone
from crmtui.search.search_index import index_contact_rows
from crmtui.services.reindex import reindex_contact
from crmtui.store.bulk import (
    BulkWriter,
    deferred_indexes,
    full_row,
    row_template,
    uuid7_batch,
)
from crmtui.store.gc_pause import paused_gc
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact

Progress = Callable[[int, int], None]
CHUNK = 5000
# Longest cells accepted (a CSV with a 10 MB cell is a broken file, not a note).
_TEXT_LIMITS = {"title": 120, "city": 120, "source": 60, "external_id": 120, "notes": 10_000}
_COMPARED = (
    "name", "title", "email", "phone", "mobile", "city", "country", "tags", "notes",
    "external_id", "do_not_call", "do_not_email",
)  # fmt: skip
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


def _decode(data: bytes) -> tuple[str, str, str | None]:
    """Text, encoding name and a note: UTF-8 (BOM or not), UTF-16 with BOM, else cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8"), "utf-8-sig", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16"), "utf-16", None
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
    text = _strict(data, "cp1252")
    # Windows spreadsheets still save "CSV" as cp1252; say so, in case it was a broken UTF-8.
    return text, "cp1252", f"not UTF-8 (line {bad_line}); read as Windows-1252"


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


@paused_gc()
def read_csv(path: Path, *, encoding: str | None = None) -> CsvFile:
    """Decode and split a CSV file; raises CsvImportError when it cannot be read."""
    data = path.read_bytes()
    if encoding:
        text, note = _strict(data, encoding), None
    else:
        text, encoding, note = _decode(data)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise CsvImportError(f"line {line}: NUL byte; this is not a text CSV file")
    delimiter = _delimiter(text[:16_384])
    # strict: a quote opened and never closed is an error naming its line, not one
    # giant cell swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    headers: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            if headers is None:
                headers = [h.strip() for h in cells]
            elif "".join(cells).strip():  # some cell is not blank
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = " (a quote opened here is never closed)" if "end of data" in str(exc) else ""
        raise CsvImportError(f"line {start}: {exc}{hint}") from exc
    if not headers or not any(headers):
        raise CsvImportError("line 1: no header row (the first line must name the columns)")
    return CsvFile(encoding, delimiter, headers, records, note)


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


@dataclass
class ImportPlan:
    """What an import would do, row by row, before anything is written."""

    rows: list[Row]
    unit: str = "line"  # what a row's position counts: CSV lines, or vCard cards
    source: CsvFile | None = None
    mapping: HeaderMapping | None = None

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


def _tags(value: str) -> list[str]:
    # Pipedrive and HubSpot separate labels with commas or semicolons; words within a
    # label are joined with "-" because crmtui tags are single words.
    parts = [p.strip() for chunk in value.split(";") for p in chunk.split(",")]
    return clean_tags(["-".join(p.split()) for p in parts if p])


_BLANKS = re.compile(r"[ \t\xa0]+")


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


_TEXT_KEYS = ("title", "city", "notes", "source", "external_id")
_PHONE_KEYS = (("phone", "phone_e164"), ("mobile", "mobile_e164"))


def _row_values(cells: dict[str, str], region: str) -> tuple[dict[str, Any], str | None]:
    """Checked contact values from one row's mapped cells; raises InvalidInput listing all."""
    # Plain try blocks rather than a helper taking closures: this runs once per row
    # of a 100k-row import, and every check's problem is collected, in this order.
    out: dict[str, Any] = {}
    problems: list[InvalidInput] = []
    get = cells.get
    _name(cells, out, problems)
    country = (get("country") or "").strip()
    if country:
        try:
            out["country"] = check_country(country)
        except InvalidInput as exc:
            problems.append(exc)
    phone_region = out.get("country") or region
    for key, e164_key in _PHONE_KEYS:
        raw = (get(key) or "").strip()
        if raw:
            try:
                phone = check_phone(raw, phone_region, key)
                out[key], out[e164_key] = phone.typed, phone.e164
            except InvalidInput as exc:
                problems.append(exc)
    email = (get("email") or "").strip()
    if email:
        try:
            out["email"] = check_email(email)
        except InvalidInput as exc:
            problems.append(exc)
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
        try:
            out["tags"] = _tags(cells["tags"])
        except InvalidInput as exc:
            problems.append(exc)
    for key in ("do_not_call", "do_not_email"):
        if key in cells:
            try:
                out[key] = check_bool(cells[key], key)
            except InvalidInput as exc:
                problems.append(exc)
    if problems:
        raise InvalidInput(
            problems[0].field, "; ".join(f"{p.field}: {p.message}" for p in problems)
        )
    company = " ".join((get("company") or "").split()) or None
    return out, company


@dataclass
class _Existing:
    """Keys of the contacts already stored, for matching."""

    by_external: dict[str, str]
    by_email: dict[str, str]
    by_phone: dict[str, str]
    by_name: dict[str, str]
    ids: set[str]


def _existing(tx: WriteTx) -> _Existing:
    ext: dict[str, str] = {}
    email: dict[str, str] = {}
    phone: dict[str, str] = {}
    name: dict[str, str] = {}
    ids: set[str] = set()
    cur = tx.db.execute(
        "SELECT id, external_id, email, phone_e164, mobile_e164, name FROM contact "
        "WHERE deleted_at IS NULL"
    )
    for cid, x, e, p, m, n in cur:
        ids.add(cid)
        if x:
            ext.setdefault(x, cid)
        if e:
            email.setdefault(e.lower(), cid)
        for number in (p, m):
            if number:
                phone.setdefault(number, cid)
        name.setdefault(fold(n), cid)
    return _Existing(ext, email, phone, name, ids)


def _keys(values: dict[str, Any]) -> list[tuple[str, str]]:
    """A row's matching keys, strongest first: external id, email, phone, mobile."""
    keys = []
    get = values.get
    if get("external_id"):
        keys.append(("external id", values["external_id"]))
    if get("email"):
        keys.append(("email", values["email"].lower()))
    if get("phone_e164"):
        keys.append(("phone", values["phone_e164"]))
    if get("mobile_e164"):
        keys.append(("phone", values["mobile_e164"]))
    return keys


def _lookup(existing: _Existing, kind: str, key: str) -> str | None:
    if kind == "phone":
        return existing.by_phone.get(key)
    if kind == "email":
        return existing.by_email.get(key)
    found = existing.by_external.get(key)
    if found is None and key in existing.ids:
        return key
    return found


def plan_import(
    tx: WriteTx,
    source: CsvFile,
    *,
    region: str,
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
    update_existing: bool = False,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check every CSV row and decide its outcome; writes nothing."""
    mapping = map_headers(source.headers, profile=profile, overrides=overrides)
    if not any(f in mapping.columns.values() for f in ("name", "given_name", "family_name")):
        raise CsvImportError('line 1: no column gives the name (map one with --map "Column=name")')
    columns = list(mapping.columns.items())
    width = len(source.headers)
    fields = [f for _, f in columns]
    # A row with every mapped cell (nearly all) is picked in one C call.
    pick = itemgetter(*(i for i, _ in columns)) if len(columns) > 1 else None
    needed = max(i for i, _ in columns) + 1

    def records() -> Iterator[tuple[int, dict[str, str] | str]]:
        for line, cells in source.records:
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                yield line, f"{len(cells)} cells for {width} columns"
            elif pick is not None and len(cells) >= needed:
                yield line, dict(zip(fields, pick(cells), strict=True))
            else:
                yield line, {f: cells[i] for i, f in columns if i < len(cells)}

    rows = plan_records(
        tx,
        records(),
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
    region: str,
    update_existing: bool = False,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
    unit: str = "line",
) -> list[Row]:
    """Check records (position, field -> text; or a reason it is unreadable) and match them."""
    existing = _existing(tx)
    # Into an empty table (a first import) no row can match a stored contact: the
    # lookups would all miss, so they are not made.
    anything_stored = bool(existing.ids)
    # The first line of each key, per kind of key: plain str -> int dicts, which the
    # cycle collector does not track (a (kind, key) tuple per key would be walked once
    # more, ~350k of them, when the collector comes back on after the checks).
    seen: dict[str, dict[str, int]] = {"external id": {}, "email": {}, "phone": {}}
    rows: list[Row] = []
    for n, (line, cells) in enumerate(records, 1):
        if isinstance(cells, str):
            rows.append(Row(line, {}, None, "rejected", cells))
            continue
        try:
            values, company = _row_values(cells, region)
        except InvalidInput as exc:
            rows.append(Row(line, {}, None, "rejected", exc.message))
            continue
        row = Row(line, values, company)
        keys = _keys(values)
        earlier = match = None
        for k in keys:
            first = seen[k[0]].get(k[1])
            if first is not None:
                earlier = (k, first)
                break
        if earlier is None and anything_stored:
            for k in keys:
                if found := _lookup(existing, *k):
                    match = (k, found)
                    break
        if earlier is not None:
            row.action, row.reason = "duplicate", f"same {earlier[0][0]} as {unit} {earlier[1]}"
        elif match is not None:
            row.contact_id = match[1]
            row.reason = f"same {match[0][0]}"
            if match[1] == values.get("external_id"):
                # Matched by crmtui's own id (a re-imported export): not an outside id.
                del values["external_id"]
                row.reason = "same id"
            row.action = "update" if update_existing else "matched"
        elif anything_stored:
            twin = existing.by_name.get(fold(values["name"]))
            if twin is not None:
                row.reason = f"same name as contact {twin}"
                row.contact_id = twin
                if skip_duplicates:
                    row.action = "duplicate"
        for kind, key in keys:
            seen[kind].setdefault(key, line)
        rows.append(row)
        if progress and n % 1000 == 0:
            progress(n, total)
    _diff_matches(tx, rows)
    if progress:
        progress(total, total)
    return rows


def _diff_matches(tx: WriteTx, rows: list[Row]) -> None:
    """Fill in the changed fields of matched rows (empty cells never clear a value)."""
    matched = [r for r in rows if r.action in ("update", "matched")]
    accounts = {
        a: n for a, n in tx.db.execute("SELECT id, name FROM account WHERE deleted_at IS NULL")
    }
    for row in matched:
        contact = tx.session.get(Contact, row.contact_id)
        if contact is None:
            continue
        for key in _COMPARED:
            if key not in row.values:
                continue
            # The same number typed another way ("+49403012345") is no change.
            same = key in ("phone", "mobile") and (
                row.values[f"{key}_e164"] == getattr(contact, f"{key}_e164")
            )
            if not same and row.values[key] != getattr(contact, key):
                row.changes[key] = (getattr(contact, key), row.values[key])
        company_now = accounts.get(contact.account_id or "")
        if row.company and (company_now or "").lower() != row.company.lower():
            row.changes["company"] = (company_now, row.company)
        if not row.changes:
            row.action = "unchanged"


@dataclass
class ImportResult:
    """What `apply_import` wrote."""

    created: int = 0
    updated: int = 0
    accounts: int = 0
    journal_ops: int = 0


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
        if row.company:
            contact["account_id"] = account_ids[row.company.lower()]
        out.append(contact)
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
    total = len(new_rows)
    with deferred_indexes(tx.db, "contact", total):
        for start in range(0, total, CHUNK):
            chunk = new_rows[start : start + CHUNK]
            contacts = contact_rows(tx, chunk, source_label, account_ids)
            writer.insert(Contact, contacts)
            index_contact_rows(tx.db, contacts, account_names)
            if progress:
                progress(start + len(chunk), total)
    result.created = total
    for row in plan.by_action("update"):
        contact = tx.session.get(Contact, row.contact_id)
        if contact is None:
            continue
        changes = {k: row.values[k] for k in row.changes if k != "company"}
        for key in ("phone", "mobile"):
            if key in changes:
                changes[f"{key}_e164"] = row.values[f"{key}_e164"]
        if "given_name" in row.values and "name" in changes:
            changes["given_name"] = row.values["given_name"]
            changes["family_name"] = row.values["family_name"]
        if "company" in row.changes and row.company:
            changes["account_id"] = account_ids[row.company.lower()]
        if tx.update(contact, changes):
            reindex_contact(tx, contact)
            result.updated += 1
    result.journal_ops = writer.ops
    return result


def rejected_lines(plan: ImportPlan) -> Sequence[Row]:
    """The rows that stop an import (unless bad rows are skipped)."""
    return plan.by_action("rejected")
