"""The demo database: content, determinism, integrity, and the `crm demo` command."""

from __future__ import annotations

import io
import itertools
import re
import sqlite3
import sys
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest
from dateutil.rrule import rrulestr
from sqlmodel import select
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.demo import generator
from crmtui.demo.generator import STAGES, DemoError, seed_demo
from crmtui.store.database import open_store
from crmtui.store.models import Contact, Deal, Tickler
from crmtui.store.types import parse_timestamp

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
SIZE = 300
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DOMAIN_TABLES = (
    "territory", "rep", "territory_assignment", "account", "contact", "lead", "pipeline",
    "stage", "deal", "deal_stage_change", "activity", "tickler",
)  # fmt: skip


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo database shared by the read-only checks."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    seed_demo(path, contacts=SIZE, seed=7, now=NOW)
    return path


@pytest.fixture
def con(demo_db: Path) -> sqlite3.Connection:
    """A read-only connection to the shared demo database."""
    db = sqlite3.connect(f"file:{demo_db}?mode=ro", uri=True)
    yield db  # type: ignore[misc]
    db.close()


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (search index included), the device id left out."""
    db = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name != 'search_fts' ORDER BY name"
            )
        ]
        dump = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        db.close()
    dump["local_meta"] = [row for row in dump["local_meta"] if row[0] != "device_id"]
    return dump


def test_every_table_is_populated_and_the_journal_is_empty(con: sqlite3.Connection) -> None:
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DOMAIN_TABLES}
    assert all(n > 0 for n in counts.values()), counts
    assert counts["contact"] == SIZE
    assert 8 <= counts["rep"] <= 20
    assert SIZE // 12 <= counts["account"] <= SIZE // 5
    assert counts["deal"] == SIZE // 10
    assert 2 * SIZE <= counts["activity"] <= 3 * SIZE
    assert con.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
    meta = dict(con.execute("SELECT key, value FROM local_meta").fetchall())
    assert meta["demo"] == "1"
    assert UUID7.match(meta["device_id"])


def test_search_index_holds_every_contact(con: sqlite3.Connection) -> None:
    assert con.execute("SELECT count(*) FROM search_doc").fetchone()[0] == SIZE
    assert con.execute("SELECT count(*) FROM search_fts").fetchone()[0] == SIZE
    orphans = con.execute(
        "SELECT count(*) FROM search_doc WHERE ref_id NOT IN (SELECT id FROM contact)"
    ).fetchone()[0]
    assert orphans == 0
    assert con.execute("SELECT count(*) FROM search_term").fetchone()[0] > 50
    name, city = con.execute("SELECT family_name, city FROM contact LIMIT 1").fetchone()
    from crmtui.domain.text import fold

    hits = con.execute(
        "SELECT count(*) FROM search_fts WHERE search_fts MATCH ?",
        (f'name:"{fold(name)}" city:"{fold(city)}"',),
    ).fetchone()[0]
    assert hits >= 1


def test_integrity_and_foreign_keys_are_clean(con: sqlite3.Connection) -> None:
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rows_are_what_the_models_store(con: sqlite3.Connection, demo_db: Path) -> None:
    for table in DOMAIN_TABLES:
        for (row_id,) in con.execute(f"SELECT id FROM {table}"):
            assert UUID7.match(row_id), (table, row_id)
        column = "changed_at" if table == "deal_stage_change" else "created_at"
        for (stamp,) in con.execute(f"SELECT {column} FROM {table}"):
            assert STAMP.match(stamp), (table, stamp)
    kinds = con.execute("SELECT DISTINCT typeof(do_not_call), typeof(tags) FROM contact").fetchall()
    assert kinds == [("integer", "text")]
    store = open_store(demo_db, migrate=False)
    try:
        with store.read() as session:
            contacts = session.exec(select(Contact)).all()
            deals = session.exec(select(Deal)).all()
    finally:
        store.close()
    assert len(contacts) == SIZE
    assert any(c.tags for c in contacts)
    assert all(isinstance(c.tags, list) and isinstance(c.do_not_call, bool) for c in contacts)
    assert all(isinstance(d.expected_close, date) for d in deals)
    assert all(c.created_at <= NOW for c in contacts)


def test_territory_tree_reps_and_assignments(con: sqlite3.Connection) -> None:
    regions = con.execute("SELECT id FROM territory WHERE parent_id IS NULL").fetchall()
    assert len(regions) == 3
    per_region = Counter(
        r[0] for r in con.execute("SELECT parent_id FROM territory WHERE parent_id IS NOT NULL")
    )
    assert set(per_region) == {r[0] for r in regions}
    assert all(2 <= n <= 4 for n in per_region.values())
    managers_on = {
        r[0]
        for r in con.execute(
            "SELECT t.parent_id FROM territory_assignment a JOIN rep r ON r.id = a.rep_id "
            "JOIN territory t ON t.id = a.territory_id WHERE r.role = 'manager'"
        )
    }
    assert managers_on == {None}  # managers sit on regions
    roles = Counter(r[0] for r in con.execute("SELECT role FROM rep"))
    assert set(roles) == {"rep", "manager", "admin"}
    misplaced = con.execute(
        "SELECT count(*) FROM account a JOIN territory t ON t.id = a.territory_id "
        "WHERE t.parent_id IS NULL"
    ).fetchone()[0]
    assert misplaced == 0
    # Each account is owned by a rep assigned to its territory.
    unassigned = con.execute(
        "SELECT count(*) FROM account a WHERE NOT EXISTS (SELECT 1 FROM territory_assignment x "
        "WHERE x.rep_id = a.owner_id AND x.territory_id = a.territory_id)"
    ).fetchone()[0]
    assert unassigned == 0


def test_names_cover_accents_and_non_latin_scripts(con: sqlite3.Connection) -> None:
    names = [r[0] for r in con.execute("SELECT name FROM contact")]
    scripts: set[str] = set()
    for name in names:
        for ch in name:
            if ch.isalpha():
                scripts.add(unicodedata.name(ch).split()[0])
    assert {"LATIN", "CJK", "GREEK", "CYRILLIC", "ARABIC"} <= scripts
    assert any(not n.isascii() and "LATIN" in unicodedata.name(n[0]) for n in names)
    assert any(ch in "øåÅØ" for n in names for ch in n)


def test_phones_are_valid_e164_in_their_country(con: sqlite3.Connection) -> None:
    rows = con.execute(
        "SELECT phone, phone_e164, country FROM contact UNION ALL "
        "SELECT mobile, mobile_e164, country FROM contact UNION ALL "
        "SELECT phone, phone_e164, country FROM account UNION ALL "
        "SELECT phone, phone_e164, NULL FROM lead"
    ).fetchall()
    checked = 0
    for typed, e164, country in rows:
        assert (typed is None) == (e164 is None)
        if e164 is None:
            continue
        number = phonenumbers.parse(e164)
        assert phonenumbers.is_valid_number(number), e164
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164
        if country:
            assert phonenumbers.region_code_for_number(number) == country
            # The typed form, read the way a user in that country would, is the same number.
            again = phonenumbers.parse(typed, country)
            assert phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) == e164
        checked += 1
    with_phone = con.execute("SELECT count(*) FROM contact WHERE phone_e164 IS NOT NULL")
    assert with_phone.fetchone()[0] >= SIZE * 0.8
    assert checked > SIZE


def test_emails_are_ascii_and_use_the_account_domain(con: sqlite3.Connection) -> None:
    rows = con.execute(
        "SELECT c.email, a.domain FROM contact c LEFT JOIN account a ON a.id = c.account_id"
    ).fetchall()
    for email, domain in rows:
        assert email.isascii() and email.count("@") == 1, email
        if domain is not None:
            assert email.endswith("@" + domain)
    assert any(e.startswith("user") for e, _ in rows)  # non-Latin names fall back
    domains = [r[0] for r in con.execute("SELECT domain FROM account")]
    assert len(domains) == len(set(domains))


def test_no_two_contacts_share_an_email(con: sqlite3.Connection) -> None:
    # The demo seeds no duplicate on purpose: each person has an address of their own.
    shared = con.execute(
        "SELECT lower(email), count(*) FROM contact WHERE email IS NOT NULL "
        "GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    assert shared == []
    # Namesakes exist (short name lists), so numbering is what keeps them apart.
    numbered = con.execute(
        "SELECT count(*) FROM contact WHERE substr(email, instr(email, '@') - 1, 1) "
        "BETWEEN '2' AND '9' AND email NOT LIKE 'user%'"
    ).fetchone()[0]
    assert numbered > 0


def test_no_two_colleagues_share_a_name(con: sqlite3.Connection) -> None:
    same = con.execute(
        "SELECT account_id, name FROM contact WHERE account_id IS NOT NULL "
        "GROUP BY 1, 2 HAVING count(*) > 1"
    ).fetchall()
    assert same == []


def test_pipeline_stages_and_deals(con: sqlite3.Connection) -> None:
    stages = con.execute(
        "SELECT s.name, s.probability, s.forecast_category, s.id FROM stage s "
        "JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'Sales' AND p.is_default = 1 "
        "ORDER BY s.position"
    ).fetchall()
    assert [s[:3] for s in stages] == [s[:3] for s in STAGES]
    by_stage = Counter(r[0] for r in con.execute("SELECT stage_id FROM deal"))
    assert set(by_stage) == {s[3] for s in stages}
    status_of = {"Closed Won": "won", "Closed Lost": "lost"}
    names = {s[3]: s[0] for s in stages}
    deals = con.execute(
        "SELECT id, stage_id, status, currency, amount_minor, expected_close, closed_at, "
        "lost_reason FROM deal"
    ).fetchall()
    for deal_id, stage_id, status, currency, amount, expected, closed_at, reason in deals:
        assert status == status_of.get(names[stage_id], "open")
        assert (closed_at is not None) == (status != "open")
        assert closed_at is None or parse_timestamp(closed_at) <= NOW
        assert (reason is not None) == (status == "lost")
        assert currency in ("EUR", "USD", "GBP")
        assert amount > 0 and amount % 100 == 0
        assert abs((date.fromisoformat(expected) - NOW.date()).days) <= 130
        history = con.execute(
            "SELECT from_stage_id, to_stage_id, changed_at FROM deal_stage_change "
            "WHERE deal_id = ? ORDER BY changed_at, rowid",
            (deal_id,),
        ).fetchall()
        assert history[0][0] is None
        assert history[-1][1] == stage_id
        for before, after in itertools.pairwise(history):
            assert after[0] == before[1]


def test_activities_cover_the_last_90_days(con: sqlite3.Connection) -> None:
    rows = con.execute("SELECT kind, occurred_at, outcome, created_at FROM activity").fetchall()
    assert {r[0] for r in rows} == {"call", "email", "meeting", "visit", "note"}
    for kind, occurred, outcome, created in rows:
        at = parse_timestamp(occurred)
        assert NOW - timedelta(days=90) <= at <= NOW
        assert at <= parse_timestamp(created) <= NOW
        assert (outcome is None) == (kind == "note")
    outcomes = {r[2] for r in rows if r[0] == "call"}
    assert {"connected", "no-answer", "voicemail"} <= outcomes
    assert parse_timestamp(min(r[1] for r in rows)) < NOW - timedelta(days=60)


def test_consent_flags_are_respected(con: sqlite3.Connection) -> None:
    assert con.execute("SELECT count(*) FROM contact WHERE do_not_call = 1").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM contact WHERE do_not_email = 1").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM contact WHERE stay_in_touch_days > 0").fetchone()[0]
    calls_to_dnc = con.execute(
        "SELECT count(*) FROM activity a JOIN contact c ON c.id = a.contact_id "
        "WHERE c.do_not_call = 1 AND a.kind = 'call'"
    ).fetchone()[0]
    emails_to_dne = con.execute(
        "SELECT count(*) FROM activity a JOIN contact c ON c.id = a.contact_id "
        "WHERE c.do_not_email = 1 AND a.kind = 'email'"
    ).fetchone()[0]
    assert calls_to_dnc == 0 and emails_to_dne == 0


def test_ticklers_are_overdue_today_and_upcoming(demo_db: Path) -> None:
    store = open_store(demo_db, migrate=False)
    try:
        with store.read() as session:
            ticklers = session.exec(select(Tickler)).all()
    finally:
        store.close()
    today = NOW.date()
    open_ones = [t for t in ticklers if t.status == "open"]
    assert any(t.due_at.date() < today for t in open_ones)
    assert any(t.due_at.date() == today for t in open_ones)
    assert any(t.due_at.date() > today for t in open_ones)
    assert any(t.status == "done" and t.done_at is not None for t in ticklers)
    recurring = [t for t in ticklers if t.recurrence]
    assert recurring
    for t in recurring:
        assert t.series_id == t.id
        rule = rrulestr(t.recurrence, dtstart=t.due_at)
        assert rule.after(t.due_at) is not None


def test_same_seed_gives_identical_data(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    seed_demo(first, contacts=120, seed=3, now=NOW)
    seed_demo(second, contacts=120, seed=3, now=NOW)
    seed_demo(other, contacts=120, seed=4, now=NOW)
    assert _dump(first) == _dump(second)
    assert _dump(first)["contact"] != _dump(other)["contact"]


def test_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    path.write_bytes(b"precious")
    with pytest.raises(DemoError, match="--force"):
        seed_demo(path, contacts=5)
    assert path.read_bytes() == b"precious"
    summary = seed_demo(path, contacts=5, force=True)
    assert summary.contacts == 5
    assert sqlite3.connect(path).execute("SELECT count(*) FROM contact").fetchone()[0] == 5
    with pytest.raises(ValueError):
        seed_demo(tmp_path / "none.db", contacts=0)
    assert not (tmp_path / "none.db").exists()


def test_progress_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Progress comes once per CHUNK of contacts: small chunks show it on a small demo
    # (12,000 contacts at the real CHUNK took seconds of CI time for the same check).
    monkeypatch.setattr(generator, "CHUNK", 100)
    calls: list[tuple[int, int]] = []
    seed_demo(tmp_path / "p.db", contacts=450, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 4
    assert calls[-1] == (450, 450)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_cli_creates_refuses_and_forces(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "cli.db"
    result = runner.invoke(app, ["demo", "--db", str(path), "--contacts", "40", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "40 contacts" in result.output
    before = path.read_bytes()

    result = runner.invoke(app, ["demo", "--db", str(path), "--contacts", "40"])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert path.read_bytes() == before

    result = runner.invoke(app, ["demo", "--db", str(path), "--contacts", "25", "--force"])
    assert result.exit_code == 0, result.output
    assert sqlite3.connect(path).execute("SELECT count(*) FROM contact").fetchone()[0] == 25


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_cli_rejects_a_bad_contact_count(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(path), "--contacts", bad])
    assert result.exit_code == 2
    assert not path.exists()


def test_cli_uses_crmtui_db_when_no_path_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "from-env.db"
    monkeypatch.setenv("CRMTUI_DB", str(path))
    result = CliRunner().invoke(app, ["demo", "--contacts", "10"])
    assert result.exit_code == 0, result.output
    assert sqlite3.connect(path).execute("SELECT count(*) FROM contact").fetchone()[0] == 10


class _Terminal(io.StringIO):
    """A stderr stand-in that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from crmtui.commands.progress import progress_bar

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar("seeding") as update:
        assert update is None
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("seeding contacts") as update:
        assert update is not None
        update(5, 10)
    assert "seeding contacts" in terminal.getvalue()


def test_a_failed_run_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "CHUNK", 100)  # the first progress call comes sooner
    path = tmp_path / "broken.db"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seed_demo(path, contacts=6000, progress=interrupt)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
