"""Importing accounts (organisations) and deals (opportunities) from CRM exports.

The same three steps as contacts (crmtui.formats.csv_import): the file is read by
`read_csv` (report footers skipped), `plan_accounts` / `plan_deals` check every
row and decide what it would do without writing, `apply_book` writes the plan
in the caller's one transaction. Column names come from
crmtui.formats.book_profiles.

Decisions:
- An account is the same as a stored one by its source id (external id), else
  by its name compared case-insensitively (the rule `crm contact add --company`
  follows); a name shared by two different source ids is two accounts.
- A deal's account is found by the source's account id (Salesforce AccountId:
  the accounts file imported first), else by name; a name no account has makes
  a new account, said per row. A deal named like a stored deal of the same
  account is that deal: not imported again. A deal keeps its source id
  (`Deal.external_id`, synced): a row with a stored deal's source id is that deal, and
  two different source ids are two deals even with one name.
- A stage is `--stage-map` first, then a stage of the target pipeline with that
  name, then a vendor's standard stage name that means one of ours (a guess, said
  per row), and Pipedrive's won/lost status wins over its stage; anything else
  rejects the row, listing the pipeline's stages.
- Amounts without a currency take the row's currency column, else `--currency`,
  else EUR (said per row). Dates are ISO, day.month.year, or with slashes
  month/day/year (Salesforce, HubSpot) unless a part above 12 says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crmtui.domain.money import BadMoney, check_currency, parse_money
from crmtui.domain.text import fold
from crmtui.domain.validate import InvalidInput, optional_text
from crmtui.formats.book_profiles import STAGE_GUESSES
from crmtui.formats.countries import country_code
from crmtui.formats.csv_import import CsvFile, CsvImportError, _tags, mapped_records
from crmtui.formats.csv_profiles import HeaderMapping, map_headers
from crmtui.formats.import_checks import check_phone
from crmtui.services.address_book.people import stored_whos
from crmtui.services.sales.deals import DealCreate, import_deal
from crmtui.services.sales.pipelines import find_pipeline, stages_of
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Stage

_ACCOUNT_TEXT = ("domain", "website", "industry", "street", "postcode", "city")


@dataclass
class BookRow:
    """One account or deal row: its values and what the import will do with it."""

    line: int
    values: dict[str, Any]
    action: str = "new"  # new | update | matched | unchanged | duplicate | rejected
    reason: str = ""
    target_id: str | None = None
    matched_name: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stage: Stage | None = None
    account_name: str | None = None  # a deal's account to find or create by name


@dataclass
class BookPlan:
    """What an account or deal import would do, row by row."""

    kind: str  # "accounts" | "deals"
    rows: list[BookRow]
    source: CsvFile
    mapping: HeaderMapping

    def counts(self) -> dict[str, int]:
        """Rows per outcome."""
        out = dict.fromkeys(("new", "update", "matched", "unchanged", "duplicate", "rejected"), 0)
        for row in self.rows:
            out[row.action] += 1
        return out


def _mapping(
    source: CsvFile, kind: str, profile: str | None, overrides: dict[str, str]
) -> HeaderMapping:
    mapping = map_headers(source.headers, profile=profile, overrides=overrides, kind=kind)
    if "name" not in mapping.columns.values():
        what = "account" if kind == "accounts" else "deal"
        raise CsvImportError(
            f'line 1: no column gives the {what} name (map one with --map "Column=name")'
        )
    return mapping


def _phone(raw: str, region: str | None, out: dict[str, Any], notes: list[str]) -> None:
    """An account phone: dialled form when a region is known, else kept as typed."""
    raw = raw.strip().lstrip("'").strip()
    if not raw:
        return
    out["phone"] = raw
    if raw[0] != "+" and region is None:
        notes.append(f"phone {raw!r} has no country code and no region is known: kept as typed")
        return
    try:
        out["phone_e164"] = check_phone(raw, region or "ZZ").e164
    except InvalidInput as exc:
        notes.append(f"phone {raw!r} kept as typed ({exc.message})")
        return
    if raw[0] != "+":
        notes.append(f"phone {raw!r} read as {region}: {out['phone_e164']}")


def account_values(cells: dict[str, str], region: str | None, notes: list[str]) -> dict[str, Any]:
    """Checked account values of one row; raises InvalidInput naming every bad field."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    name = " ".join((cells.get("name") or "").split())
    if not name:
        problems.append("name: is empty")
    elif len(name) > 200:
        problems.append("name: is longer than 200 characters")
    out["name"] = name
    for key in (*_ACCOUNT_TEXT, "external_id", "notes"):
        try:
            value = cells.get(key) or ""
            if key == "notes":
                value = " / ".join(p.strip() for p in value.splitlines() if p.strip())
            text = optional_text(value, key, max_len=10_000 if key == "notes" else 200)
        except InvalidInput as exc:
            problems.append(f"{key}: {exc.message}")
            continue
        if text:
            out[key] = text
    employees = (cells.get("employees") or "").strip()
    if employees:
        digits = re.sub(r"[,.' \u00a0]", "", employees)
        if digits.isdigit() and len(digits) < 10:
            out["employees"] = int(digits)
        else:
            # Kept, not guessed: "10-50" is a range the model has no place for.
            out["notes"] = " / ".join(filter(None, [out.get("notes"), f"employees: {employees}"]))
            notes.append(f"employees {employees!r} is not a number: kept in the notes")
    country = (cells.get("country") or "").strip()
    if country:
        code = country_code(country)
        if code is None:
            notes.append(f"country {country!r} is not a country we know: kept as text")
        out["country"] = code or country[:120]
    _phone(
        cells.get("phone") or "",
        out.get("country") if len(out.get("country", "")) == 2 else region,
        out,
        notes,
    )
    if (cells.get("tags") or "").strip():
        out["tags"], too_long = _tags(cells["tags"])
        if too_long:
            # Kept, not guessed, like a range of employees: a label too long for a tag.
            labels = "; ".join(too_long)
            out["notes"] = " / ".join(filter(None, [out.get("notes"), f"labels: {labels}"]))
            notes.append(f"label {too_long[0]!r} is longer than a tag: kept in the notes")
    if problems:
        raise InvalidInput(problems[0].split(":")[0], "; ".join(problems))
    return out


