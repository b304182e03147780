"""Twenty web posts at once against a real `crm server run` (uvicorn) on SQLite and on
PostgreSQL (two workers): no lead lost or doubled, and the round-robin stays fair within
one lead per rep, because routing reads and moves the rotation under the feed lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.db import is_sqlite, make_server_engine, upgrade_server
from tests.intake_support import leads, publish_form, rep_ids
from tests.sync_support import BACKENDS, server_url

POSTS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """A prepared server database and a real server on it (killed afterwards)."""
    url = server_url(request, tmp_path)
    engine = make_server_engine(url)
    upgrade_server(engine)
    admin.add_territory(engine, "North")
    for rep in ("ann", "bob", "cal"):
        admin.add_rep(engine, rep, "rep", ["North"])
    port = _free_port()
    workers = "1" if is_sqlite(url) else "2"
    log = (tmp_path / "server.log").open("w")
    crm = Path(sys.executable).with_name("crm")
    server = subprocess.Popen(
        [str(crm), "server", "run", "--db", url, "--port", str(port), "--workers", workers],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if server.poll() is not None:
                pytest.fail(f"the server stopped: {(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield engine, base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        engine.dispose()


def test_twenty_concurrent_posts_lose_nothing_double_nothing_and_stay_fair(
    served: tuple[Engine, str],
) -> None:
    engine, base = served
    key = publish_form(engine, rate=1000)
    start = threading.Barrier(POSTS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            start.wait()
            r = client.post(
                "/v1/intake/contact-us",
                json={"name": f"Person {i}", "email": f"person{i}@example.org"},
                headers={"X-Intake-Key": key},
            )
        with lock:
            answers.append((r.status_code, r.text))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [202] * POSTS, answers
    held = leads(engine)
    # No lead lost, none doubled: one lead per post, each person once.
    assert sorted(str(lead["email"]) for lead in held.values()) == sorted(
        f"person{i}@example.org" for i in range(POSTS)
    )
    owners = Counter(str(lead["_owner"]) for lead in held.values())
    assert set(owners) == set(rep_ids(engine).values())
    assert max(owners.values()) - min(owners.values()) <= 1, owners
    with engine.connect() as conn:
        rotations = conn.execute(select(t.assignment.c.why)).scalars().all()
        posts = conn.execute(select(func.count()).select_from(t.intake_post)).scalar_one()
        creates = conn.execute(
            select(func.count()).where(t.change.c.entity == "lead", t.change.c.kind == "create")
        ).scalar_one()
    # Every assignment logged, each at its own rotation position.
    assert sorted(json.loads(w)["rotation"] for w in rotations) == list(range(1, POSTS + 1))
    assert posts == POSTS and creates == POSTS


def test_intake_only_serves_the_intake_and_not_the_sync_api(tmp_path: Path) -> None:
    """`crm server run --intake-only`: the listener the web faces has no sync API."""
    url = str(tmp_path / "server.db")
    engine = make_server_engine(url)
    upgrade_server(engine)
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    key = publish_form(engine)
    port = _free_port()
    crm = Path(sys.executable).with_name("crm")
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(
            [str(crm), "server", "run", "--intake-only", "--db", url, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert httpx.post(f"{base}/v1/push", json={}).status_code == 404
            assert httpx.get(f"{base}/v1/pull").status_code == 404
            r = httpx.post(
                f"{base}/v1/intake/contact-us",
                json={"name": "Lena Vogel"},
                headers={"X-Intake-Key": key},
            )
            assert r.status_code == 202, r.text
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert [lead["name"] for lead in leads(engine).values()] == ["Lena Vogel"]
    engine.dispose()
