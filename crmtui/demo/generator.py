"""The demo database: a realistic, deterministic sample territory for trying crmtui.

`seed_demo` creates a new database file with the migrations and fills it with a
territory tree, reps, accounts, contacts (names from a dozen locales, accents and
non-Latin scripts among them), a "Sales" pipeline with deals and their stage
history, 90 days of activities, and ticklers that are overdue, due today and
upcoming.

Decisions:

- **No journal.** Demo data is sample data, never to be synced, so it bypasses
  `Store.write()` and writes no journal operations; `local_meta` gets `demo = 1`
  (so sync and the app can tell a demo file apart) and a fresh `device_id`.
- **Raw sqlite3, one transaction.** Rows go in with `executemany` inside one
  `BEGIN IMMEDIATE` ... `COMMIT`; they are exactly what the SQLModel tables would
  store (timestamps from `format_timestamp`, tags as JSON text, booleans 0/1,
  dates as ISO text). Going through ORM objects would be ~40x slower.
- **Deterministic.** Everything, ids included, is derived from `seed` and from
  `now` (the time the data is centred on: activities in the 90 days before it,
  ticklers due around it). Ids are UUIDv7-shaped: the millisecond field is the
  row's `created_at` and the 74 random bits come from the seeded generator, so
  two runs with the same seed and `now` give byte-identical tables; only the
  `device_id` in `local_meta` is a fresh `uuid7()`, because it names the device
  that holds the file, not the sample data.
- "Today" for ticklers is the UTC date of `now`.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crmtui.demo import data
from crmtui.demo.catalogue import Catalogue, seed_catalogue
from crmtui.domain.contact_details import items_from_columns
from crmtui.domain.ids import uuid7
from crmtui.domain.text import fold
from crmtui.search.search_index import SearchDocument, index_many
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from crmtui.store.types import format_timestamp

Progress = Callable[[int, int], None]

CHUNK = 5000
# Activities and ticklers are generated for a sample of contacts once the
# database is large, so a million contacts still seed in about a minute; the
# agenda and timelines stay as full as a real team's would be.
ACTIVE_CONTACTS_CAP = 30_000
TICKLER_SHARE = 0.35
TICKLER_CAP = 25_000
HISTORY_DAYS = 3 * 365
ACTIVITY_DAYS = 90

# The default pipeline that every database gets from its migrations (fixed ids).
STAGES: tuple[tuple[str, int, str, int | None], ...] = tuple(
    (s.name, s.probability, s.forecast_category, s.stale_after_days) for s in DEFAULT_STAGES
)
WON, LOST = 4, 5
STAGE_WEIGHTS = (22, 20, 18, 10, 15, 15)

ACTIVITY_KINDS = ("call", "email", "meeting", "visit", "note")
ACTIVITY_WEIGHTS = (45, 25, 10, 8, 12)
CALL_OUTCOMES = tuple(data.CALL_NOTES)
CALL_OUTCOME_WEIGHTS = (30, 22, 18, 5, 2, 8, 5, 10)
TICKLER_KINDS = ("overdue", "today", "upcoming", "done", "cancelled")
TICKLER_WEIGHTS = (25, 15, 45, 12, 3)

_SLUG = re.compile(r"[^a-z0-9]+")


class DemoError(RuntimeError):
    """The demo database cannot be made (for instance, the file already holds data)."""


@dataclass
class DemoSummary:
    """What `seed_demo` made: row counts per entity and the time it took."""

    territories: int = 0
    reps: int = 0
    territory_assignments: int = 0
    accounts: int = 0
    contacts: int = 0
    leads: int = 0
    pipelines: int = 0
    stages: int = 0
    deals: int = 0
    deal_stage_changes: int = 0
    activities: int = 0
    ticklers: int = 0
    search_documents: int = 0
    products: int = 0
    price_lists: int = 0
    deal_lines: int = 0
    exchange_rates: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """A one-line human summary."""
        return (
            f"{self.contacts:,} contacts, {self.accounts:,} accounts, {self.deals:,} deals, "
            f"{self.activities:,} activities, {self.ticklers:,} reminders, {self.leads:,} leads, "
            f"{self.reps} reps in {self.territories} territories, {self.products} products"
            f" with {self.deal_lines:,} deal lines and {self.exchange_rates:,} exchange rates"
            f" ({self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class _PhoneRange:
    """A number range with ready-made national and international layouts."""

    calling_code: str
    prefix: str
    rest: int
    national: str  # a str.format template with one {} per digit of the number
    international: str


@dataclass
class _Account:
    id: str
    name: str
    domain: str
    country: data.Country
    city: data.City
    territory_id: str
    owner_id: str
    email_scheme: int
    names: set[str] = field(default_factory=set)  # of its contacts, to keep namesakes apart


@dataclass
class _Buffers:
    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    leads: list[tuple[Any, ...]] = field(default_factory=list)
    deals: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    ticklers: list[tuple[Any, ...]] = field(default_factory=list)
    documents: list[SearchDocument] = field(default_factory=list)


def _columns(table: str, names: str) -> str:
    cols = [c.strip() for c in names.split(",")]
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


INSERT_ACCOUNT = _columns(
    "account",
    "id, name, domain, industry, employees, phone, phone_e164, website, street, postcode, city,"
    "country, territory_id, owner_id, tags, notes, external_id, created_at, updated_at,"
    "archived_at, deleted_at",
)
INSERT_CONTACT = _columns(
    "contact",
    "id, name, given_name, family_name, title, account_id, email, phone, phone_e164, mobile,"
    "mobile_e164, city, country, territory_id, owner_id, tags, notes, do_not_call, do_not_email,"
    "max_calls, max_calls_days, stay_in_touch_days, source, external_id, created_at, updated_at,"
    "archived_at, deleted_at",
)
INSERT_LEAD = _columns(
    "lead",
    "id, name, company, email, phone, phone_e164, source, status, disqualify_reason, owner_id,"
    "territory_id, converted_account_id, converted_contact_id, converted_deal_id, converted_at,"
    "created_at, updated_at, deleted_at",
)
INSERT_DEAL = _columns(
    "deal",
    "id, name, account_id, contact_id, pipeline_id, stage_id, amount_minor, currency,"
    "expected_close, probability, owner_id, territory_id, status, lost_reason, closed_at,"
    "stage_changed_at, created_at, updated_at, deleted_at",
)
INSERT_CHANGE = _columns(
    "deal_stage_change",
    "id, deal_id, from_stage_id, to_stage_id, changed_at, changed_by, deleted_at",
)
INSERT_ACTIVITY = _columns(
    "activity",
    "id, kind, occurred_at, duration_s, outcome, text, contact_id, account_id, deal_id, rep_id,"
    "consent_override, created_at, deleted_at",
)
INSERT_TICKLER = _columns(
    "tickler",
    "id, text, due_at, snoozed_until, status, done_at, recurrence, recur_after_days, series_id,"
    "contact_id, account_id, deal_id, owner_id, created_at, updated_at, deleted_at",
)


def _phone_range(calling_code: str, region: str, prefix: str, length: int) -> _PhoneRange:
    """Learn the national and international layout of a range from phonenumbers once."""
    import phonenumbers

    sample = prefix + "5" * (length - len(prefix))
    number = phonenumbers.parse(f"+{calling_code}{sample}", region)
    layouts = []
    for style in (
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    ):
        text = phonenumbers.format_number(number, style)
        literal = sum(ch.isdigit() for ch in text) - length  # trunk or country code
        out: list[str] = []
        for ch in text.replace("{", "{{").replace("}", "}}"):
            if ch.isdigit():
                out.append(ch if literal > 0 else "{}")
                literal -= 1
            else:
                out.append(ch)
        layouts.append("".join(out))
    return _PhoneRange(calling_code, prefix, length - len(prefix), layouts[0], layouts[1])


class _Generator:
    """Holds the seeded random source and the clock that every row is derived from."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now
        self.now_ms = int(now.timestamp() * 1000)
        self.today = datetime(now.year, now.month, now.day, tzinfo=UTC)
        self.domains: dict[str, int] = {}
        self.ranges: dict[tuple[str, str], _PhoneRange] = {}
        for country in data.COUNTRIES:
            for city in country.cities:
                self.ranges[(country.code, city.landline)] = _phone_range(
                    country.calling_code, country.code, city.landline, city.length
                )
            for prefix, length in country.mobiles:
                self.ranges[(country.code, prefix)] = _phone_range(
                    country.calling_code, country.code, prefix, length
                )

    def id_at(self, moment: datetime) -> str:
        """A UUIDv7-shaped id whose time field is `moment` and random bits come from the seed."""
        ms = int(moment.timestamp() * 1000)
        rand = self.rng.getrandbits(74)
        value = (
            (ms << 80)
            | (0x7 << 76)
            | ((rand >> 62) << 64)
            | (0b10 << 62)
            | (rand & ((1 << 62) - 1))
        )
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def phone(self, country: data.Country, prefix: str) -> tuple[str, str]:
        """A (typed, E.164) pair in the range; typed nationally three times in four."""
        r = self.ranges[(country.code, prefix)]
        nsn = prefix + f"{self.rng.randrange(10**r.rest):0{r.rest}d}"
        layout = r.national if self.rng.random() < 0.75 else r.international
        return layout.format(*nsn), f"+{r.calling_code}{nsn}"

    def postcode(self, pattern: str) -> str | None:
        """Fill a postcode pattern: `#` a digit, `A` a capital letter."""
        if not pattern:
            return None
        rng = self.rng
        return "".join(
            str(rng.randrange(10))
            if ch == "#"
            else chr(65 + rng.randrange(26))
            if ch == "A"
            else ch
            for ch in pattern
        )

    def domain(self, name_part: str, locale: str, tld: str) -> str:
        """A unique web domain for a company, ASCII even when the name is not."""
        spelling = data.ASCII_SPELLING.get(locale, {})
        slug = _SLUG.sub("-", fold(name_part.translate(spelling))).strip("-")
        if not slug or not slug.isascii() or not any(ch.isalpha() for ch in slug):
            stems = data.DOMAIN_STEMS.get(locale, ("company",))
            slug = f"{self.rng.choice(stems)}-{self.rng.choice(stems)}"
        base = f"{slug}.{tld}"
        seen = self.domains.get(base, 0)
        self.domains[base] = seen + 1
        return base if seen == 0 else f"{slug}-{seen + 1}.{tld}"

    def person(self, locale: str) -> tuple[str, str, str]:
        """A (display name, given name, family name) for the locale."""
        rng = self.rng
        female = rng.random() < 0.5
        given = rng.choice(data.GIVEN_NAMES[locale][0 if female else 1])
        family = rng.choice(data.FAMILY_NAMES[locale])
        if "/" in family:
            masculine, feminine = family.split("/")
            family = feminine if female else masculine
        sep = data.FAMILY_FIRST.get(locale)
        name = f"{family}{sep}{given}" if sep is not None else f"{given} {family}"
        return name, given, family

    def email_local(self, given: str, family: str, scheme: int, locale: str = "") -> str:
        """An ASCII local part from a name, or a neutral one when the name has no ASCII form."""
        g = _ascii_word(given, locale)
        f = _ascii_word(family, locale)
        if not (g and f and g.isascii() and f.isascii()):
            return f"user{self.rng.randrange(1000, 10000)}"
        return (f"{g}.{f}", f"{g[0]}.{f}", f"{g}{f}", f"{f}.{g}", f"{g[0]}{f}")[scheme]


