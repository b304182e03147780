"""The read side of search: typo tolerance, ranking, phones, cards, exclusions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from crmtui.search import lookup
from crmtui.services.address_book.contacts import (
    ContactCreate,
    archive_contact,
    create_contact,
    delete_contact,
)
from crmtui.store.database import Store, open_store
from crmtui.store.models import Activity, Deal, Pipeline, Stage, Tickler

PEOPLE: dict[str, dict[str, object]] = {
    "john": {
        "name": "John Smith",
        "company": "Acme GmbH",
        "email": "john.smith@acme.de",
        "phone": "+49 151 12345678",
        "city": "Berlin",
        "tags": ["vip"],
    },
    "jon": {
        "name": "Jon Smith",
        "company": "Globex",
        "city": "Hamburg",
        "phone": "+1 (555) 010-1234",
    },
    "anna": {
        "name": "Anna Müller",
        "company": "Siemens",
        "city": "München",
        "phone": "0171 9876 5432",
    },
    "dmitry": {"name": "Дмитрий Иванов", "city": "Москва", "phone": "+7 495 123-45-67"},
    "yamada": {"name": "山田太郎", "company": "トヨタ", "city": "東京"},
    "zoe": {"name": "Zoë Ørsted", "city": "København", "email": "zoe@orsted.dk"},
    "berliner": {"name": "Karl Becker", "city": "Berlin"},
    "smithson": {"name": "Paula Smithson", "city": "Leeds"},
    "archived": {"name": "Olga Archivowa", "city": "Berlin", "phone": "+49 30 5550001"},
    "deleted": {"name": "Gustav Gelöscht", "city": "Berlin", "phone": "+49 30 5550002"},
}


def _seed(store: Store) -> dict[str, str]:
    ids: dict[str, str] = {}
    with store.write() as tx:
        for key, data in PEOPLE.items():
            contact = create_contact(tx=tx, data=ContactCreate(**data), region="DE")  # type: ignore[arg-type]
            ids[key] = contact.id
    with store.write() as tx:
        archive_contact(tx=tx, contact_id=ids["archived"])
        delete_contact(tx=tx, contact_id=ids["deleted"])
    return ids


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, dict[str, str], Store]]:
    """A read-only lookup connection over a small, varied address book."""
    path = tmp_path / "crm.db"
    store = open_store(path)
    ids = _seed(store)
    db = lookup.connect(path)
    yield db, ids, store
    db.close()
    store.close()


def _names(hits: list[lookup.ContactHit]) -> list[str]:
    return [h.name for h in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smith", "John Smith"),
        ("smyth", "John Smith"),  # a typo
        ("smiht", "John Smith"),  # a transposition
        ("jon smth", "Jon Smith"),
        ("muller", "Anna Müller"),  # accents folded
        ("MÜLLER", "Anna Müller"),
        ("mueler", "Anna Müller"),
        ("zoe orsted", "Zoë Ørsted"),
        ("дмитрий", "Дмитрий Иванов"),  # Cyrillic
        ("иванв", "Дмитрий Иванов"),  # Cyrillic with a typo
        ("山田", "山田太郎"),  # CJK prefix
        ("acme", "John Smith"),  # company
        ("siemens", "Anna Müller"),
        ("globx", "Jon Smith"),  # company with a typo
        ("vip", "John Smith"),  # tag
        ("5678", "John Smith"),  # the end of a phone
        ("+49 151 1234", "John Smith"),  # the start of the number
    ],
)
def test_search_finds(seeded, query: str, expected: str) -> None:
    db, _, _ = seeded
    assert expected in _names(lookup.search_contacts(db, query))


def test_the_lookup_connection_keeps_a_searchs_pages_cached(seeded) -> None:
    # The default 2 MiB cache is smaller than one search's pages at 1M contacts
    # (docs/performance.md, in-app search); the connection asks for more.
    db, _, _ = seeded
    assert db.execute("PRAGMA cache_size").fetchone() == (-lookup.LOOKUP_CACHE_KIB,)
    assert lookup.LOOKUP_CACHE_KIB * 1024 > 2_000 * 4096  # ~2,000 pages of 4 KiB


def test_jon_ranks_exact_first_and_a_short_word_carries_no_typo(seeded) -> None:
    db, _, _ = seeded
    names = _names(lookup.search_contacts(db, "jon"))
    assert names[0] == "Jon Smith"
    # Three letters carry no typo (the budget grows with the word): "john" finds John.
    assert "John Smith" not in names
    assert _names(lookup.search_contacts(db, "john"))[0] == "John Smith"


def test_name_hits_outrank_city_and_company_hits(seeded) -> None:
    db, _, _ = seeded
    names = _names(lookup.search_contacts(db, "smith"))
    assert set(names[:2]) == {"John Smith", "Jon Smith"}
    assert "Paula Smithson" in names[2:]
    hits = lookup.search_contacts(db, "john berlin")
    assert _names(hits) == ["John Smith"]
    # A city match alone scores below a name match.
    berlin = {h.name: h.score for h in lookup.search_contacts(db, "berlin")}
    assert set(berlin) == {"John Smith", "Karl Becker"}
    assert lookup.search_contacts(db, "karl")[0].score > berlin["Karl Becker"]


def test_scores_descend_and_limit_holds(seeded) -> None:
    db, _, _ = seeded
    hits = lookup.search_contacts(db, "berlin", limit=1)
    assert len(hits) == 1
    hits = lookup.search_contacts(db, "smith")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_and_falls_back_to_or(seeded) -> None:
    db, _, _ = seeded
    # No one is both a Smith and in Leipzig: the OR fallback still finds the Smiths.
    assert "John Smith" in _names(lookup.search_contacts(db, "smith qqqzzz"))


def test_the_typo_budget_grows_with_the_word(tmp_path: Path) -> None:
    """0 typos up to 3 letters, 1 up to 8, 2 from 9: words that are nobody's name find nobody."""
    path = tmp_path / "crm.db"
    store = open_store(path)
    with store.write() as tx:
        for name in ("Íñigo Pérez", "John Smith", "Christopher Harris"):
            create_contact(tx=tx, data=ContactCreate(name=name), region="DE")
    store.close()
    db = lookup.connect(path)
    try:
        assert [lookup.typo_budget(w) for w in ("jon", "smth", "mueller", "kristopher")] == [
            0,
            1,
            1,
            2,
        ]
        # "here" is one edit from "pere", the start of Pérez: before, 20 Pérez answered.
        assert lookup.search_contacts(db, "nobody-here") == []
        assert lookup.search_contacts(db, "here") == []
        # Four letters: one typo in a whole word, none at the start of a longer one.
        assert _names(lookup.search_contacts(db, "smth")) == ["John Smith"]
        assert lookup.search_contacts(db, "smyt") == []
        assert _names(lookup.search_contacts(db, "smyth")) == ["John Smith"]
        assert _names(lookup.search_contacts(db, "kristopher")) == ["Christopher Harris"]
        assert _names(lookup.search_contacts(db, "perez")) == ["Íñigo Pérez"]
    finally:
        db.close()