def plan_accounts(
    tx: WriteTx,
    source: CsvFile,
    *,
    region: str | None,
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
    update_existing: bool = False,
) -> BookPlan:
    """Check every account row and match it to stored accounts; writes nothing."""
    mapping = _mapping(source, "accounts", profile, overrides or {})
    rows = plan_account_records(
        tx, mapped_records(source, mapping), region=region, update_existing=update_existing
    )
    return BookPlan("accounts", rows, source, mapping)


def plan_account_records(
    tx: WriteTx,
    records: Iterable[tuple[int, dict[str, str] | str]],
    *,
    region: str | None,
    update_existing: bool = False,
) -> list[BookRow]:
    """Account rows (CSV rows or organisation vCards) checked and matched."""
    by_ext: dict[str, tuple[str, str]] = {}
    by_name: dict[str, tuple[str, str, str | None]] = {}
    for aid, name, ext in tx.db.execute(
        "SELECT id, name, external_id FROM account WHERE deleted_at IS NULL ORDER BY created_at"
    ):
        if ext:
            by_ext.setdefault(ext, (aid, name))
        by_name.setdefault(name.lower(), (aid, name, ext))
    seen_ext: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    rows: list[BookRow] = []
    for line, cells in records:
        if isinstance(cells, str):
            rows.append(BookRow(line, {}, "rejected", cells))
            continue
        notes: list[str] = []
        try:
            values = account_values(cells, region, notes)
        except InvalidInput as exc:
            rows.append(BookRow(line, {}, "rejected", exc.message))
            continue
        row = BookRow(line, values, notes=notes)
        rows.append(row)
        ext, low = values.get("external_id"), values["name"].lower()
        earlier = seen_ext.get(ext) if ext else None
        if earlier is None and not (ext and low in seen_name and seen_name[low] < 0):
            earlier = seen_name.get(low) if low in seen_name and seen_name[low] >= 0 else None
        if earlier is not None:
            row.action, row.reason = "duplicate", f"the same account as line {earlier}"
            continue
        if ext:
            seen_ext[ext] = line
        seen_name.setdefault(low, line)
        _match_account(row, ext, low, by_ext, by_name, update_existing)
    _diff_accounts(tx, rows)
    return rows


