"""Shared fixtures: every test runs with its own config, data dirs and database path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crmtui.store.database import Store, open_store
from tests.pg_support import PG_ADMIN_DSN, pg_test_database
from tests.rig_support import rig, rig_db  # noqa: F401 (fixtures: the scale-out rig)


@pytest.fixture(autouse=True)
def _isolate_user_files(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read or write the real user's config or database."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("CRMTUI_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("CRMTUI_DB", str(home / "crm.db"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="session", autouse=True)
def _typer_tree_once() -> Iterator[None]:
    """`CliRunner.invoke` builds each Typer app's click tree once per worker, not per call.

    typer.testing rebuilds the tree from the annotations on every invoke: 0.3-0.6 s on a
    quiet machine (over a second under load), a large share of the CLI tests' time. The
    tree is the same every time, so it is kept, by app, for the whole session.
    """
    import typer.main
    import typer.testing

    built: dict[int, tuple[object, object]] = {}

    def get_command(app: typer.Typer) -> object:
        if id(app) not in built:
            built[id(app)] = (app, typer.main.get_command(app))  # the app, so its id stays its
        return built[id(app)][1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", get_command)
        yield


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text cursors do not blink: a focused Input or TextArea always shows its cursor.

    A blinking cursor's phase at the moment a snapshot is taken depends on how fast the
    machine ran the test (an SVG differed in one cell under load). `cursor_blink` is a
    reactive; its default is read when a widget is created, so every Input and TextArea
    (and subclass) made from now on starts with blinking off. Textual is pinned;
    tests/test_determinism.py fails if this stops taking effect.
    """
    from textual.widgets import Input, TextArea

    for widget in (Input, TextArea):
        monkeypatch.setattr(widget.cursor_blink, "_default", False)


NOTIFICATION_GRACE_S = 3600.0
"""Seconds added to every notification's life in tests (the app's own are 3-5 s)."""


@pytest.fixture(autouse=True)
def _notifications_outlive_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notification raised in a test stays until the test ends.

    Textual drops a notification (and its toast) 3-5 s of *wall* time after it is
    raised. A test that settles and then reads `app._notifications` or takes a snapshot
    would miss a message the app did raise whenever that settle took longer, which on a
    loaded machine it does (one wait of 11.8 s was measured, docs/decisions.md, `flaky`).
    Only the clock of expiry moves; what is raised, and when, is the app's.
    tests/test_determinism.py fails if this stops taking effect.
    """
    from textual.notifications import Notification

    real = Notification.time_left.fget
    assert real is not None
    monkeypatch.setattr(
        Notification, "time_left", property(lambda self: real(self) + NOTIFICATION_GRACE_S)
    )


@pytest.fixture(autouse=True)
def _no_idle_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's timed background work waits an hour, unless a test sets its own delay.

    Sections built ahead after PREBUILD_IDLE_S without a key, and the reports warmed
    WARM_DELAY_S after start-up, would otherwise start at a moment that depends on the
    machine's speed: on a loaded machine a test's own reads and screens met them half
    done. tests/test_app_prebuild.py and tests/test_report_cache.py set the delays
    they test (a test's monkeypatch runs after this one).
    """
    import crmtui.startup

    monkeypatch.setattr(crmtui.startup, "PREBUILD_IDLE_S", 3600.0)
    monkeypatch.setattr(crmtui.startup, "WARM_DELAY_S", 3600.0)


def _no_fsync(pragmas: tuple[str, ...]) -> tuple[str, ...]:
    """`pragmas` with SQLite's `synchronous=FULL` turned to OFF."""
    swapped = tuple(p.replace("synchronous=FULL", "synchronous=OFF") for p in pragmas)
    assert swapped != pragmas, "the product no longer sets synchronous=FULL: revisit _no_fsync"
    return swapped


@pytest.fixture(scope="session", autouse=True)
def _sqlite_without_fsync() -> Iterator[None]:
    """SQLite databases opened in the test process do not fsync at each commit.

    `synchronous=FULL` (laptop store and SQLite server) makes a commit survive a power
    cut; no test cuts the power, and a process killed with -9 (tests/test_sync_crash.py)
    loses nothing either way, since the OS has the pages. Each commit's fsync cost ~4 ms
    of a waiting core (about 30 per app test), time the suite spent idle. Every query,
    lock and transaction is the same. The product's setting is still tested
    (tests/test_store_engine.py asks for `durable_pragmas`), and `crm` processes the
    tests start keep it.
    """
    import crmtui.server.db
    import crmtui.store.engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crmtui.store.engine, "PRAGMAS", _no_fsync(crmtui.store.engine.PRAGMAS))
        patch.setattr(
            crmtui.server.db, "SQLITE_PRAGMAS", _no_fsync(crmtui.server.db.SQLITE_PRAGMAS)
        )
        yield