def test_nothing_matches(seeded) -> None:
    db, _, _ = seeded
    assert lookup.search_contacts(db, "xyzzyplugh") == []
    assert lookup.search_contacts(db, "   ") == []
    assert lookup.search_contacts(db, "!!") == []


def test_archived_hidden_unless_asked_and_deleted_never(seeded) -> None:
    db, ids, _ = seeded
    assert "Olga Archivowa" not in _names(lookup.search_contacts(db, "olga"))
    hits = lookup.search_contacts(db, "olga", include_archived=True)
    assert hits and hits[0].id == ids["archived"] and hits[0].archived
    for query in ("gustav", "gelöscht", "5550002"):
        assert lookup.search_contacts(db, query, include_archived=True) == []
    assert lookup.find_by_phone(db, "+49 30 5550002") == []
    assert lookup.contact_card(db, ids["deleted"]) is None
    assert lookup.resolve_contact(db, ids["deleted"]) == []
    # Archived contacts still answer the phone lookup: a caller is a caller.
    assert [h.id for h in lookup.find_by_phone(db, "030 5550001")] == [ids["archived"]]


def test_deleted_row_still_in_index_is_not_shown(seeded) -> None:
    """Even if an index entry outlived its row's delete, the row never appears."""
    db, ids, store = seeded
    with store.write() as tx:
        tx.db.execute(
            "UPDATE contact SET deleted_at = '2020-01-01T00:00:00.000000Z' WHERE id = ?",
            (ids["berliner"],),
        )
    assert "Karl Becker" not in _names(lookup.search_contacts(db, "karl becker"))