def _match_account(
    row: BookRow,
    ext: str | None,
    low: str,
    by_ext: dict[str, tuple[str, str]],
    by_name: dict[str, tuple[str, str, str | None]],
    update: bool,
) -> None:
    found: tuple[str, str] | None = None
    if ext and ext in by_ext:
        found, row.reason = by_ext[ext], f"same external id {ext}"
    elif low in by_name:
        aid, name, stored_ext = by_name[low]
        if ext and stored_ext and stored_ext != ext:
            row.notes.append(
                f"not {name} [{aid}]: same name, but external id {stored_ext} is not {ext}"
            )
        else:
            found, row.reason = (aid, name), "same name (accounts match by name, any case)"
    if found is not None:
        row.target_id, row.matched_name = found
        row.action = "update" if update else "matched"


def _diff_accounts(tx: WriteTx, rows: list[BookRow]) -> None:
    """The changed fields of matched rows (empty cells never clear a stored value)."""
    for row in rows:
        if row.action not in ("update", "matched") or row.target_id is None:
            continue
        account = tx.session.get(Account, row.target_id)
        if account is None:
            continue
        for key, value in row.values.items():
            if key != "name" and value != getattr(account, key):
                row.changes[key] = (getattr(account, key), value)
        if not row.changes:
            row.action = "unchanged"


# --- deals ---------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: .*)?")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?: .*)?")


def parse_close_date(text: str, notes: list[str]) -> date:
    """A close date as exports write it; raises InvalidInput naming the value."""
    t = text.strip()
    try:
        if m := _ISO_DATE.fullmatch(t):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DOTTED.fullmatch(t):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _SLASHED.fullmatch(t):
            first, second, year = int(m[1]), int(m[2]), int(m[3])
            year += 2000 if year < 100 else 0
            if first > 12:
                return date(year, second, first)
            if second <= 12 and first != second:
                notes.append(f"close date {t!r} read as month/day/year")
            return date(year, first, second)
    except ValueError as exc:
        raise InvalidInput("close date", f"{t!r} is not a date ({exc})") from exc
    raise InvalidInput("close date", f"{t!r} is not a date (write 2026-03-31)")


def _probability(text: str) -> int:
    t = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(t)
    except ValueError as exc:
        raise InvalidInput("probability", f"{text!r} is not a percentage") from exc
    if 0 < value < 1 and "." in t:
        value *= 100  # 0.75 is how some exports write 75 %
    if not 0 <= value <= 100:
        raise InvalidInput("probability", f"{text!r} is not from 0 to 100")
    return round(value)


_HAS_CURRENCY = re.compile(r"[A-Za-z€£$¥₹₩]")


@dataclass
class DealContext:
    """What deal rows are matched against: the pipeline, stages, accounts, contacts, deals."""

    stages: list[Stage]
    pipeline_name: str
    stage_map: dict[str, str]
    currency: str | None
    by_ext: dict[str, tuple[str, str]]
    by_name: dict[str, tuple[str, str]]
    emails: dict[str, tuple[str, str]]
    people: dict[str, list[tuple[str, str]]]
    deals: dict[tuple[str, str], tuple[str, str | None]]  # (name, account) -> (id, source id)
    deal_ext: dict[str, tuple[str, str]] = field(default_factory=dict)  # source id -> (id, name)

    def known_stages(self) -> str:
        """The stage names a row may give, for a rejection."""
        return ", ".join(s.name for s in self.stages)


