"""`crm dav` against a real Radicale server: setup errors, a sync both ways, deletes listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from crmtui.store.database import open_store
from crmtui.store.models import Contact
from tests.cli_commands import run
from tests.dav_support import Phone, Radicale, radicale
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with radicale(tmp_path_factory.mktemp("radicale")) as srv:
        yield srv


def _db(tmp_path: Path) -> str:
    db = str(tmp_path / "crm.db")
    open_store(db).close()
    assert run(["contact", "add", "Ann Lee", "--phone", "+49 30 1234567", "--db", db]).code == 0
    return db


def test_setup_errors_are_one_line_with_their_codes(
    tmp_path: Path, server: Radicale, monkeypatch
) -> None:
    db = _db(tmp_path)
    monkeypatch.setenv("DAV_PW", "wrong")
    bad_url = run(["dav", "setup", "ftp://x", "--db", db])
    assert bad_url.code == 2 and "not a server URL" in bad_url.err
    gone = run(["dav", "setup", "http://127.0.0.1:9/", "--db", db])
    assert gone.code == 75 and "cannot reach" in gone.err
    refused = run(
        ["dav", "setup", server.url, "-u", server.user, "--password-env", "DAV_PW", "--db", db]
    )
    assert refused.code == 77 and "refused the user name or password" in refused.err
    unset = run(
        ["dav", "setup", server.url, "-u", server.user, "--password-env", "NOPE_X", "--db", db]
    )
    assert unset.code == 77 and "NOPE_X is not set" in unset.err
    no_pw = run(["dav", "setup", server.url, "-u", server.user, "--db", db])
    assert no_pw.code == 2 and "--password-env" in no_pw.err
    not_yet = run(["dav", "sync", "--db", db])
    assert not_yet.code == 2 and "crm dav setup" in not_yet.err
    for r in (bad_url, gone, refused, unset, no_pw, not_yet):
        assert r.error is None and len(r.err.strip().splitlines()) == 1


def test_setup_sync_status_delete_restore(tmp_path: Path, server: Radicale, monkeypatch) -> None:
    db = _db(tmp_path)
    monkeypatch.setenv("DAV_PW", server.password)
    book = f"{server.url}{server.user}/cli-{tmp_path.name}/"
    set_up = run(
        [
            "dav",
            "setup",
            server.url,
            "-u",
            server.user,
            "--password-env",
            "DAV_PW",
            "--addressbook",
            book,
            "--no-calendar",
            "--db",
            db,
        ]
    )
    assert set_up.code == 0, set_up.err
    assert f"address book: {book}" in set_up.out and "calendar: not synced" in set_up.out
    first = run(["dav", "sync", "--db", db])
    assert first.code == 0, first.err
    assert "1 new to it" in first.out
    status = run(["dav", "status", "--db", db])
    assert "card\tsynced\t1" in status.out and "password: env DAV_PW" in status.out
    assert server.password not in status.out

    store = open_store(Path(db))
    with store.read() as s:
        ann = s.exec(select(Contact)).one()
    store.close()
    phone = Phone(server)
    try:
        phone.delete(f"{book}{ann.id}.vcf")
    finally:
        phone.close()
    after = run(["dav", "sync", "--db", db])
    assert "deleted on the phone, archived here (crm dav restore): Ann Lee" in after.out
    listed = run(["dav", "deleted", "--db", db])
    assert listed.code == 0 and listed.out.startswith(f"card\t{ann.id}\t")
    assert run(["dav", "restore", "nomatch", "--db", db]).code == 1
    back = run(["dav", "restore", ann.id[:12], "--db", db])
    assert back.code == 0 and "1 record(s)" in back.out
    again = run(["dav", "sync", "--db", db])
    assert "1 new to it" in again.out
    assert run(["dav", "deleted", "--db", db]).code == 1


def test_a_phone_edit_travels_with_crm_sync_to_another_laptop(
    live_server,  # noqa: F811
    tmp_path: Path,
    server: Radicale,
    monkeypatch,
) -> None:
    """`crm dav setup --at-sync`: `crm sync` journals the phone's edit and pushes it."""
    from crmtui.server import admin

    url, engine = live_server
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    for db, device in ((one, "ann-laptop"), (two, "ann-desk")):
        open_store(db).close()
        token = admin.issue_token(engine, "ann", device).token
        assert run(["--db", str(db), "sync", "login", "--server", url, "--token", token]).code == 0
    assert run(["--db", str(one), "contact", "add", "Bo Berg", "--title", "CTO"]).code == 0
    monkeypatch.setenv("DAV_PW", server.password)
    book = f"{server.url}{server.user}/team-{tmp_path.name}/"
    setup = run(
        [
            "--db",
            str(one),
            "dav",
            "setup",
            server.url,
            "-u",
            server.user,
            "--password-env",
            "DAV_PW",
            "--addressbook",
            book,
            "--no-calendar",
            "--at-sync",
        ]
    )
    assert setup.code == 0, setup.err
    first = run(["--db", str(one), "sync"])
    assert first.code == 0, first.err
    assert "1 new to it" in first.out
    store = open_store(one)
    with store.read() as s:
        bo = s.exec(select(Contact).where(Contact.name == "Bo Berg")).one().id
    store.close()
    phone = Phone(server)
    try:
        card = phone.get(f"{book}{bo}.vcf")
        phone.put(f"{book}{bo}.vcf", card.replace("TITLE:CTO", "TITLE:CEO"))
    finally:
        phone.close()
    second = run(["--db", str(one), "sync"])
    assert second.code == 0, second.err
    assert "contacts: 1 changed on the phone" in second.out
    assert run(["--db", str(two), "sync"]).code == 0
    store = open_store(two)
    try:
        with store.read() as s:
            row = s.exec(select(Contact).where(Contact.name == "Bo Berg")).one()
            assert row.title == "CEO"
    finally:
        store.close()


def test_another_address_book_starts_afresh(tmp_path: Path, server: Radicale, monkeypatch) -> None:
    db = _db(tmp_path)
    monkeypatch.setenv("DAV_PW", server.password)
    base = ["dav", "setup", server.url, "-u", server.user, "--password-env", "DAV_PW"]
    for name in ("first", "second"):
        book = f"{server.url}{server.user}/{name}-{tmp_path.name}/"
        assert run([*base, "--addressbook", book, "--no-calendar", "--db", db]).code == 0
        ran = run(["dav", "sync", "--db", db])
        assert "1 new to it" in ran.out and "archived" not in ran.out, ran.out