@pytest.fixture
def durable_pragmas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product's own SQLite pragmas (synchronous=FULL), for a test that checks them."""
    import crmtui.server.db
    import crmtui.store.engine

    monkeypatch.setattr(crmtui.store.engine, "PRAGMAS", _PRODUCT_PRAGMAS[0])
    monkeypatch.setattr(crmtui.server.db, "SQLITE_PRAGMAS", _PRODUCT_PRAGMAS[1])


def _product_pragmas() -> tuple[tuple[str, ...], tuple[str, ...]]:
    import crmtui.server.db
    import crmtui.store.engine

    return crmtui.store.engine.PRAGMAS, crmtui.server.db.SQLITE_PRAGMAS


_PRODUCT_PRAGMAS = _product_pragmas()
"""The laptop store's and the SQLite server's pragmas as the product sets them."""


IDLE_POLL_S = 0.005
"""How long Pilot's `pause()` sleeps between its checks that the app is idle (Textual: 0.02)."""


@pytest.fixture(scope="session", autouse=True)
def _short_idle_polls() -> Iterator[None]:
    """Pilot's `pause()` (every `press`, and `settle` several times) polls for idle every 5 ms.

    Textual's `wait_for_idle` sleeps in steps of 20 ms until a step passes in which the
    process used under 1 ms of CPU: at least 20 ms a call, ~1-3 s of a core left idle
    per app test (the CPU log's idle column). Steps of 5 ms with the same 5% threshold
    (0.25 ms) still wait until nothing ran for a whole step; what a test waits on
    deterministically (workers, message queues) `settle` waits for by name.
    """
    import textual._wait

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(textual._wait, "SLEEP_GRANULARITY", IDLE_POLL_S)
        patch.setattr(textual._wait, "SLEEP_IDLE", IDLE_POLL_S / 20)
        yield


SCREEN_WAIT_CPU_S = 30.0
"""CPU-seconds a Pilot wait for the screen's messages may take before it is a hang."""
SCREEN_WAIT_WALL_S = 600.0
"""Wall seconds after which such a wait fails anyway (a hang that uses no CPU)."""


@pytest.fixture(scope="session", autouse=True)
def _screen_waits_count_cpu() -> Iterator[None]:
    """Pilot's wait for the screen's messages fails after 30 CPU-seconds, not 30 wall seconds.

    Every `pause` and `press` waits until each widget on the screen has processed what
    was queued (`Pilot._wait_for_screen`), and Textual raises WaitForScreenTimeout after
    30 s of wall time. On the loaded machine (load average 20-30 on 2 cores) a test's
    process got a few percent of a core: one such wait took 11.8 s of which 0.47 s was
    CPU and the rest waiting for a core, and the first `settle` of
    test_enter_writes_one_activity_and_one_follow_up timed out with nothing wrong. The
    wait is the same (Textual's own, in slices); only the bound changes: 30 s of the
    CPU this process used while waiting (a spinning hang still fails), or 10 minutes
    of wall time (a hang that sleeps). Textual is pinned; the slices rely on its
    signature `_wait_for_screen(self, timeout)`.
    """
    import time

    from textual.pilot import Pilot, WaitForScreenTimeout

    textual_wait = Pilot._wait_for_screen

    async def wait_for_screen(self: Pilot[object], timeout: float | None = None) -> bool:
        cpu_end = time.process_time() + (SCREEN_WAIT_CPU_S if timeout is None else timeout)
        wall_end = time.monotonic() + SCREEN_WAIT_WALL_S
        while True:
            try:
                # Messages queue in order: once a later slice's markers are processed,
                # so are the earlier ones' and everything queued before them.
                return await textual_wait(self, timeout=1.0)
            except WaitForScreenTimeout:
                if time.process_time() > cpu_end or time.monotonic() > wall_end:
                    raise

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Pilot, "_wait_for_screen", wait_for_screen)
        yield


FIXED_WALL_CLOCK = "2026-06-10T14:00:00+02:00"
"""Where `fixed_day` starts the clock: a Wednesday afternoon in Berlin, far from midnight,
a week's or a month's end and a change of summer time."""


@pytest.fixture
def fixed_day() -> Iterator[None]:
    """The wall clock starts at FIXED_WALL_CLOCK and runs on from there.

    For tests that compare a date the code took from the real clock ("tomorrow 9am", a
    30-day recurrence, "this year") with one they compute from it afterwards: with a
    midnight between the two readings they disagreed, and the days they ran on (summer
    time, a month's end) changed with the calendar. The code under test reads the clock
    as ever; time-machine moves it.
    """
    import time_machine

    with time_machine.travel(FIXED_WALL_CLOCK, tick=True):
        yield