def deal_context(
    tx: WriteTx, *, pipeline: str | None, stage_map: dict[str, str], currency: str | None
) -> DealContext:
    """Read what deal rows are matched against; raises InvalidInput on a bad option."""
    found = find_pipeline(tx, pipeline)
    stages = stages_of(tx, found.id)
    names = {s.name.lower() for s in stages}
    for source_stage, target in stage_map.items():
        if target.lower() not in names:
            raise InvalidInput(
                "stage-map",
                f"{source_stage}={target}: {target!r} is not a stage of {found.name} "
                f"(stages: {', '.join(s.name for s in stages)})",
            )
    by_ext: dict[str, tuple[str, str]] = {}
    by_name: dict[str, tuple[str, str]] = {}
    for aid, name, ext in tx.db.execute(
        "SELECT id, name, external_id FROM account WHERE deleted_at IS NULL ORDER BY created_at"
    ):
        if ext:
            by_ext.setdefault(ext, (aid, name))
        by_name.setdefault(name.lower(), (aid, name))
    emails: dict[str, tuple[str, str]] = {}
    people: dict[str, list[tuple[str, str]]] = {}
    # A deal's contact by any of a contact's emails (identity reads every item).
    for cid, who in stored_whos(tx.db).items():
        for email in who.emails:
            emails.setdefault(email, (cid, who.name))
        people.setdefault(fold(who.name), []).append((cid, who.name))
    deals: dict[tuple[str, str], tuple[str, str | None]] = {}
    deal_ext: dict[str, tuple[str, str]] = {}
    for d, n, a, x in tx.db.execute(
        "SELECT id, name, account_id, external_id FROM deal WHERE deleted_at IS NULL"
    ):
        deals[(fold(n), a or "")] = (d, x)
        if x:
            deal_ext.setdefault(x, (d, n))
    return DealContext(
        stages, found.name, {k.lower(): v.lower() for k, v in stage_map.items()},
        check_currency(currency) if currency else None, by_ext, by_name, emails, people, deals,
        deal_ext,
    )  # fmt: skip


def _stage(ctx: DealContext, cells: dict[str, str], notes: list[str]) -> Stage:
    status = (cells.get("status") or "").strip().lower()
    raw = (cells.get("stage") or "").strip()
    by_name = {s.name.lower(): s for s in ctx.stages}
    if status in ("won", "lost"):
        category = "closed_won" if status == "won" else "closed_lost"
        for stage in ctx.stages:
            if stage.forecast_category == category:
                if raw:
                    notes.append(
                        f"status {status}: stage {stage.name} (the file's stage {raw!r} was the last open one)"
                    )
                return stage
    if not raw:
        raise InvalidInput(
            "stage", f"is empty (stages of {ctx.pipeline_name}: {ctx.known_stages()})"
        )
    low = raw.lower()
    if low in ctx.stage_map:
        return by_name[ctx.stage_map[low]]
    if low in by_name:
        return by_name[low]
    guess = STAGE_GUESSES.get(low)
    if guess and guess.lower() in by_name:
        stage = by_name[guess.lower()]
        notes.append(
            f"stage {raw!r} read as {stage.name} (a standard stage; --stage-map to choose)"
        )
        return stage
    raise InvalidInput(
        "stage",
        f"{raw!r} is not a stage of {ctx.pipeline_name} (stages: {ctx.known_stages()}; "
        f'map it with --stage-map "{raw}=Stage")',
    )