@pytest.mark.parametrize(
    "typed",
    [
        "+49 151 12345678",
        "0151 1234 5678",
        "004915112345678",
        "+49-151-1234-5678",
        "(0151) 12345678",
        "2345678",
    ],
)
def test_find_by_phone_any_format(seeded, typed: str) -> None:
    db, ids, _ = seeded
    hits = lookup.find_by_phone(db, typed)
    assert hits and hits[0].id == ids["john"]


def test_find_by_phone_us_and_ranking(seeded) -> None:
    db, ids, _ = seeded
    assert lookup.find_by_phone(db, "(555) 010-1234")[0].id == ids["jon"]
    assert lookup.find_by_phone(db, "0101234")[0].id == ids["jon"]
    exact = lookup.find_by_phone(db, "+15550101234")[0]
    suffix = lookup.find_by_phone(db, "0101234")[0]
    assert exact.score == 100.0
    assert exact.score > suffix.score
    assert lookup.find_by_phone(db, "99999999") == []
    assert lookup.find_by_phone(db, "12") == []


def test_exact_phone_outranks_suffix_match(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    with store.write() as tx:
        london = create_contact(
            tx=tx, data=ContactCreate(name="London Owner", phone="+44 20 7946 0958"), region="GB"
        )
        berlin = create_contact(
            tx=tx, data=ContactCreate(name="Berlin Owner", phone="+49 30 7946 0958"), region="DE"
        )
    db = lookup.connect(tmp_path / "crm.db")
    hits = lookup.find_by_phone(db, "+44 20 7946 0958")
    assert [h.id for h in hits] == [london.id]
    assert hits[0].score == 100.0
    both = lookup.find_by_phone(db, "7946 0958")
    assert {h.id for h in both} == {london.id, berlin.id}
    assert all(h.score < 100.0 for h in both)
    db.close()
    store.close()


def test_contact_card_sections(seeded) -> None:
    db, ids, store = seeded
    john = ids["john"]
    with store.write() as tx:
        now = tx.now
        for day in range(12):
            tx.add(
                Activity(
                    kind="call",
                    occurred_at=now - timedelta(days=day),
                    contact_id=john,
                    text=f"call {day}",
                )
            )
        tx.add(Tickler(text="later", due_at=now + timedelta(days=5), contact_id=john))
        tx.add(Tickler(text="sooner", due_at=now + timedelta(days=1), contact_id=john))
        tx.add(Tickler(text="finished", due_at=now, contact_id=john, status="done"))
        pipeline = Pipeline(name="Sales")
        stage = Stage(pipeline_id=pipeline.id, name="Proposal", position=1)
        tx.add(pipeline)
        tx.add(stage)
        tx.flush()  # the deals below reference these rows
        tx.add(
            Deal(
                name="Big one",
                contact_id=john,
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                amount_minor=500000,
            )
        )
        tx.add(
            Deal(
                name="Lost one",
                contact_id=john,
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                status="lost",
            )
        )
    card = lookup.contact_card(db, john)
    assert card is not None
    assert card.contact["name"] == "John Smith"
    assert card.contact["do_not_call"] is False
    assert card.contact["tags"] == ["vip"]
    assert card.account is not None and card.account["name"] == "Acme GmbH"
    assert [a["text"] for a in card.activities] == [f"call {d}" for d in range(10)]
    assert [t["text"] for t in card.ticklers] == ["sooner", "later"]
    assert [(d["name"], d["stage_name"]) for d in card.deals] == [("Big one", "Proposal")]
    as_dict = card.as_dict()
    assert as_dict["contact"]["id"] == john and len(as_dict["activities"]) == 10
    assert lookup.contact_card(db, "no-such-id") is None


def test_resolve_contact_and_clear_winner(seeded) -> None:
    db, ids, _ = seeded
    by_id = lookup.resolve_contact(db, ids["anna"])
    assert [h.id for h in by_id] == [ids["anna"]]
    assert lookup.clear_winner(ids["anna"], by_id) == by_id[0]
    smiths = lookup.resolve_contact(db, "smith")
    assert len(smiths) >= 2
    assert lookup.clear_winner("smith", smiths) is None
    exact = lookup.resolve_contact(db, "jon smith")
    winner = lookup.clear_winner("jon smith", exact)
    assert winner is not None and winner.id == ids["jon"]
    assert lookup.resolve_contact(db, "olga")[0].id == ids["archived"]


def test_hit_as_dict(seeded) -> None:
    db, ids, _ = seeded
    hit = lookup.search_contacts(db, "anna")[0]
    data = hit.as_dict()
    assert data["id"] == ids["anna"]
    assert data["company"] == "Siemens" and data["city"] == "München"
    assert set(data) >= {"id", "name", "company", "email", "phone", "city", "score", "archived"}


def test_connect_refuses_missing_and_behind(tmp_path: Path) -> None:
    with pytest.raises(lookup.LookupDatabaseError, match="no database"):
        lookup.connect(tmp_path / "absent.db")
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).close()
    plain.write_bytes(b"")
    with pytest.raises(lookup.LookupDatabaseError, match="not a crmtui database"):
        lookup.connect(plain)
    behind = tmp_path / "behind.db"
    con = sqlite3.connect(behind)
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('0000_old')")
    con.commit()
    con.close()
    with pytest.raises(lookup.LookupDatabaseError, match="0000_old"):
        lookup.connect(behind)


