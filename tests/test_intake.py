"""Web lead intake on both server stores: posts become leads routed round-robin, bad posts
get clear 4xx answers, bots are dropped and counted, duplicates attach to the person the
server knows, leave and capacity are respected, territory rules route, and every
assignment is logged with its reasons."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crmtui.server.intake_app import MAX_INTAKE_BYTES, make_intake_app
from crmtui.server.intake_forms import FormFileError, forms, parse_form, set_capacity, set_leave
from crmtui.server.routing import assignments
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.territories import TerritoryRuleCreate, add_rule
from tests.intake_support import FORM, leads, publish_form, records, rep_ids
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    yield from make_team(request, tmp_path)


@pytest.fixture
def web(team: Team) -> Iterator[TestClient]:
    with TestClient(make_intake_app(team.engine)) as client:
        yield client


def _post(web: TestClient, key: str, **values: object) -> dict[str, object]:
    r = web.post("/v1/intake/contact-us", json=values, headers={"X-Intake-Key": key})
    assert r.status_code == 202, r.text
    return dict(r.json())


def test_posts_become_leads_in_turn_and_every_assignment_is_logged(
    team: Team, web: TestClient
) -> None:
    key = publish_form(team.engine)
    for i in range(4):
        _post(web, key, name=f"Person {i}", email=f"p{i}@example.org", message="Please call")
    held = leads(team.engine)
    assert len(held) == 4
    reps = rep_ids(team.engine)
    owners = Counter(str(lead["_owner"]) for lead in held.values())
    assert owners == {reps["ann"]: 2, reps["bob"]: 2}
    assert {lead["_territory"] for lead in held.values()} == {team.north}
    assert {lead["source"] for lead in held.values()} == {"web:contact-us"}
    with team.engine.connect() as conn:
        log = assignments(conn)
    # Newest first: the rotation counts 4, 3, 2, 1, alternating between the two reps.
    assert [entry["why"]["rotation"] for entry in log] == [4, 3, 2, 1]  # type: ignore[index]
    assert [entry["rep"] for entry in log][:2] in (["ann", "bob"], ["bob", "ann"])
    assert all("no territory rule matched" in str(e["why"]) for e in log)
    # Each lead carries the post as a note (every field kept).
    notes = [a for a in records(team.engine, "activity") if a.get("lead_id")]
    assert len(notes) == 4 and all("message: Please call" in str(n["text"]) for n in notes)


def test_bad_posts_get_clear_answers_and_store_nothing(team: Team, web: TestClient) -> None:
    key = publish_form(team.engine)
    url = "/v1/intake/contact-us"
    assert web.post(url, json={"name": "A"}, headers={"X-Intake-Key": "wrong"}).status_code == 401
    assert web.post(url, json={"name": "A"}).status_code == 401
    r = web.post("/v1/intake/no-such-form", json={"name": "A"}, headers={"X-Intake-Key": key})
    assert r.status_code == 401  # the same answer as a wrong key: names cannot be probed
    ok = {"X-Intake-Key": key}
    r = web.post(url, json={"email": "x@example.org"}, headers=ok)
    assert r.status_code == 422
    assert {"field": "name", "msg": "is required"} in r.json()["detail"]
    r = web.post(url, json={"name": "A", "email": "not-an-address<script>"}, headers=ok)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "email", "msg": "is not a valid email"}]
    assert "script" not in r.text
    r = web.post(url, json={"name": "A", "fax": "1"}, headers=ok)
    assert r.json()["detail"] == [{"field": "fax", "msg": "this form has no such field"}]
    r = web.post(url, json={"name": "A\x00B"}, headers=ok)
    assert r.json()["detail"] == [{"field": "name", "msg": "holds control characters"}]
    r = web.post(url, json={"name": ["A"]}, headers=ok)
    assert r.json()["detail"] == [{"field": "name", "msg": "must be text, a whole number or null"}]
    r = web.post(url, content=b"{nope", headers={**ok, "Content-Type": "application/json"})
    assert r.status_code == 400
    r = web.post(url, content=b"x" * (MAX_INTAKE_BYTES + 1), headers=ok)
    assert r.status_code == 413
    r = web.post(url, content=b"name=A", headers={**ok, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = web.post("/v1/intake/Bad_Name!", json={"name": "A"}, headers=ok)
    assert r.status_code == 422
    assert leads(team.engine) == {}


def test_an_html_form_post_with_the_key_as_a_field_is_taken(team: Team, web: TestClient) -> None:
    key = publish_form(team.engine)
    r = web.post(
        "/v1/intake/contact-us",
        data={"_key": key, "name": "Lena Vogel", "phone": "030 1234567", "company": "Vogel GmbH"},
    )
    assert r.status_code == 202, r.text
    (lead,) = leads(team.engine).values()
    assert lead["phone_e164"] == "+49301234567" and lead["company"] == "Vogel GmbH"


def test_the_rate_limit_answers_429_per_form_and_address(team: Team, web: TestClient) -> None:
    key = publish_form(team.engine, rate=2)
    for i in range(2):
        _post(web, key, name=f"Person {i}")
    r = web.post("/v1/intake/contact-us", json={"name": "Third"}, headers={"X-Intake-Key": key})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "60"
    assert "posts a minute" in r.json()["detail"]
    assert len(leads(team.engine)) == 2


def test_a_bot_filling_the_honeypot_is_answered_alike_dropped_and_counted(
    team: Team, web: TestClient
) -> None:
    key = publish_form(team.engine)
    bot = _post(web, key, name="Cheap pills", website="http://spam.example")
    human = _post(web, key, name="Lena Vogel")
    assert bot.keys() == human.keys() and bot["status"] == human["status"] == "accepted"
    assert [lead["name"] for lead in leads(team.engine).values()] == ["Lena Vogel"]
    (form,) = forms(team.engine)
    assert (form["bots"], form["leads"]) == (1, 1)


def test_a_known_person_gets_a_note_not_a_second_lead(team: Team, web: TestClient) -> None:
    """The identity rule: the same email (any case) is the person; a phone needs the name too."""
    key = publish_form(team.engine)
    _post(web, key, name="Lena Vogel", email="lena@vogel.example", phone="030 1234567")
    _post(web, key, name="L. Vogel", email="LENA@vogel.example", message="again")
    _post(web, key, name="Lena Vogel", phone="+49 30 1234567", message="third")
    # A colleague at the same switchboard is somebody else.
    _post(web, key, name="Jonas Brandt", phone="+49 30 1234567")
    held = leads(team.engine)
    assert sorted(str(lead["name"]) for lead in held.values()) == ["Jonas Brandt", "Lena Vogel"]
    lena = next(i for i, lead in held.items() if lead["name"] == "Lena Vogel")
    notes = [a for a in records(team.engine, "activity") if a.get("lead_id") == lena]
    assert len(notes) == 3 and any("message: again" in str(n["text"]) for n in notes)
    # A contact a laptop holds (found by a second email item) takes the note as a contact.
    ann, token = team.laptop("ann", "ann")
    client = team.sync_client(ann, token)
    client.sync()
    with ann.write() as tx:
        contact = create_contact(
            tx=tx,
            data=ContactCreate(name="Max Roth", email="max@roth.example"),
            region="DE",
        )
    client.sync()
    _post(web, key, name="Max Roth", email="Max@Roth.example")
    assert "Max Roth" not in {lead["name"] for lead in leads(team.engine).values()}
    on_contact = [a for a in records(team.engine, "activity") if a.get("contact_id") == contact.id]
    assert len(on_contact) == 1
    client.sync()
    with ann.read() as s:
        from crmtui.store.models import Activity

        assert s.get(Activity, str(on_contact[0]["id"])) is not None


def test_reps_on_leave_or_at_capacity_are_skipped_with_the_reason(
    team: Team, web: TestClient
) -> None:
    key = publish_form(team.engine)
    today = datetime.now(UTC).date()
    set_leave(team.engine, "bob", today - timedelta(days=1), today + timedelta(days=1))
    for i in range(3):
        _post(web, key, name=f"Person {i}")
    reps = rep_ids(team.engine)
    assert {lead["_owner"] for lead in leads(team.engine).values()} == {reps["ann"]}
    with team.engine.connect() as conn:
        newest = assignments(conn)[0]
    assert {
        "rep": "bob",
        "why": f"on leave {today - timedelta(days=1)} to {today + timedelta(days=1)}",
    } in newest["why"]["skipped"]  # type: ignore[index]
    # ann may hold 3 open leads: the next lead goes to nobody, and the log says why.
    set_capacity(team.engine, "ann", 3)
    _post(web, key, name="Person 4")
    orphans = [lead for lead in leads(team.engine).values() if lead["_owner"] is None]
    assert len(orphans) == 1 and orphans[0]["_territory"] == team.north
    with team.engine.connect() as conn:
        newest = assignments(conn)[0]
    assert newest["rep"] is None
    assert newest["why"]["rep"] == "nobody: every rep skipped"  # type: ignore[index]
    assert {"rep": "ann", "why": "at capacity (3 open of 3)"} in newest["why"]["skipped"]  # type: ignore[index]
    # Back from leave: bob is next.
    set_leave(team.engine, "bob", None, None)
    _post(web, key, name="Person 5")
    assert sum(1 for lead in leads(team.engine).values() if lead["_owner"] == reps["bob"]) == 1


def test_territory_rules_route_a_lead_before_the_forms_territory(
    team: Team, web: TestClient
) -> None:
    """The admin's rule (country AT -> South), published from a laptop, routes the post to sue."""
    root, token = team.laptop("root", "root")
    client = team.sync_client(root, token)
    client.sync()
    with root.write() as tx:
        add_rule(
            tx=tx, data=TerritoryRuleCreate(territory_id=team.south, kind="country", value="AT")
        )
    assert client.sync().rejected == 0
    key = publish_form(team.engine)
    _post(web, key, name="Anna Huber", country="at")
    _post(web, key, name="Ben Ott", country="DE")
    held = {lead["name"]: lead for lead in leads(team.engine).values()}
    reps = rep_ids(team.engine)
    assert (held["Anna Huber"]["_territory"], held["Anna Huber"]["_owner"]) == (
        team.south,
        reps["sue"],
    )
    assert held["Ben Ott"]["_territory"] == team.north
    # The lead keeps its two-letter country (any case posted) for its score (0018).
    assert (held["Anna Huber"]["country"], held["Ben Ott"]["country"]) == ("AT", "DE")
    with team.engine.connect() as conn:
        log = {e["lead_id"]: e for e in assignments(conn)}
    huber = next(i for i, lead in leads(team.engine).items() if lead["name"] == "Anna Huber")
    assert "country is AT" in json.dumps(log[huber]["why"])


def test_a_form_file_is_checked_whole_naming_the_field() -> None:
    with pytest.raises(FormFileError, match=r"f.toml: field 2 \(email\): kind must be one of"):
        parse_form(FORM.format(rate=5).replace('kind = "email"', 'kind = "mail"'), source="f.toml")
    with pytest.raises(FormFileError, match="needs a required field 'name'"):
        parse_form(FORM.format(rate=5).replace("required = true", ""), source="f.toml")
    with pytest.raises(FormFileError, match="rate must be"):
        parse_form(FORM.format(rate=0), source="f.toml")
    assert parse_form(FORM.format(rate=5), source="f.toml").plan == "Web lead"


def test_a_form_whose_territory_was_renamed_answers_503_until_the_admin_fixes_it(
    team: Team, web: TestClient
) -> None:
    from crmtui.server import admin

    key = publish_form(team.engine)
    admin.rename_territory(team.engine, "North", "Nord")
    r = web.post("/v1/intake/contact-us", json={"name": "A"}, headers={"X-Intake-Key": key})
    assert r.status_code == 503 and "tell the admin" in r.json()["detail"]
    assert leads(team.engine) == {}
