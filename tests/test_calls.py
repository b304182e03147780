"""The call queue: consent is never broken, order is overdue first, filters select."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtui.reports.calls import CallFilter, call_queue, call_stats
from crmtui.services.consent import CallCap, blockers, format_timestamp
from crmtui.store.database import open_store
from crmtui.store.types import format_timestamp as model_format_timestamp
from tests.budget import examples

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 29, 11, 30, tzinfo=BERLIN)  # the day Berlin moves to summer time
NOW_UTC = NOW.astimezone(UTC)  # cap windows are elapsed time: count them in UTC
CAP = CallCap(3, 30)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty migrated database, copied for each example (migrating is slow)."""
    path = tmp_path_factory.mktemp("tpl") / "crm.db"
    open_store(path).close()
    return path


@pytest.fixture
def fresh(template: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the template for one test."""
    path = tmp_path / "crm.db"
    shutil.copy(template, path)
    yield path


def _stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def add_contact(
    db: sqlite3.Connection,
    name: str,
    *,
    phone: str | None = "030 1",
    dnc: bool = False,
    cap: tuple[int, int] | None = None,
    tags: str = "[]",
    territory_id: str | None = None,
    archived: bool = False,
) -> str:
    """Insert a contact row directly (test data, not a domain write)."""
    cid = str(uuid.uuid4())
    db.execute(
        "INSERT INTO contact (id, name, phone, tags, do_not_call, do_not_email, max_calls, "
        "max_calls_days, territory_id, archived_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        (
            cid,
            name,
            phone,
            tags,
            dnc,
            cap[0] if cap else None,
            cap[1] if cap else None,
            territory_id,
            _stamp(NOW) if archived else None,
            _stamp(NOW),
            _stamp(NOW),
        ),
    )
    return cid


def add_call(db: sqlite3.Connection, cid: str, when: datetime, outcome: str | None = None) -> None:
    """Insert a call activity."""
    db.execute(
        "INSERT INTO activity (id, kind, occurred_at, outcome, contact_id, consent_override, "
        "created_at) VALUES (?, 'call', ?, ?, ?, 0, ?)",
        (str(uuid.uuid4()), _stamp(when), outcome, cid, _stamp(when)),
    )


def add_tickler(
    db: sqlite3.Connection, cid: str, due: datetime, *, snoozed: datetime | None = None
) -> str:
    """Insert an open reminder about a contact."""
    tid = str(uuid.uuid4())
    db.execute(
        "INSERT INTO tickler (id, text, due_at, snoozed_until, status, contact_id, created_at, "
        "updated_at) VALUES (?, 'call', ?, ?, 'open', ?, ?, ?)",
        (tid, _stamp(due), _stamp(snoozed) if snoozed else None, cid, _stamp(NOW), _stamp(NOW)),
    )
    return tid


def test_read_side_timestamp_format_matches_the_models() -> None:
    moment = datetime(2026, 2, 28, 23, 59, 59, 123456, tzinfo=BERLIN)
    assert format_timestamp(moment) == model_format_timestamp(moment)


def test_queue_orders_overdue_then_today_then_list(fresh: Path) -> None:
    db = sqlite3.connect(fresh)
    late = add_contact(db, "Late")
    later = add_contact(db, "Later today")
    older = add_contact(db, "Older")
    listed = add_contact(db, "Listed", tags='["fair"]')
    add_tickler(db, later, NOW + timedelta(hours=3))
    add_tickler(db, late, NOW - timedelta(hours=1))
    add_tickler(db, older, NOW - timedelta(days=3))
    add_tickler(db, late, NOW - timedelta(days=9))  # a second reminder: listed once
    add_tickler(db, listed, NOW + timedelta(days=2))  # not today: not a reason
    add_contact(db, "Tagged but no phone", phone=None, tags='["fair"]')
    db.commit()
    queue = call_queue(db, now=NOW, cap=CAP, filter=CallFilter(tag="fair"))
    assert [(i.name, i.reason) for i in queue] == [
        ("Late", "overdue"),
        ("Older", "overdue"),
        ("Later today", "today"),
        ("Listed", "list"),
    ]
    assert queue[0].due_at == NOW - timedelta(days=9)


def test_queue_excludes_snoozed_archived_and_blocked(fresh: Path) -> None:
    db = sqlite3.connect(fresh)
    snoozed = add_contact(db, "Snoozed")
    add_tickler(db, snoozed, NOW - timedelta(days=1), snoozed=NOW + timedelta(hours=2))
    woke = add_contact(db, "Snooze over")
    add_tickler(db, woke, NOW - timedelta(days=1), snoozed=NOW - timedelta(minutes=1))
    archived = add_contact(db, "Archived", archived=True)
    add_tickler(db, archived, NOW - timedelta(days=1))
    dnc = add_contact(db, "Do not call", dnc=True)
    add_tickler(db, dnc, NOW - timedelta(days=1))
    capped = add_contact(db, "Capped", cap=(1, 7))
    add_call(db, capped, NOW_UTC - timedelta(days=6, hours=23))
    add_tickler(db, capped, NOW - timedelta(days=1))
    free = add_contact(db, "Cap window over", cap=(1, 7))
    add_call(db, free, NOW_UTC - timedelta(days=7, minutes=1))
    add_tickler(db, free, NOW - timedelta(days=1))
    db.commit()
    names = {i.name for i in call_queue(db, now=NOW, cap=CAP)}
    assert names == {"Snooze over", "Cap window over"}


def test_filters_territory_subtree_stage_and_untouched(fresh: Path) -> None:
    db = sqlite3.connect(fresh)
    stamp = _stamp(NOW)
    db.execute(
        "INSERT INTO territory (id, name, created_at, updated_at) VALUES ('t-root', 'North', ?, ?)",
        (stamp, stamp),
    )
    db.execute(
        "INSERT INTO territory (id, name, parent_id, created_at, updated_at) "
        "VALUES ('t-child', 'Hamburg', 't-root', ?, ?)",
        (stamp, stamp),
    )
    inside = add_contact(db, "In the subtree", territory_id="t-child")
    add_contact(db, "Elsewhere")
    recent = add_contact(db, "Called lately", territory_id="t-root")
    add_call(db, recent, NOW - timedelta(days=2))
    db.commit()
    names = [i.name for i in call_queue(db, now=NOW, cap=CAP, filter=CallFilter("t-root"))]
    # Never touched before touched; the untouched filter drops the recent call.
    assert names == ["In the subtree", "Called lately"]
    untouched = CallFilter(territory_id="t-root", untouched_days=14)
    assert [i.contact_id for i in call_queue(db, now=NOW, cap=CAP, filter=untouched)] == [inside]
    assert call_queue(db, now=NOW, cap=CAP, filter=CallFilter(stage_id="nope")) == []


def test_call_stats_count_the_local_day(fresh: Path) -> None:
    db = sqlite3.connect(fresh)
    cid = add_contact(db, "Anna", cap=(99, 1))
    midnight = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    add_call(db, cid, midnight - timedelta(seconds=1), "connected")  # yesterday, locally
    add_call(db, cid, midnight, "connected")
    add_call(db, cid, NOW, "no-answer")
    add_call(db, cid, NOW, "meeting-booked")
    db.commit()
    stats = call_stats(db, now=NOW)
    assert (stats.calls_today, stats.connects_today) == (3, 2)


def test_items_carry_recent_activities_and_open_deals(fresh: Path) -> None:
    db = sqlite3.connect(fresh)
    cid = add_contact(db, "Anna", cap=(99, 1))
    for days in (1, 2, 3, 4):
        add_call(db, cid, NOW - timedelta(days=days + 40), "no-answer")
    add_tickler(db, cid, NOW - timedelta(hours=1))
    db.commit()
    (item,) = call_queue(db, now=NOW, cap=CAP)
    assert len(item.recent) == 3
    assert item.recent[0].occurred_at == NOW - timedelta(days=41)
    assert item.as_dict()["recent"][0]["kind"] == "call"
    assert item.last_touched == NOW - timedelta(days=41)


# --------------------------------------------------------------------------- properties

contact_specs = st.lists(
    st.fixed_dictionaries(
        {
            "dnc": st.booleans(),
            "phone": st.booleans(),
            "cap": st.none() | st.tuples(st.integers(1, 4), st.integers(1, 40)),
            "calls": st.lists(st.integers(0, 60 * 24), max_size=6),  # hours ago
            "ticklers": st.lists(
                st.tuples(st.integers(-24 * 20, 24 * 3), st.booleans()), max_size=3
            ),
            "tag": st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=contact_specs, use_filter=st.booleans(), default_calls=st.integers(1, 5))
def test_queue_never_breaks_consent_and_misses_nobody(
    template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[dict],
    use_filter: bool,
    default_calls: int,
) -> None:
    path = tmp_path_factory.mktemp("prop") / "crm.db"
    shutil.copy(template, path)
    db = sqlite3.connect(path)
    cap = CallCap(default_calls, 30)
    due_soon: set[str] = set()
    tagged: set[str] = set()
    for n, spec in enumerate(specs):
        cid = add_contact(
            db,
            f"c{n}",
            phone="030 1" if spec["phone"] else None,
            dnc=spec["dnc"],
            cap=spec["cap"],
            tags='["hot"]' if spec["tag"] else "[]",
        )
        for hours in spec["calls"]:
            add_call(db, cid, NOW_UTC - timedelta(hours=hours))
        for hours, snoozed in spec["ticklers"]:
            due = NOW + timedelta(hours=hours)
            add_tickler(db, cid, due, snoozed=NOW + timedelta(hours=1) if snoozed else None)
            if due < datetime(2026, 3, 30, tzinfo=BERLIN) and not snoozed:
                due_soon.add(cid)
        if spec["tag"]:
            tagged.add(cid)
    db.commit()
    flt = CallFilter(tag="hot") if use_filter else None
    queue = call_queue(db, now=NOW, cap=cap, filter=flt)
    ids = [i.contact_id for i in queue]
    assert len(ids) == len(set(ids))
    allowed = set()
    for (cid,) in db.execute("SELECT id FROM contact WHERE phone IS NOT NULL"):
        if not blockers(db, cid, "call", now=NOW_UTC, cap=cap):
            allowed.add(cid)
    # No do-not-call contact, no capped contact, ever.
    assert set(ids) <= allowed
    # Nobody who should be called is missing.
    expected = allowed & (due_soon | (tagged if use_filter else set()))
    assert set(ids) == expected
    # Overdue first (by due date), then today, then the list.
    rank = {"overdue": 0, "today": 1, "list": 2}
    assert [rank[i.reason] for i in queue] == sorted(rank[i.reason] for i in queue)
    dues = [i.due_at for i in queue if i.due_at is not None]
    assert dues == sorted(dues)
    assert all((i.reason == "overdue") == (i.due_at is not None and i.due_at < NOW) for i in queue)
    db.close()