@functools.lru_cache(maxsize=4096)
def _ascii_word(text: str, locale: str = "") -> str:
    # names come from short lists, so each is folded once rather than per contact
    return _SLUG.sub("", fold(text.translate(data.ASCII_SPELLING.get(locale, {}))))


@functools.lru_cache(maxsize=4096)
def _tags_json(tags: tuple[str, ...]) -> str:
    # exactly what SQLAlchemy's JSON type stores (json.dumps with its defaults);
    # tag sets repeat, so each is encoded once
    return json.dumps(list(tags))


def _pick(rng: random.Random, options: Sequence[str], k: int) -> list[str]:
    """`k` distinct options (random.sample is slow for the common k of 0 or 1)."""
    if k == 0:
        return []
    if k == 1:
        return [rng.choice(options)]
    return rng.sample(options, k)


def _stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def _weighted(rng: random.Random, options: Sequence[Any], cum: Sequence[float]) -> Any:
    # bisect on cumulative weights: random.choices costs ~4x more per call
    return options[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _cum(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _prepare(path: Path, force: bool) -> None:
    """Make sure `path` is free to be (re)created, or refuse."""
    if path.exists() and path.stat().st_size > 0 and not force:
        raise DemoError(f"{path} already exists and is not empty (use --force to replace it)")
    _remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def seed_demo(
    path: Path,
    *,
    contacts: int,
    seed: int = 1,
    progress: Progress | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> DemoSummary:
    """Create a demo database at `path` with `contacts` contacts, deterministic for `seed`.

    Refuses (DemoError) when `path` exists and is not empty, unless `force`, which
    replaces it. `now` (default: the current time, whole seconds) is the moment the
    data is centred on; the same `seed` and `now` give the same rows and ids.
    """
    if contacts < 1:
        raise ValueError("contacts must be at least 1")
    if now is not None and now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    started = time.perf_counter()
    path = Path(path).expanduser()
    _prepare(path, force)
    moment = now.astimezone(UTC) if now else datetime.now(UTC).replace(microsecond=0)

    from crmtui.store.migrate import upgrade

    try:
        upgrade(path)
        db = sqlite3.connect(path, isolation_level=None)
        try:
            summary = _seed(db, _Generator(seed, moment), contacts, progress)
        finally:
            db.close()
    except BaseException:
        _remove(path)  # a half-made demo is worthless; never leave one behind
        raise
    summary.seconds = time.perf_counter() - started
    if progress is not None:
        progress(contacts, contacts)
    return summary


def _seed(
    db: sqlite3.Connection, gen: _Generator, contacts: int, progress: Progress | None
) -> DemoSummary:
    """Fill a freshly migrated file in one transaction, then hand it back in WAL mode."""
    # Only for this connection to a brand-new file that nothing else has open:
    # skip fsync and keep the rollback journal in memory. A run that fails is
    # cleaned up above, and a file left half-made by a crash or a kill is just
    # deleted and rebuilt with `crm demo --force`; there is no user data to protect.
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=MEMORY")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB: the indexes of 1M contacts stay in memory
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("BEGIN IMMEDIATE")
    summary = _fill(db, gen, contacts, progress)
    # Merge the FTS segments written batch by batch, so searches start fast.
    db.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    db.execute("INSERT INTO local_meta(key, value) VALUES ('demo', '1')")
    db.execute("INSERT INTO local_meta(key, value) VALUES ('device_id', ?)", (uuid7(),))
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA optimize")
    return summary


def _fill(
    db: sqlite3.Connection, gen: _Generator, total: int, progress: Progress | None
) -> DemoSummary:
    """Insert every row; the caller owns the transaction."""
    rng, now = gen.rng, gen.now
    summary = DemoSummary()
    base = now - timedelta(days=HISTORY_DAYS)
    territory_ids, district_of_country = _seed_territories(db, gen, base, summary)
    reps_by_territory = _seed_reps(db, gen, base, territory_ids, summary)
    pipeline_id, stage_ids = _seed_pipeline(db, gen, base, summary)
    catalogue = seed_catalogue(db, gen.seed, base, now)
    ctx = _Context(
        gen=gen,
        total=total,
        pipeline_id=pipeline_id,
        stage_ids=stage_ids,
        district_of_country=district_of_country,
        reps_by_territory=reps_by_territory,
        catalogue=catalogue,
    )
    countries = list(data.COUNTRIES)
    country_cum = _cum(data.COUNTRY_WEIGHTS[c.code] for c in countries)
    span = (now - base).total_seconds()
    buf = _Buffers()
    done = 0
    while done < total:
        # Visit every country once first, so even a small demo shows every script.
        accounts = summary.accounts + len(buf.accounts)
        tour = accounts < len(countries)
        country = countries[accounts] if tour else _weighted(rng, countries, country_cum)
        # Rows are created in insertion order over the last three years, so their
        # UUIDv7 ids ascend and the primary-key B-trees are appended to, not split.
        moment = base + timedelta(seconds=span * done / total)
        if rng.random() < 0.03:
            ctx.contact(buf, done, None, country, moment)
            done += 1
        else:
            account = ctx.account(buf, country, moment)
            size = min(total - done, 1 + int(rng.expovariate(1 / 7)))
            for j in range(size):
                at = moment + timedelta(seconds=span * j / total + rng.random() * 60)
                ctx.contact(buf, done + j, account, country, min(at, now))
            done += size
        if len(buf.contacts) >= CHUNK:
            _flush(db, buf, summary)
            catalogue.flush(db)
            if progress is not None:
                progress(done, total)
    _flush(db, buf, summary)
    catalogue.flush(db)
    for name, count in catalogue.counts.items():
        setattr(summary, name, count)
    return summary


def _seed_territories(
    db: sqlite3.Connection, gen: _Generator, base: datetime, summary: DemoSummary
) -> tuple[dict[str, str], dict[str, str]]:
    """Regions and their districts; returns ids by name and each country's district id."""
    territory_ids: dict[str, str] = {}
    district_of_country: dict[str, str] = {}
    rows: list[tuple[Any, ...]] = []
    created = _stamp(base)
    for region, districts in data.TERRITORIES:
        rid = gen.id_at(base)
        territory_ids[region] = rid
        rows.append((rid, region, None, created, created))
        for district, codes in districts:
            did = gen.id_at(base)
            territory_ids[district] = did
            rows.append((did, district, rid, created, created))
            for code in codes:
                district_of_country[code] = did
    db.executemany(
        "INSERT INTO territory (id, name, parent_id, created_at, updated_at, deleted_at) "
        "VALUES (?, ?, ?, ?, ?, NULL)",
        rows,
    )
    summary.territories = len(rows)
    return territory_ids, district_of_country


def _seed_reps(
    db: sqlite3.Connection,
    gen: _Generator,
    base: datetime,
    territory_ids: dict[str, str],
    summary: DemoSummary,
) -> dict[str, list[str]]:
    """The staff and their territory assignments; returns rep ids by territory id."""
    created = _stamp(base)
    reps_by_territory: dict[str, list[str]] = {}
    rep_rows: list[tuple[Any, ...]] = []
    assignment_rows: list[tuple[Any, ...]] = []
    for name, role, territory in data.REPS:
        rep_id = gen.id_at(base)
        email = f"{'.'.join(_ascii_word(p) for p in name.split())}@{data.REP_DOMAIN}"
        rep_rows.append((rep_id, name, email, role, created, created))
        if territory is not None:
            tid = territory_ids[territory]
            assignment_rows.append((gen.id_at(base), rep_id, tid, created))
            reps_by_territory.setdefault(tid, []).append(rep_id)
    db.executemany(
        "INSERT INTO rep (id, name, email, role, created_at, updated_at, deleted_at) "
        "VALUES (?, ?, ?, ?, ?, ?, NULL)",
        rep_rows,
    )
    db.executemany(
        "INSERT INTO territory_assignment (id, rep_id, territory_id, created_at, deleted_at) "
        "VALUES (?, ?, ?, ?, NULL)",
        assignment_rows,
    )
    summary.reps = len(rep_rows)
    summary.territory_assignments = len(assignment_rows)
    return reps_by_territory


def _seed_pipeline(
    db: sqlite3.Connection, gen: _Generator, base: datetime, summary: DemoSummary
) -> tuple[str, list[str]]:
    """The default "Sales" pipeline, made by the migrations; returns its id and stage ids."""
    # Draw the ids this function used to make, so every later row of a seed (and
    # the app's snapshot tests built on it) stays the same.
    for _ in range(1 + len(DEFAULT_STAGES)):
        gen.id_at(base)
    summary.pipelines, summary.stages = 1, len(DEFAULT_STAGES)
    return DEFAULT_PIPELINE_ID, [s.id for s in DEFAULT_STAGES]


_CONTACT_COLUMNS = [c.strip() for c in INSERT_CONTACT.split("(")[1].split(")")[0].split(",")]


def _contact_items(contacts: Sequence[tuple[Any, ...]]) -> dict[str, list[dict[str, object]]]:
    """The phone, email and address items of demo contacts (their columns are the primaries)."""
    at = {name: i for i, name in enumerate(_CONTACT_COLUMNS)}
    out: dict[str, list[dict[str, object]]] = {}
    for row in contacts:
        made = items_from_columns(
            *(row[at[n]] for n in ("id", "phone", "phone_e164", "mobile", "mobile_e164")),
            *(row[at[n]] for n in ("email", "city", "country")),
            now=row[at["created_at"]],
        )
        for table, rows in made.items():
            for r in rows:
                r["is_primary"] = int(bool(r["is_primary"]))
            out.setdefault(table, []).extend(rows)
    return out


def _flush(db: sqlite3.Connection, buf: _Buffers, summary: DemoSummary) -> None:
    """Write the buffered rows, parents before children, and empty the buffers."""
    items = _contact_items(buf.contacts)
    for sql, rows, attr in (
        (INSERT_ACCOUNT, buf.accounts, "accounts"),
        (INSERT_CONTACT, buf.contacts, "contacts"),
        (INSERT_DEAL, buf.deals, "deals"),
        (INSERT_CHANGE, buf.changes, "deal_stage_changes"),
        (INSERT_LEAD, buf.leads, "leads"),
        (INSERT_ACTIVITY, buf.activities, "activities"),
        (INSERT_TICKLER, buf.ticklers, "ticklers"),
    ):
        if rows:
            db.executemany(sql, rows)
            setattr(summary, attr, getattr(summary, attr) + len(rows))
            rows.clear()
    for table, made in items.items():
        if made:
            names = list(made[0])
            db.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [tuple(r.values()) for r in made],
            )
    if buf.documents:
        summary.search_documents += index_many(db, buf.documents)
        buf.documents.clear()


@dataclass
class _Context:
    """Per-run lookups shared by the row makers."""

    gen: _Generator
    total: int
    pipeline_id: str
    stage_ids: list[str]
    district_of_country: dict[str, str]
    reps_by_territory: dict[str, list[str]]
    catalogue: Catalogue | None = None
    deals_made: int = 0
    ticklers_made: int = 0
    # Every contact address handed out so far -> the last number appended to it.
    emails: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.active_share = min(1.0, ACTIVE_CONTACTS_CAP / self.total)
        self.tickler_share = min(TICKLER_SHARE, TICKLER_CAP / self.total)
        self.stage_cum = _cum(STAGE_WEIGHTS)
        self.kind_cum = _cum(ACTIVITY_WEIGHTS)
        self.outcome_cum = _cum(CALL_OUTCOME_WEIGHTS)
        self.tickler_cum = _cum(TICKLER_WEIGHTS)

    def unique_email(self, local: str, domain: str) -> str:
        """`local@domain`, numbered ("anna.weber2@...") when a namesake already has it.

        Names repeat (two Anna Webers at one company, or at gmail.com), and two
        people sharing an address made the Duplicates section list pairs that are not
        duplicates. Numbering draws nothing from the random source, so every other
        row of a seed stays as it was.
        """
        address = f"{local}@{domain}"
        emails = self.emails
        last = emails.get(address)
        if last is None:
            emails[address] = 1
            return address
        while True:
            last += 1
            numbered = f"{local}{last}@{domain}"
            if numbered not in emails:
                break
        emails[address] = last
        emails[numbered] = 1
        return numbered

    def colleague_name(
        self, account: _Account, locale: str, person: tuple[str, str, str]
    ) -> tuple[str, str]:
        """(name, given name) for a contact whose name a colleague at `account` already has.

        The name lists are short, so two "Ursula Wagner" at one company came up often
        and looked like one person entered twice. The next given name of the same
        list is taken instead, drawing nothing from the random source.
        """
        name, given, family = person
        options = next(o for o in data.GIVEN_NAMES[locale] if given in o)
        start = options.index(given)
        sep = data.FAMILY_FIRST.get(locale)
        for step in range(1, len(options)):
            other = options[(start + step) % len(options)]
            candidate = f"{family}{sep}{other}" if sep is not None else f"{other} {family}"
            if candidate not in account.names:
                return candidate, other
        return name, given  # every given name is taken there: a namesake it is

    def owner(self, territory_id: str) -> str:
        """A rep working the territory."""
        return self.gen.rng.choice(self.reps_by_territory[territory_id])

    def account(self, buf: _Buffers, country: data.Country, moment: datetime) -> _Account:
        """Make one account in `country`, created at `moment`."""
        gen, rng = self.gen, self.gen.rng
        locale = country.locale
        city = rng.choice(country.cities)
        word, industry = rng.choice(data.COMPANY_WORDS[locale])
        family = gen.person(locale)[2]
        family2 = gen.person(locale)[2]
        legal = rng.choice(country.legal_forms)
        pattern = rng.choice(data.COMPANY_PATTERNS.get(locale, data.COMPANY_PATTERNS["default"]))
        if "{word}" not in pattern:
            industry = rng.choice(data.COMPANY_WORDS[locale])[1]
        name = pattern.format(
            family=family, family2=family2, word=word, legal=legal, city=city.name
        )
        stem = pattern.replace(" {legal}", "").replace("{legal}", "")
        domain = gen.domain(
            stem.format(family=family, family2=family2, word=word, city=city.name),
            locale,
            country.tld,
        )
        low, high = data.INDUSTRY_SIZES[industry]
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        phone, e164 = gen.phone(country, city.landline)
        territory_id = self.district_of_country[country.code]
        owner_id = self.owner(territory_id)
        tags = _pick(rng, data.ACCOUNT_TAGS, rng.choice((0, 1, 1, 2)))
        street = country.street_format.format(
            street=rng.choice(data.STREETS[locale]), n=rng.randrange(1, 180)
        )
        stamp = _stamp(moment)
        account = _Account(
            id=gen.id_at(moment),
            name=name,
            domain=domain,
            country=country,
            city=city,
            territory_id=territory_id,
            owner_id=owner_id,
            email_scheme=rng.randrange(5),
        )
        buf.accounts.append((
            account.id, name, domain, industry, employees, phone, e164, f"https://www.{domain}",
            street, gen.postcode(city.postcode), city.name, country.code, territory_id, owner_id,
            _tags_json(tuple(tags)), None, None, stamp, stamp, None, None,
        ))  # fmt: skip
        return account

    def contact(
        self,
        buf: _Buffers,
        index: int,
        account: _Account | None,
        country: data.Country,
        moment: datetime,
    ) -> None:
        """Make contact number `index` (at `account`, or on their own) and what hangs off it."""
        gen, rng = self.gen, self.gen.rng
        name, given, family = gen.person(country.locale)
        if account is not None:
            if name in account.names:
                name, given = self.colleague_name(account, country.locale, (name, given, family))
            account.names.add(name)
            city = account.city if rng.random() < 0.85 else rng.choice(country.cities)
            territory_id, owner_id = account.territory_id, account.owner_id
            email = self.unique_email(
                gen.email_local(given, family, account.email_scheme, country.locale),
                account.domain,
            )
        else:
            city = rng.choice(country.cities)
            territory_id = self.district_of_country[country.code]
            owner_id = self.owner(territory_id)
            provider = rng.choice(("gmail.com", "outlook.com", "proton.me"))
            email = self.unique_email(
                gen.email_local(given, family, rng.randrange(5), country.locale), provider
            )
        phone = e164 = mobile = mobile_e164 = None
        if rng.random() < 0.92:
            phone, e164 = gen.phone(country, city.landline)
        if rng.random() < 0.55:
            mobile, mobile_e164 = gen.phone(country, rng.choice(country.mobiles)[0])
        tags = _pick(rng, data.CONTACT_TAGS, rng.choice((0, 0, 1, 1, 2, 3)))
        r = rng.random()
        do_not_call = r < 0.02
        do_not_email = 0.015 < r < 0.045
        capped = rng.random() < 0.05
        stay = rng.choice((30, 60, 90)) if rng.random() < 0.1 else None
        archived = rng.random() < 0.01
        contact_id = gen.id_at(moment)
        stamp = _stamp(moment)
        buf.contacts.append((
            contact_id, name, given, family, rng.choice(data.TITLES),
            account.id if account else None, email, phone, e164, mobile, mobile_e164, city.name,
            country.code, territory_id, owner_id, _tags_json(tuple(tags)),
            rng.choice(data.NOTE_TEXTS) if rng.random() < 0.05 else None,
            int(do_not_call), int(do_not_email), 2 if capped else None, 30 if capped else None,
            stay, rng.choice(data.CONTACT_SOURCES), None, stamp, stamp,
            stamp if archived else None, None,
        ))  # fmt: skip
        buf.documents.append(
            SearchDocument(
                ref_id=contact_id,
                name=name,
                company=account.name if account else None,
                email=email,
                phones=tuple(p for p in ((phone, e164), (mobile, mobile_e164)) if p[1]),
                city=city.name,
                tags=tags,
                archived=archived,
            )
        )
        who = _Who(contact_id, account, owner_id, territory_id, moment, name, email, e164, phone)
        deal_id = self.deal(buf, who, country) if index % 10 == 0 else None
        if index % 25 == 7:
            self.lead(buf, country, territory_id, owner_id, moment)
        if archived:
            return
        if rng.random() < self.active_share:
            self.activities(buf, who, deal_id, do_not_call, do_not_email, capped)
        if rng.random() < self.tickler_share:
            self.tickler(buf, who, deal_id)

    def deal(self, buf: _Buffers, who: _Who, country: data.Country) -> str:
        """Open a deal for the contact, with its stage history; returns its id."""
        gen, rng, now = self.gen, self.gen.rng, self.gen.now
        ids = self.stage_ids
        stage = (
            self.deals_made
            if self.deals_made < len(STAGES)
            else _weighted(rng, range(len(STAGES)), self.stage_cum)
        )
        self.deals_made += 1
        if stage in (WON, LOST):
            closed = now - timedelta(days=rng.uniform(1, 120))
            closed = min(now, max(closed, who.created + timedelta(hours=2)))
            opened = max(
                who.created + timedelta(hours=1), closed - timedelta(days=rng.uniform(20, 150))
            )
            end = closed
            expected = (closed + timedelta(days=rng.randint(-10, 10))).date()
            # Won deals went through every open stage; lost ones dropped out early.
            path = [*range(WON), WON] if stage == WON else [*range(rng.randrange(WON)), LOST]
            if not path[:-1]:
                path = [0, LOST]
        else:
            opened = max(
                who.created + timedelta(hours=1), now - timedelta(days=rng.uniform(3, 200))
            )
            end = now - timedelta(hours=rng.uniform(1, 240))
            expected = (now + timedelta(days=rng.randint(-30, 120))).date()
            path = list(range(stage + 1))
            closed = None
        opened = min(opened, now)
        end = min(max(end, opened), now)
        deal_id = gen.id_at(opened)
        step = (end - opened) / max(1, len(path) - 1)
        previous: str | None = None
        changed = opened
        for n, s in enumerate(path):
            changed = opened + step * n
            buf.changes.append(
                (gen.id_at(changed), deal_id, previous, ids[s], _stamp(changed), who.owner_id, None)
            )
            previous = ids[s]
        amount = round(rng.lognormvariate(math.log(15_000), 0.9), -2) * 100
        currency = {"GB": "GBP"}.get(country.code, country.currency)
        probability = None
        if closed is None and rng.random() < 0.1:
            probability = max(5, min(95, STAGES[stage][1] + rng.choice((-15, -10, 10, 15))))
        status = "won" if stage == WON else "lost" if stage == LOST else "open"
        company = who.account.name if who.account else who.name
        buf.deals.append((
            deal_id, f"{company} – {rng.choice(data.DEAL_TOPICS)}",
            who.account.id if who.account else None, who.contact_id, self.pipeline_id, ids[stage],
            int(amount), currency, expected.isoformat(), probability, who.owner_id,
            who.territory_id, status, rng.choice(data.LOST_REASONS) if stage == LOST else None,
            _stamp(closed) if closed else None, _stamp(changed), _stamp(opened), _stamp(changed),
            None,
        ))  # fmt: skip
        if self.catalogue is not None:
            self.catalogue.add_lines(deal_id, int(amount), currency, opened)
        if rng.random() < 0.3:
            # The lead this deal came from, converted when the deal opened.
            lead_created = opened - timedelta(days=rng.uniform(1, 30))
            buf.leads.append((
                gen.id_at(lead_created), who.name, who.account.name if who.account else None,
                who.email, who.phone, who.e164, rng.choice(data.LEAD_SOURCES), "converted", None,
                who.owner_id, who.territory_id, who.account.id if who.account else None,
                who.contact_id, deal_id, _stamp(opened), _stamp(lead_created), _stamp(opened), None,
            ))  # fmt: skip
        return deal_id

    def lead(
        self,
        buf: _Buffers,
        country: data.Country,
        territory_id: str,
        owner_id: str,
        moment: datetime,
    ) -> None:
        """An unconverted prospect: often just a name, a company and a number."""
        gen, rng = self.gen, self.gen.rng
        name, given, family = gen.person(country.locale)
        word = rng.choice(data.COMPANY_WORDS[country.locale])[0]
        company = f"{gen.person(country.locale)[2]} {word} {rng.choice(country.legal_forms)}"
        phone, e164 = gen.phone(country, rng.choice(country.mobiles)[0])
        status = rng.choice(("new", "new", "working", "working", "qualified", "disqualified"))
        created = max(moment, gen.now - timedelta(days=60))
        stamp = _stamp(created)
        email = None
        if rng.random() < 0.5:
            email = f"{gen.email_local(given, family, 0, country.locale)}@{rng.choice(('gmail.com', 'outlook.com'))}"
        buf.leads.append((
            gen.id_at(created), name, company, email, phone, e164, rng.choice(data.LEAD_SOURCES),
            status, "no budget" if status == "disqualified" else None, owner_id, territory_id,
            None, None, None, None, stamp, stamp, None,
        ))  # fmt: skip

    def activities(
        self,
        buf: _Buffers,
        who: _Who,
        deal_id: str | None,
        do_not_call: bool,
        do_not_email: bool,
        capped: bool,
    ) -> None:
        """Two or three things that happened with the contact in the last 90 days."""
        gen, rng, now = self.gen, self.gen.rng, self.gen.now
        earliest = max(now - timedelta(days=ACTIVITY_DAYS - 1), who.created)
        window = (now - earliest).total_seconds()
        calls = 0
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
            kind = _weighted(rng, ACTIVITY_KINDS, self.kind_cum)
            if kind == "call" and (do_not_call or (capped and calls >= 1)):
                kind = "note" if do_not_email else "email"
            if kind == "email" and do_not_email:
                kind = "note"
            occurred = earliest + timedelta(seconds=rng.uniform(0, window))
            duration: int | None = None
            outcome: str | None = None
            if kind == "call":
                calls += 1
                outcome = _weighted(rng, CALL_OUTCOMES, self.outcome_cum)
                text = rng.choice(data.CALL_NOTES[outcome])
                duration = (
                    rng.randint(60, 1500)
                    if outcome in ("connected", "meeting-booked")
                    else (rng.randint(5, 40))
                )
            elif kind == "email":
                outcome = "replied" if rng.random() < 0.3 else "sent"
                text = rng.choice(data.EMAIL_SUBJECTS)
            elif kind in ("meeting", "visit"):
                outcome = "held" if rng.random() < 0.9 else "cancelled"
                text = rng.choice(data.MEETING_NOTES)
                duration = (
                    rng.choice((1800, 2700, 3600))
                    if kind == "meeting"
                    else rng.choice((3600, 5400, 7200))
                )
            else:
                text = rng.choice(data.NOTE_TEXTS)
            logged = min(now, occurred + timedelta(seconds=(duration or 0) + 60))
            buf.activities.append((
                gen.id_at(logged), kind, _stamp(occurred), duration, outcome, text, who.contact_id,
                who.account.id if who.account else None,
                deal_id if deal_id and rng.random() < 0.5 else None, who.owner_id, 0,
                _stamp(logged), None,
            ))  # fmt: skip

    def tickler(self, buf: _Buffers, who: _Who, deal_id: str | None) -> None:
        """A follow-up: overdue, due today, upcoming, done or cancelled; a few recur."""
        gen, rng, now = self.gen, self.gen.rng, self.gen.now
        n = self.ticklers_made
        self.ticklers_made += 1
        # The first four cover every agenda section, so even a tiny demo shows them all.
        kind = TICKLER_KINDS[n] if n < 4 else _weighted(rng, TICKLER_KINDS, self.tickler_cum)
        hour = timedelta(hours=rng.randint(8, 17), minutes=rng.choice((0, 15, 30, 45)))
        snoozed = done_at = None
        status = "open"
        if kind == "today":
            due = gen.today + hour
        elif kind == "upcoming":
            due = gen.today + timedelta(days=rng.randint(1, 60)) + hour
        else:
            due = gen.today - timedelta(days=rng.randint(1, 30)) + hour
            if kind == "overdue" and rng.random() < 0.15:
                snoozed = gen.today + timedelta(days=rng.randint(1, 5), hours=8)
            elif kind == "done":
                status, done_at = "done", min(now, due + timedelta(hours=rng.uniform(0, 48)))
            elif kind == "cancelled":
                status = "cancelled"
        created = min(now, due) - timedelta(days=rng.uniform(1, 20))
        created = min(now, max(created, who.created))
        recurrence = recur_after = None
        r = rng.random()
        if n == 4 or r < 0.05:
            recurrence = rng.choice(data.RECURRENCES)
        elif r < 0.08:
            recur_after = rng.choice((7, 14, 30))
        tickler_id = gen.id_at(created)
        updated = done_at or created
        buf.ticklers.append((
            tickler_id, rng.choice(data.TICKLER_TEXTS), _stamp(due),
            _stamp(snoozed) if snoozed else None, status, _stamp(done_at) if done_at else None,
            recurrence, recur_after, tickler_id if recurrence or recur_after else None,
            who.contact_id, who.account.id if who.account else None,
            deal_id if deal_id and rng.random() < 0.5 else None, who.owner_id, _stamp(created),
            _stamp(updated), None,
        ))  # fmt: skip


@dataclass
class _Who:
    """The contact a deal, activity or tickler is about."""

    contact_id: str
    account: _Account | None
    owner_id: str
    territory_id: str
    created: datetime
    name: str
    email: str
    e164: str | None
    phone: str | None


__all__ = ["DemoError", "DemoSummary", "seed_demo"]
