"""Duplicate detection: scores and evidence, blocking instead of all pairs, the add warning."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.quality import dedupe
from crmtui.quality.dedupe import Person, compare, name_similarity, scan
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store

runner = CliRunner()


def test_mr_j_smith_is_john_smith() -> None:
    score, note = name_similarity("John Smith", "Mr J. Smith")
    assert score == 90 and note == "initials match"
    assert name_similarity("John Smith", "Jane Smith")[1] is None
    assert name_similarity("Dr. Anna Müller", "anna muller")[0] == 100


@pytest.mark.parametrize(
    ("a", "b", "low", "high", "evidence"),
    [
        (Person("1", "Anna Müller", "anna@x.de"), Person("2", "Anna Mueller", "ANNA@x.de"), 95, 100, "same email"),
        (Person("1", "Rob Stone", phones=("+4930111",)), Person("2", "Robert Stone", phones=("+4930111",)), 70, 95, "same phone"),
        # A shared switchboard with a name that does not agree is no evidence (issue 15).
        (Person("1", "Bob Stone", phones=("+4930111",)), Person("2", "Robert Stone", phones=("+4930111",)), 0, 69, "shares phone +4930111 only"),
        (Person("1", "Mr J. Smith", phones=("+4930111",)), Person("2", "John Smith", phones=("+4930111",)), 70, 100, "same phone"),
        (Person("1", "Seán O’Brien", phones=("+4930111",)), Person("2", "Sean O'Brien", phones=("+4930111",)), 90, 100, "same phone"),
        # Different emails: imports keep them apart; the review list shows them, saying so.
        (Person("1", "John Smith", "js@acme.com"), Person("2", "Mr J. Smith", "john@acme.com"), 70, 80, "different emails"),
        (Person("1", "Ann Lee", external_id="1"), Person("2", "Ann Lee", external_id="2", account_id="a"), 0, 50, "different external ids"),
        (Person("1", "Ann Lee", phones=("+12125550100;ext=12",)), Person("2", "Ann Lee", phones=("+12125550100;ext=13",)), 0, 69, "name 100%"),
        (Person("1", "John Smith", "js@gmail.com"), Person("2", "J. Smith", "jsmith@gmail.com"), 50, 60, "initials match"),
        (Person("1", "Anna Müller"), Person("2", "Otto Berg"), 0, 40, "name"),
    ],
)  # fmt: skip
def test_scores_and_evidence(a: Person, b: Person, low: float, high: float, evidence: str) -> None:
    found = compare(a, b)
    assert low <= found.score <= high, found
    assert any(evidence in e for e in found.evidence), found.evidence


def test_scan_finds_pairs_through_blocks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    people = [
        Person("1", "Anna Müller", "anna@x.de", account_id="acme"),
        Person("2", "Frau Anna Mueller", account_id="acme"),
        Person("3", "Rob Stone", phones=("+4930111",)),
        Person("4", "Robert Stone", phones=("+4930111",)),
        Person("5", "Otto Berg"),
        *(Person(f"x{i}", f"Person{i} Unique{i}") for i in range(300)),
    ]
    calls = []
    real = dedupe.compare

    def counting(a: Person, b: Person) -> dedupe.Candidate:
        calls.append((a.id, b.id))
        return real(a, b)

    monkeypatch.setattr(dedupe, "compare", counting)
    found = scan(people, threshold=70)
    assert {(c.a.id, c.b.id) for c in found} == {("1", "2"), ("3", "4")}
    assert len(calls) == 2  # 305 people: 46,360 pairs, but only two share a key


def test_cli_scan_json(store: Store, db_path: Path) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx, data=ContactCreate(name="John Smith", email="john@acme.com"), region="DE"
        )
        create_contact(
            tx=tx, data=ContactCreate(name="Mr J. Smith", email="JOHN@acme.com"), region="DE"
        )
        create_contact(tx=tx, data=ContactCreate(name="Someone Else"), region="DE")
    result = runner.invoke(app, ["--db", str(db_path), "dedupe", "scan", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (pair,) = json.loads(result.stdout)
    assert {pair["a_name"], pair["b_name"]} == {"John Smith", "Mr J. Smith"}
    assert "same email" in pair["evidence"] and pair["score"] >= 90


def test_add_shows_a_probable_duplicate_and_refuses_in_a_script(
    store: Store, db_path: Path
) -> None:
    with store.write() as tx:
        create_contact(
            tx=tx, data=ContactCreate(name="Anna Müller", phone="+49 30 1234567"), region="DE"
        )
    args = ["--db", str(db_path), "contact", "add", "Anna Mueller", "--phone", "030 1234567"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "possible duplicate" in result.stderr and "same phone +49301234567" in result.stderr
    count = sqlite3.connect(db_path).execute("SELECT count(*) FROM contact").fetchone()[0]
    assert count == 1
    result = runner.invoke(app, [*args, "--allow-duplicate"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["--db", str(db_path), "contact", "add", "Otto Berg"])
    assert result.exit_code == 0 and "duplicate" not in result.stderr


def test_namesakes_on_a_switchboard_with_different_emails_are_not_said_to_differ_by_name() -> None:
    a = Person("1", "Dana Winter", "dana@co.example", phones=("+4930111",))
    b = Person("2", "Dana Winter", "d.winter@co.example", phones=("+4930111",))
    evidence = compare(a, b).evidence
    assert "same phone +4930111" in evidence and "different emails" in evidence
    assert not any("names differ" in e for e in evidence), evidence