@pytest.fixture(scope="session", autouse=True)
def _migrated_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A new local database is a copy of one migrated once per xdist worker.

    Running every migration on a new file costs ~0.2 s of CPU (alembic loads every
    script), and hundreds of tests open a new store (`store`, `open_store`, `crm demo`,
    the app's first start). A new, empty database is the same whatever its path (no
    random value is made before the first write: the device id comes then), so the
    first `upgrade` to head of a missing or empty file runs the real migrations into a
    template and every later one copies it. Anything else (a database behind, a
    revision below head, a parent folder missing) goes to the real `upgrade`, and a
    test module that imported `upgrade` itself (tests/test_migrations.py) keeps the real
    one. A test's own monkeypatch of `upgrade` still applies (it runs after this).
    """
    import shutil

    import crmtui.store.database
    import crmtui.store.migrate
    from crmtui.store.schema_version import SCHEMA_HEAD

    real = crmtui.store.migrate.upgrade
    template = tmp_path_factory.mktemp("migrated") / "empty.db"

    def upgrade(path: Path, revision: str = "head") -> Path | None:
        path = Path(path)
        new = not path.exists() or path.stat().st_size == 0
        sidecars = any(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
        if revision not in ("head", SCHEMA_HEAD) or not new or sidecars:
            return real(path, revision)
        if not path.parent.is_dir():
            return real(path, revision)  # the real error, not a copy's
        if not template.exists():
            real(template, revision)
        shutil.copyfile(template, path)
        return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crmtui.store.migrate, "upgrade", upgrade)
        patch.setattr(crmtui.store.database, "upgrade", upgrade)
        yield


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300-contact demo database (seed 1, at `app_support.DEMO_NOW`), seeded once per
    xdist worker. Tests get their own copy (`app_support.copy_db`): seeding it again for
    every test and module cost more than a second each."""
    from crmtui.demo.generator import seed_demo
    from tests.app_support import DEMO_NOW

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    seed_demo(path, contacts=300, seed=1, now=DEMO_NOW)
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database path (the file does not exist yet)."""
    return tmp_path / "crm.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An opened, migrated, empty store."""
    s = open_store(db_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def _pg_dropper() -> Iterator[Callable[[str], None]]:
    """Drops test databases on a thread of its own; the session waits for the last one.

    A `DROP DATABASE` removes the database's files and waits on PostgreSQL's disk (0.1 to
    0.9 s on the loaded machine): done inline, that was each PostgreSQL test's core left
    idle. The next test does not need the old database gone, so the drop runs beside it.
    """
    import os
    import queue
    import threading
    import warnings

    import psycopg

    names: queue.Queue[str | None] = queue.Queue()
    failures: list[str] = []

    def drop_all() -> None:
        # Connects at the first name: a run without PostgreSQL never reaches it.
        dsn = os.environ.get("CRMTUI_PG_DSN", PG_ADMIN_DSN)
        admin = None
        while (name := names.get()) is not None:
            try:
                if admin is None:
                    admin = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as exc:  # reported at the end, the test is over
                failures.append(f"{name}: {exc}")
        if admin is not None:
            admin.close()

    thread = threading.Thread(target=drop_all, name="pg-dropper", daemon=True)
    thread.start()
    yield names.put
    names.put(None)
    thread.join(timeout=120)
    if failures or thread.is_alive():
        left = failures or ["the dropper did not finish"]
        warnings.warn(f"test databases left on PostgreSQL: {left}", stacklevel=1)


@pytest.fixture
def pg_url(_pg_dropper: Callable[[str], None]) -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, dropped afterwards.

    Skipped with the reason when the server is unreachable, unless
    CRMTUI_REQUIRE_PG=1 (CI), where an unreachable server fails the test. Commits in it
    do not wait for PostgreSQL's WAL flush (`synchronous_commit = off`, see
    `pg_test_database`), and it is dropped on the dropper's thread after the test.
    """
    import os
    import uuid

    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        pytest.fail(f"psycopg is not installed: {exc}")
    admin_dsn = os.environ.get("CRMTUI_PG_DSN", PG_ADMIN_DSN)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CRMTUI_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required (CRMTUI_REQUIRE_PG=1) but unreachable: {exc}")
        pytest.skip(
            f"PostgreSQL on 127.0.0.1:5432 is unreachable ({exc}); set CRMTUI_REQUIRE_PG=1 to fail"
        )
    name = f"crmtui_test_{uuid.uuid4().hex[:12]}"
    with admin:
        pg_test_database(admin, name)
        info = admin.info
        url = f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
    try:
        yield url
    finally:
        _pg_dropper(name)


@pytest.fixture
def stable_rendering(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For SVG snapshots: colour on (the suite sets NO_COLOR) and UTC on every machine."""
    import time

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _hypothesis_profiles() -> None:
    """Load the "ci" profile (`make test`) or the "full" one (`make test-full`).

    Neither has a deadline or the too-slow health check: both measure wall time, which
    a loaded machine stretches. Counts of examples come from tests/budget.py; tests
    that name no count run Hypothesis's 100 in CI and 1,000 in the full run. Loaded
    here, before any test module is imported, so every `@settings` inherits it.
    """
    from hypothesis import HealthCheck, settings

    from tests.budget import FULL

    ci = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
    settings.register_profile("ci", ci)
    settings.register_profile("full", ci, max_examples=1000)
    settings.load_profile("full" if FULL else "ci")


