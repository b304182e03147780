"""Explainable lead and deal scores: naive Bayes by hand, the explanation adds up, no history,
sorting by score, and the shell's JSON."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.domain.lead_scoring import (
    Features,
    History,
    Rule,
    ScoringDef,
    ScoringFileError,
    learn,
    parse_scoring,
    score,
)
from crmtui.reports.lead_scores import lead_scores, score_for, score_sort_key, scoring_in_force
from crmtui.services.sales.deals import win_deal
from crmtui.services.sales.leads import (
    LeadConversion,
    LeadCreate,
    convert_lead,
    create_lead,
    disqualify_lead,
)
from crmtui.services.sales.score_rules import publish_rules
from crmtui.store.database import Store, open_store
from tests.cli_commands import run

# Five closed leads: won (web, it), (web, retail); lost (fair, it), (web, it), (fair, retail).
HISTORY = [
    (Features("lead", source="web", industry="it"), True),
    (Features("lead", source="web", industry="retail"), True),
    (Features("lead", source="fair", industry="it"), False),
    (Features("lead", source="web", industry="it"), False),
    (Features("lead", source="fair", industry="retail"), False),
]
HISTORY_ON = ScoringDef(rules=(), history_points=10, min_closed=5)


def test_naive_bayes_by_hand() -> None:
    # prior: (2+1)/(3+1) = 3/4
    # source=web: P(web|won) = (2+1)/(2+2) = 3/4, P(web|lost) = (1+1)/(3+2) = 2/5 -> 15/8
    # industry=it: P(it|won) = (1+1)/(2+2) = 1/2, P(it|lost) = (2+1)/(3+2) = 3/5 -> 5/6
    # activities "0": every record has it -> (2+1)/(2+1) over (3+1)/(3+1) = 1 -> 0 bits
    found = score(Features("lead", source="web", industry="it"), HISTORY_ON, learn(HISTORY))
    lines = {c.variable: c for c in found.contributions}
    assert lines["baseline"].bits == pytest.approx(math.log2(3 / 4))
    assert lines["source"].bits == pytest.approx(math.log2(15 / 8))
    assert lines["industry"].bits == pytest.approx(math.log2(5 / 6))
    assert lines["activities"].bits == pytest.approx(0)
    # 10 points per doubling: -4.150 -> -4.2, 9.069 -> 9.1, -2.630 -> -2.6, 0.0
    assert [lines[v].tenths for v in ("baseline", "source", "industry", "activities")] == [
        -42,
        91,
        -26,
        0,
    ]
    assert found.points == pytest.approx(2.3)
    # the odds multiply to 3/4 * 15/8 * 5/6 = 75/64
    assert found.p_win == pytest.approx(75 / 139)
    assert found.history_used


def test_a_value_the_history_never_saw_and_an_unknown_one_add_nothing() -> None:
    learned = learn(HISTORY)
    found = score(Features("lead", source="webinar", country="FR"), HISTORY_ON, learned)
    lines = {c.variable: c for c in found.contributions}
    # webinar is a third value: P = (0+1)/(2+3) over (0+1)/(3+3) = 6/5
    assert lines["source"].bits == pytest.approx(math.log2(6 / 5))
    # no closed record had a country: one value seen, 1/1 over 1/1
    assert lines["country"].bits == pytest.approx(0)
    assert "industry" not in lines and "size" not in lines


def test_rules_add_their_points_and_history_too_little_means_rules_only() -> None:
    rules = parse_scoring(
        """