def _money(ctx: DealContext, cells: dict[str, str], notes: list[str]) -> tuple[int | None, str]:
    row_currency = (cells.get("currency") or "").strip()
    if row_currency:
        try:
            row_currency = check_currency(row_currency)
        except BadMoney as exc:
            raise InvalidInput("currency", str(exc)) from exc
    default = row_currency or ctx.currency or "EUR"
    raw = (cells.get("amount") or "").strip()
    if not raw:
        return None, default
    try:
        money = parse_money(raw, default_currency=default)
    except BadMoney as exc:
        why = str(exc)
        raise InvalidInput(
            "amount", why if raw in why else f"{raw!r} is not an amount ({why})"
        ) from exc
    if not _HAS_CURRENCY.search(raw) and not row_currency and not ctx.currency:
        notes.append(f"amount {raw!r} read as EUR (no currency in the row; --currency sets one)")
    elif row_currency and money.currency != row_currency:
        raise InvalidInput("amount", f"{raw!r} is in {money.currency}, the row says {row_currency}")
    return money.minor, money.currency


def _deal_row(ctx: DealContext, line: int, cells: dict[str, str]) -> BookRow:
    """One deal row checked and its account, contact and stage found."""
    notes: list[str] = []
    values: dict[str, Any] = {}
    problems: list[InvalidInput] = []
    name = " ".join((cells.get("name") or "").split())
    if not name:
        problems.append(InvalidInput("name", "is empty"))
    values["name"] = name
    stage: Stage | None = None
    for step in ("stage", "money", "close", "probability"):
        try:
            if step == "stage":
                stage = _stage(ctx, cells, notes)
            elif step == "money":
                values["amount_minor"], values["currency"] = _money(ctx, cells, notes)
            elif step == "close" and (cells.get("close_date") or "").strip():
                values["expected_close"] = parse_close_date(cells["close_date"], notes)
            elif step == "probability" and (cells.get("probability") or "").strip():
                values["probability"] = _probability(cells["probability"])
        except InvalidInput as exc:
            problems.append(exc)
    row = BookRow(line, values, notes=notes, stage=stage)
    ref = (cells.get("account_external_id") or "").strip()
    account = " ".join((cells.get("account") or "").split())
    if ref and ref in ctx.by_ext:
        values["account_id"], found = ctx.by_ext[ref]
        notes.append(f"account id {ref} is account {found} [{values['account_id']}]")
    elif ref and not account:
        problems.append(InvalidInput(
            "account id", f"{ref} is no account here (import the accounts file first)"
        ))  # fmt: skip
    elif account:
        if ref:
            notes.append(f"account id {ref} is no account here: found by name {account!r}")
        if account.lower() in ctx.by_name:
            values["account_id"], found = ctx.by_name[account.lower()]
            notes.append(f"account {account!r} is {found} [{values['account_id']}] (same name)")
        else:
            row.account_name = account
            notes.append(f"account {account!r} is new: it will be created")
    _deal_contact(ctx, cells, values, notes)
    lost = (cells.get("lost_reason") or "").strip()
    if lost:
        values["_lost_reason"] = lost[:500]
    if problems:
        return BookRow(line, {}, "rejected", "; ".join(f"{p.field}: {p.message}" for p in problems))
    _stored_deal(ctx, row, (cells.get("external_id") or "").strip())
    return row


def _stored_deal(ctx: DealContext, row: BookRow, ext: str) -> None:
    """Keep the row's source id and match it to a stored deal: by source id, else by name
    and account (unless the two source ids differ: two deals in the source)."""
    values = row.values
    if ext:
        values["external_id"] = ext[:120]
    key = (fold(values["name"]), values.get("account_id", ""))
    if ext and ext in ctx.deal_ext:
        row.action, (row.target_id, found) = "matched", ctx.deal_ext[ext]
        row.reason = f"same external id as deal {found} [{row.target_id}]: not imported again"
    elif key in ctx.deals and "account_id" in values:
        stored, stored_ext = ctx.deals[key]
        if not (ext and stored_ext and stored_ext != ext):
            row.action, row.target_id = "matched", stored
            row.reason = f"same name and account as deal [{row.target_id}]: not imported again"