_hypothesis_profiles()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """With CRMTUI_CPU_LOG=FILE, append each test's CPU-seconds (set-up, call, tear-down).

    Wall time (`--durations`) on a shared machine measures the other load as much as
    the test; CPU time does not. The figure is this process's user+system time (every
    thread) plus that of the child processes it waited for (`crm` runs). One line per
    test, `seconds<TAB>nodeid<TAB>idle`; xdist workers append to the same file.

    `idle` (Linux only, from /proc/thread-self/schedstat) estimates the seconds the test
    would leave its core idle on a quiet machine: sleeps, polling loops, waits on a
    server or on PostgreSQL. It is the time the main thread was neither running nor
    waiting for a core, less the CPU-seconds of the test's other threads and children
    stretched by the load the main thread saw. A test with idle seconds well above its
    CPU-seconds waits on something in CI too; look for a sleep or a timeout.
    """
    import os

    log = os.environ.get("CRMTUI_CPU_LOG")
    if not log:
        return (yield)
    import resource
    import time

    def used() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def scheduled() -> tuple[float, float] | None:
        """Seconds the main thread has run and has waited for a core (None off Linux)."""
        try:
            with open("/proc/thread-self/schedstat", encoding="ascii") as stat:
                run, wait = stat.read().split()[:2]
        except (OSError, ValueError):
            return None
        return int(run) / 1e9, int(wait) / 1e9

    start, began, before = used(), time.monotonic(), scheduled()
    try:
        return (yield)
    finally:
        cpu, wall, after = used() - start, time.monotonic() - began, scheduled()
        idle = ""
        if before is not None and after is not None:
            ran, waited = after[0] - before[0], after[1] - before[1]
            stretch = (ran + waited) / ran if ran > 0 else 1.0  # the load, as seen here
            others = max(0.0, cpu - ran) * stretch  # other threads' and children's share
            idle = f"{max(0.0, wall - ran - waited - others):.3f}"
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{cpu:.3f}\t{item.nodeid}\t{idle}\n")


RUN_FIRST = (
    "tests/test_sync_fuzz_stateful.py::test_stateful_fuzz_through_the_api",
    "tests/test_sync_statemachine.py::",
    "tests/test_app_whole_day.py::test_a_whole_day_in_the_app",
    "tests/test_snapshots_dialogs.py::test_every_dialog_fits_at_80x24",
    "tests/test_sync_crash.py::test_kill_9_during_sync_loses_and_doubles_nothing",
    "tests/test_install.py::",
    "tests/test_server_fuzz.py::",
    "tests/test_sync_bulk.py::test_batched_push_answers_and_stores_like_per_op",
    "tests/test_sync_pg.py::test_concurrent_writers_and_pulling_readers_miss_nothing",
    "tests/test_intake_concurrency.py::",
)
"""Node-id prefixes of the longest tests (5-15 CPU-seconds each, 2026-12-07), run first.

`--dist worksteal` hands each worker a contiguous share of the collection and lets an
idle worker take from the end of the other's. A long test near the end of the order ran
alone at the end of the run while the other core idled; first in the order, the short
tests behind it are what gets shared out. Find the long ones with CRMTUI_CPU_LOG.
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the RUN_FIRST tests to the front, keeping every other test's order."""

    def rank(item: pytest.Item) -> int:
        for at, prefix in enumerate(RUN_FIRST):
            if item.nodeid.startswith(prefix):
                return at
        return len(RUN_FIRST)

    items.sort(key=rank)  # stable: the same order on every xdist worker