min_closed = 6
[[rule]]
label = "Web form"
when = "source"
is = ["WEB", "web:contact-us"]
points = 15
[[rule]]
when = "employees"
at_least = 50
points = 7.25
applies = "deal"
[[rule]]
when = "email"
present = false
points = -10
""",
        source="s.toml",
    )
    found = score(Features("lead", source="Web", employees=80), rules, learn(HISTORY))
    assert [(c.label, c.tenths) for c in found.contributions] == [
        ("Web form", 150),
        ("email unknown", -100),
    ]
    assert found.points == 5.0
    assert not found.history_used and found.p_win is None
    assert found.history_note.startswith("rules only: no usable history: 2 won and 3 lost")
    deal = score(Features("deal", employees=80, email="a@b.example"), rules, History())
    assert [c.tenths for c in deal.contributions] == [73]  # 7.25 rounds half away from zero


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("history_points = -1", "history_points must be a number from 0 to 100"),
        ("colour = 1", "unknown field 'colour'"),
        ('[[rule]]\nwhen = "mood"\nis = "x"\npoints = 1', "rule 1: when must be one of"),
        ('[[rule]]\nwhen = "source"\npoints = 1', "rule 1: needs exactly one test"),
        ('[[rule]]\nwhen = "source"\nat_least = 3\npoints = 1', "at_least/at_most test a number"),
        ('[[rule]]\nwhen = "source"\nis = "x"', "rule 1: points must be a number"),
        ("[[rule", "not valid TOML"),
    ],
)
def test_a_bad_scoring_file_is_named(text: str, message: str) -> None:
    with pytest.raises(ScoringFileError, match=r"^s\.toml: ") as caught:
        parse_scoring(text, source="s.toml")
    assert message in str(caught.value)


_TEXT = st.sampled_from(["web", "fair", "it", "retail", "DE", "FR", None])
_FEATURES = st.builds(
    Features,
    st.sampled_from(["lead", "deal"]),
    source=_TEXT,
    industry=_TEXT,
    employees=st.one_of(st.none(), st.integers(1, 5000)),
    country=_TEXT,
    activities=st.integers(0, 12),
    email=_TEXT,
    amount=st.one_of(st.none(), st.integers(0, 10**6)),
)
_RULE = st.builds(
    Rule,
    label=st.just("r"),
    when=st.sampled_from(["source", "industry", "country", "email"]),
    points=st.floats(-1000, 1000, allow_nan=False),
    one_of=st.lists(st.sampled_from(["web", "it", "de", "fr"]), min_size=1, max_size=2).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(
    features=_FEATURES,
    history=st.lists(st.tuples(_FEATURES, st.booleans()), max_size=25),
    rules=st.lists(_RULE, max_size=5),
    weight=st.floats(0, 100, allow_nan=False),
)
def test_the_explanation_adds_up_to_the_score(
    features: Features,
    history: list[tuple[Features, bool]],
    rules: list[Rule],
    weight: float,
) -> None:
    found = score(features, ScoringDef(tuple(rules), weight, 1), learn(history))
    assert sum(c.tenths for c in found.contributions) == found.tenths
    # The lines as printed (one decimal) add up to the score as printed.
    shown = sum(round(c.points, 1) for c in found.contributions)
    assert round(shown, 1) == round(found.points, 1)
    if found.history_used:
        bits = sum(c.bits for c in found.contributions if c.bits is not None)
        assert found.p_win == pytest.approx(1 / (1 + 2**-bits))


def test_learn_counts_only_known_values() -> None:
    learned = learn([(Features("lead", source="web", employees=12), True)])
    assert learned.won == 1 and learned.lost == 0
    assert learned.won_values["size"] == Counter({"10-49": 1})
    assert learned.won_values["industry"] == Counter()


# --- through the database -------------------------------------------------------------


def _history(store: Store) -> str:
    """The five closed leads of HISTORY, and an open lead (web, it); returns its id."""
    with store.write() as tx:
        for number, (features, won) in enumerate(HISTORY):
            lead = create_lead(
                tx=tx,
                data=LeadCreate(
                    name=f"Closed {number}", source=features.source, industry=features.industry
                ),
                region="DE",
            )
            if won:
                result = convert_lead(tx=tx, lead_id=lead.id, data=LeadConversion(), region="DE")
                win_deal(tx=tx, deal_id=result.deal.id)
            else:
                disqualify_lead(tx=tx, lead_id=lead.id, reason="no budget")
        open_lead = create_lead(
            tx=tx, data=LeadCreate(name="Open Lead", source="web", industry="it"), region="DE"
        )
        return open_lead.id


def test_the_territorys_history_comes_from_the_database(store: Store) -> None:
    lead_id = _history(store)
    with store.write() as tx:
        publish_rules(tx=tx, text="min_closed = 5\n", source="s.toml")
    with closing(sqlite3.connect(store.path)) as db:
        found = score_for(db, "lead", lead_id)
    assert found is not None and found.history_used
    assert found.tenths == 23
    assert found.p_win == pytest.approx(75 / 139)


def test_no_history_scores_by_the_rules_alone_and_says_so(store: Store) -> None:
    with store.write() as tx:
        lead = create_lead(tx=tx, data=LeadCreate(name="A", source="web"), region="DE")
        publish_rules(
            tx=tx, text='[[rule]]\nwhen = "source"\nis = "web"\npoints = 12\n', source="s"
        )
    with closing(sqlite3.connect(store.path)) as db:
        found = score_for(db, "lead", lead.id)
    assert found is not None
    assert found.points == 12 and not found.history_used
    assert "rules only: no usable history: 0 won and 0 lost" in found.history_note


def test_sort_by_score_puts_the_highest_first_and_the_unscored_last(store: Store) -> None:
    with store.write() as tx:
        publish_rules(
            tx=tx,
            text='[[rule]]\nwhen = "source"\nis = "fair"\npoints = 5\n'
            '[[rule]]\nwhen = "source"\nis = "web"\npoints = 9\n',
            source="s",
        )
        ids = [
            create_lead(tx=tx, data=LeadCreate(name=n, source=s), region="DE").id
            for n, s in (("none", None), ("web", "web"), ("fair", "fair"))
        ]
    with closing(sqlite3.connect(store.path)) as db:
        found = lead_scores(db)
    order = sorted([*ids, "not-a-lead"], key=score_sort_key(found))
    assert order == [ids[1], ids[2], ids[0], "not-a-lead"]


def test_crm_lead_score_explain_json_adds_up(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    lead_id = _history(store)
    store.close()
    rules = tmp_path / "scoring.toml"
    rules.write_text(
        'min_closed = 5\n[[rule]]\nlabel = "Web"\nwhen = "source"\nis = "web"\npoints = 4\n',
        encoding="utf-8",
    )
    added = run(["score", "rules", "add", str(rules), "--db", str(db)])
    assert added.code == 0 and "version 1 added (1 rule(s))" in added.err
    again = run(["score", "rules", "add", str(rules), "--db", str(db)])
    assert "version 1 is unchanged" in again.err
    shown = run(["lead", "score", lead_id, "--explain", "--format", "json", "--db", str(db)])
    assert shown.code == 0, shown.err
    payload = json.loads(shown.out)
    assert payload["id"] == lead_id and payload["history_used"] is True
    parts = [(c["part"], c["variable"], c["points"]) for c in payload["contributions"]]
    assert parts[0] == ("rule", "source", 4.0)
    assert ("history", "source", 9.1) in parts
    assert payload["score"] == 6.3  # 4 + 2.3
    assert round(sum(c["points"] for c in payload["contributions"]), 1) == payload["score"]

    listed = run(["leads", "--sort", "score", "--format", "json", "--db", str(db)])
    rows = json.loads(listed.out)
    assert rows[0]["id"] == lead_id and rows[0]["score"] == 6.3
    scores = [r["score"] for r in rows]
    scored = [s for s in scores if s is not None]
    # Open leads by score, highest first; the closed ones (no score) after them.
    assert scored == sorted(scored, reverse=True) and scores[: len(scored)] == scored
    assert len(scores) == 1 + len([r for r in rows if r["status"] == "disqualified"])
    as_list = run(["lead", "list", "--sort", "score", "--format", "csv", "--db", str(db)])
    assert as_list.code == 0 and as_list.out.splitlines()[1].startswith("Open Lead,")


def test_bad_input_is_one_line_and_a_documented_exit(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_store(db).close()
    missing = run(["lead", "score", "nosuchlead", "--db", str(db)])
    assert missing.code == 1 and missing.error is None
    assert "no lead with id 'nosuchlead'" in missing.err
    bad_sort = run(["leads", "--sort", "colour", "--db", str(db)])
    assert bad_sort.code == 2 and "--sort must be newest or score" in bad_sort.err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nwhen = "mood"\nis = "x"\npoints = 1\n', encoding="utf-8")
    refused = run(["score", "rules", "add", str(bad), "--db", str(db)])
    assert refused.code == 2 and "(nothing was saved)" in refused.err
    assert run(["deal", "score", "nosuchdeal", "--db", str(db)]).code == 1


def test_an_admins_scoring_file_reaches_every_laptop_and_a_reps_is_refused(
    tmp_path: Path,
) -> None:
    from tests.sync_support import Team

    team = Team(str(tmp_path / "server.db"), tmp_path)
    try:
        admin, admin_token = team.laptop("root", "admin")
        ann, ann_token = team.laptop("ann", "ann")
        with admin.write() as tx:
            publish_rules(
                tx=tx, text='[[rule]]\nwhen = "source"\nis = "web"\npoints = 8\n', source="a"
            )
        team.sync_client(admin, admin_token).sync()
        with ann.write() as tx:
            publish_rules(tx=tx, text="history_points = 0\n", source="mine")
        report = team.sync_client(ann, ann_token).sync()
        assert report.rejected >= 1
        assert any("reference data, changed by an admin only" in r for r in report.reasons)
        with closing(sqlite3.connect(ann.path)) as db:
            # The admin's version 1 arrived; the rep's own stays local (refused at the server).
            versions = db.execute(
                "SELECT version, source FROM score_rules WHERE deleted_at IS NULL ORDER BY id"
            ).fetchall()
            in_force = scoring_in_force(db)
        assert (1, '[[rule]]\nwhen = "source"\nis = "web"\npoints = 8\n') in versions
        # The refused local file is not in force: the team's is.
        assert [r.points for r in in_force.scoring.rules] == [8]
    finally:
        team.close()


def test_a_deal_is_scored_by_its_accounts_history_and_the_deal_rules(tmp_path: Path) -> None:
    from crmtui.services.address_book.accounts import AccountCreate, create_account
    from crmtui.services.sales.deals import DealCreate, create_deal, lose_deal

    db = tmp_path / "d.db"
    store = open_store(db)
    try:
        with store.write() as tx:
            big = create_account(
                tx=tx, data=AccountCreate(name="Big", industry="IT", employees=300), region="DE"
            )
            small = create_account(
                tx=tx, data=AccountCreate(name="Small", industry="retail", employees=5), region="DE"
            )
            for name, account, won in (("a", big, True), ("b", big, True), ("c", small, False)):
                deal = create_deal(tx=tx, data=DealCreate(name=name, account_id=account.id))
                if won:
                    win_deal(tx=tx, deal_id=deal.id)
                else:
                    lose_deal(tx=tx, deal_id=deal.id, reason="price")
            open_deal = create_deal(
                tx=tx,
                data=DealCreate(name="open", account_id=big.id, amount_minor=5_000_000),
            ).id
            publish_rules(
                tx=tx,
                text='min_closed = 3\n[[rule]]\nwhen = "amount"\nat_least = 10000\n'
                'points = 6\napplies = "deal"\n',
                source="s",
            )
    finally:
        store.close()
    with closing(sqlite3.connect(db)) as con:
        found = score_for(con, "deal", open_deal)
    assert found is not None
    lines = {c.variable: c for c in found.contributions}
    # prior (2+1)/(1+1) = 3/2; industry it: (2+1)/(2+2) over (0+1)/(1+2) = 9/4; size alike
    assert lines["baseline"].bits == pytest.approx(math.log2(3 / 2))
    assert lines["industry"].bits == pytest.approx(math.log2(9 / 4))
    assert lines["size"].value == "250-999"
    assert lines["size"].bits == pytest.approx(math.log2(9 / 4))
    assert "source" not in lines and "country" not in lines
    # 6 (50,000 EUR >= 10,000) + 5.8 + 11.7 + 11.7 + 0.0
    assert lines["amount"].tenths == 60 and found.points == pytest.approx(35.2)
    assert found.p_win == pytest.approx(243 / 275)
    listed = run(["deals", "--sort", "score", "--format", "json", "--db", str(db)])
    assert [(d["id"], d["score"]) for d in json.loads(listed.out)] == [(open_deal, 35.2)]


def test_the_learned_history_is_kept_until_anything_is_written(store: Store) -> None:
    """Kept per connection: read again only after a commit elsewhere or a write on it."""
    from crmtui.reports.lead_scores import histories

    lead_id = _history(store)
    with store.write() as tx:
        publish_rules(tx=tx, text="min_closed = 5\n", source="s.toml")
    with closing(sqlite3.connect(store.path)) as db:
        first = histories(db, "lead")
        assert histories(db, "lead") is first
        before = score_for(db, "lead", lead_id)
        # Another laptop's sync or the app: a commit on another connection.
        with store.write() as tx:
            disqualify_lead(
                tx=tx,
                lead_id=create_lead(
                    tx=tx, data=LeadCreate(name="Gone", source="web"), region="DE"
                ).id,
                reason="no budget",
            )
        second = histories(db, "lead")
        assert second is not first
        assert second[None].lost == first[None].lost + 1
        assert histories(db, "lead") is second
        # A write on this very connection counts too.
        db.execute("UPDATE lead SET industry = 'it' WHERE name = 'Gone'")
        assert histories(db, "lead") is not second
        after = score_for(db, "lead", lead_id)
    assert before is not None and after is not None and after.tenths != before.tenths