def test_connect_is_read_only(seeded) -> None:
    db, _, _ = seeded
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM contact")


def test_name_hits_not_crowded_out_by_other_columns(tmp_path: Path, monkeypatch) -> None:
    """With more company matches than candidates, the person named Smith still wins."""
    store = open_store(tmp_path / "crm.db")
    with store.write() as tx:
        for n in range(12):
            create_contact(
                tx=tx,
                data=ContactCreate(name=f"Worker {n}", company="Smith Logistics"),
                region="DE",
            )
        named = create_contact(tx=tx, data=ContactCreate(name="Eve Smith"), region="DE")
    monkeypatch.setattr(lookup, "CANDIDATES", 8)
    db = lookup.connect(tmp_path / "crm.db")
    hits = lookup.search_contacts(db, "smith")
    assert hits[0].id == named.id
    assert len(hits) == 8  # the rest of the candidate budget went to company matches
    db.close()
    store.close()


def test_candidates_read_the_same_text_as_the_index(seeded) -> None:
    """The rerank reads FTS5's content table directly; it must equal the FTS columns."""
    db, _, _ = seeded
    direct = db.execute(
        "SELECT id, c0, c1, c2, c3, c4, c5 FROM search_fts_content ORDER BY id"
    ).fetchall()
    through_fts = db.execute(
        "SELECT rowid, name, company, email, phones, city, tags FROM search_fts ORDER BY rowid"
    ).fetchall()
    assert direct == through_fts and len(direct) >= 8