def _deal_contact(
    ctx: DealContext, cells: dict[str, str], values: dict[str, Any], notes: list[str]
) -> None:
    who = " ".join((cells.get("contact") or "").split())
    if not who:
        return
    if "@" in who and who.lower() in ctx.emails:
        values["contact_id"], name = ctx.emails[who.lower()]
        notes.append(f"contact {who!r} is {name} [{values['contact_id']}] (same email)")
        return
    people = ctx.people.get(fold(who), [])
    if len(people) == 1:
        values["contact_id"], name = people[0]
        notes.append(
            f"contact {who!r} is {name} [{values['contact_id']}] (the one contact of that name)"
        )
    else:
        why = f"{len(people)} contacts have that name" if people else "no contact has that name"
        notes.append(f"contact {who!r} not linked: {why}")


def plan_deals(
    tx: WriteTx,
    source: CsvFile,
    *,
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
    pipeline: str | None = None,
    stage_map: dict[str, str] | None = None,
    currency: str | None = None,
) -> BookPlan:
    """Check every deal row: stage, money, dates, account, contact; writes nothing."""
    mapping = _mapping(source, "deals", profile, overrides or {})
    if "stage" not in mapping.columns.values() and "status" not in mapping.columns.values():
        raise CsvImportError(
            'line 1: no column gives the stage (map one with --map "Column=stage")'
        )
    ctx = deal_context(tx, pipeline=pipeline, stage_map=stage_map or {}, currency=currency)
    rows: list[BookRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, cells in mapped_records(source, mapping):
        if isinstance(cells, str):
            rows.append(BookRow(line, {}, "rejected", cells))
            continue
        row = _deal_row(ctx, line, cells)
        rows.append(row)
        if row.action == "rejected":
            continue
        ext = (cells.get("external_id") or "").strip()
        key = (
            (ext, "")
            if ext
            else (
                fold(row.values["name"]),
                row.values.get("account_id") or (row.account_name or "").lower(),
            )
        )
        if key in seen:
            row.action, row.reason = "duplicate", f"the same deal as line {seen[key]}"
        else:
            seen[key] = line
    return BookPlan("deals", rows, source, mapping)


@dataclass
class BookResult:
    """What `apply_book` wrote."""

    created: int = 0
    updated: int = 0
    accounts: int = 0
    created_ids: list[tuple[str, str]] = field(default_factory=list)


def apply_book(tx: WriteTx, plan: BookPlan) -> BookResult:
    """Write the plan's new and updated rows in `tx` (the caller's one transaction)."""
    result = BookResult()
    if plan.kind == "accounts":
        apply_account_rows(tx, plan.rows, result)
        return result
    made: dict[str, str] = {}
    for row in plan.rows:
        if row.action != "new" or row.stage is None:
            continue
        values = dict(row.values)
        if row.account_name:
            low = row.account_name.lower()
            if low not in made:
                account = Account(name=row.account_name)
                tx.add(account)
                made[low] = account.id
                result.accounts += 1
                result.created_ids.append(("account", account.id))
            values["account_id"] = made[low]
        lost = values.pop("_lost_reason", None)
        closed_on = values.get("expected_close")
        deal = import_deal(
            tx=tx, data=DealCreate(**values), stage=row.stage, closed_on=closed_on, lost_reason=lost
        )
        result.created += 1
        result.created_ids.append(("deal", deal.id))
        result.created_ids += [
            ("deal_stage_change", i)
            for (i,) in tx.db.execute(
                "SELECT id FROM deal_stage_change WHERE deal_id = ?", (deal.id,)
            )
        ]
    return result


def apply_account_rows(tx: WriteTx, rows: list[BookRow], result: BookResult) -> None:
    """Create new accounts and update matched ones (--update-existing) from checked rows."""
    for row in rows:
        if row.action == "new":
            account = Account(**row.values)
            tx.add(account)
            result.created += 1
            result.created_ids.append(("account", account.id))
        elif row.action == "update" and row.target_id:
            stored = tx.session.get(Account, row.target_id)
            if stored is not None and tx.update(
                stored, {k: new for k, (_old, new) in row.changes.items()}
            ):
                result.updated += 1
