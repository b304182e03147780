"""A create is stored as one packed journal row; sync still sees the per-field contract ops."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.store.bulk import uuid7_batch
from crmtui.store.database import Store
from crmtui.store.journal import (
    FIELD_ID_STRIDE,
    created_fields,
    encode_value,
    expand,
    field_op_id,
    pack_created,
    pack_created_rows,
    pack_each,
    unpack_created,
)
from crmtui.store.models import Contact
from crmtui.store.pending import note_pending, pending_key
from crmtui.sync.apply_remote import remote_transaction
from crmtui.sync.client import NetworkError, device_id, pending_count, pending_ops
from crmtui.sync.wire import MAX_PUSH_OPS
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    yield from make_team(request, tmp_path)


def _add(store: Store, **fields: object) -> Contact:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(**fields), region="DE")  # type: ignore[arg-type]


def _unpacked(contact: Contact) -> list[tuple[str, str | None, str | None]]:
    """The ops the per-field (unpacked) journal wrote for this create."""
    return [("create", None, None)] + [
        ("set", name, encode_value(value))
        for name, value in created_fields(contact.model_dump()).items()
    ]


def _is_uuid7(text: str) -> bool:
    u = uuid.UUID(text)
    return str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122


# -- the storage format ---------------------------------------------------------------------

values_st = st.one_of(
    st.text(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True), values_st))
def test_unpack_gives_back_each_set_ops_value_text_exactly(values: dict[str, object]) -> None:
    packed = pack_created(values)
    assert json.loads(packed).keys() == values.keys()  # a plain JSON object
    assert unpack_created(packed) == [(k, encode_value(v)) for k, v in values.items()]


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
        values_st
        | st.datetimes(timezones=st.just(UTC))
        | st.dates()
        | st.lists(st.integers() | st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=3), st.dictionaries(st.text(max_size=2), st.integers())),
    )
)
def test_the_one_call_packing_writes_what_value_by_value_packing_writes(
    values: dict[str, object],
) -> None:
    assert pack_created(values) == pack_each(values)
    assert unpack_created(pack_created(values)) == [(k, encode_value(v)) for k, v in values.items()]


plain_values_st = st.none() | st.text() | st.integers() | st.floats() | st.booleans() | st.dates()


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "updated_at", "created_at", "kind", "number", "is_primary"]),
            plain_values_st | st.datetimes(timezones=st.just(UTC)),
        ),
        max_size=4,
    ),
    st.datetimes(timezones=st.just(UTC)),
    st.integers(0, 3),
)
def test_packing_many_rows_writes_what_packing_each_row_writes(
    rows: list[dict[str, object]], now: datetime, now_in: int
) -> None:
    for row in rows[:now_in]:
        row["created_at"] = now  # the transaction's own `now`, written as its text up front
    expected = [pack_created(created_fields(row)) for row in rows]
    fields = sum(len(created_fields(row)) for row in rows)
    for plain in (True, False):
        assert pack_created_rows("contact_phone", rows, now, plain=plain) == (expected, fields)


def test_packing_many_rows_keeps_lists_for_a_table_with_json_columns() -> None:
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = [
        {"id": "a", "name": "Ann", "tags": [], "created_at": now, "updated_at": now},
        {"id": "b", "name": "Bo", "tags": ["x"], "extra": None, "created_at": now},
    ]
    texts, fields = pack_created_rows("contact", rows, now, plain=False)
    assert texts == [pack_created(created_fields(row)) for row in rows]
    assert fields == 5  # Ann: name, created_at; Bo: name, tags, created_at


def test_unpack_reads_a_packed_value_with_blanks_and_rejects_non_objects() -> None:
    assert unpack_created(' { "a" : 1 , "b":"x y" } ') == [("a", "1"), ("b", '"x y"')]
    assert unpack_created("{}") == []
    for bad in ("[1]", '{"a" 1}', '{"a":1 "b":2}', "{1:2}"):
        with pytest.raises(ValueError):
            unpack_created(bad)


def test_derived_op_ids_are_valid_uuid7_distinct_and_never_meet_batch_ids() -> None:
    ids = uuid7_batch(5000) + [uuid7() for _ in range(2000)]
    derived = {field_op_id(i, n) for i in ids for n in range(1, 61)}
    assert len(derived) == len(ids) * 60  # distinct
    assert not derived & set(ids)  # consecutive allocations stay < stride apart
    assert all(_is_uuid7(d) for d in list(derived)[:2000])
    one = ids[0]
    assert [field_op_id(one, n) for n in (1, 2)] == [field_op_id(one, n) for n in (1, 2)]
    assert field_op_id(one, 3)[:13] == one[:13]  # same millisecond
    # The 74 random bits wrap around instead of spilling into the version or variant.
    top = "0190a1b2-c3d4-7fff-bfff-ffffffffffff"
    wrapped = field_op_id(top, 1)
    assert _is_uuid7(wrapped) and wrapped[:14] == top[:14]
    assert int(uuid.UUID(wrapped)) & ((1 << 62) - 1) == FIELD_ID_STRIDE - 1


def test_a_service_create_is_one_row_that_expands_to_the_unpacked_ops(store: Store) -> None:
    c = _add(store, name="Anna Müller", company="Acme", phone="0151 1234 5678", tags=["vip"])
    db = sqlite3.connect(store.path)
    rows = db.execute(
        "SELECT id, op, field, value FROM journal WHERE row_id = ?", (c.id,)
    ).fetchall()
    assert len(rows) == 1 and rows[0][1:3] == ("create", None)
    first, second = pending_ops(store), pending_ops(store)
    mine = [op for op in first if op.row_id == c.id]
    assert [(op.op, op.field, op.value) for op in mine] == _unpacked(c)
    assert [op.op_id for op in first] == [op.op_id for op in second]  # deterministic
    assert mine[0].op_id == rows[0][0]
    assert all(_is_uuid7(op.op_id) for op in first)
    assert len({op.op_id for op in first}) == len(first)
    assert {op.hlc for op in mine} == {mine[0].hlc}  # one clock reading per create
    assert pending_count(store) == len(first)


def test_pending_version_sees_a_field_of_a_pending_packed_create(store: Store) -> None:
    c = _add(store, name="Jane Smyth", city="Leeds")
    me = device_id(store)
    with remote_transaction(store, me) as applier:
        city = applier.pending_version("contact", c.id, "city")
        assert city is not None and (city.value, city.device_id) == ('"Leeds"', me)
        assert applier.pending_version("contact", c.id, "title") is None
        created = applier.pending_version("contact", c.id, None)
        assert created is not None and created.value is None
    with store.write() as tx:
        update_contact(tx=tx, contact_id=c.id, data=ContactUpdate(city="York"), region="DE")
    with remote_transaction(store, me) as applier:
        newer = applier.pending_version("contact", c.id, "city")
        assert newer is not None and newer.value == '"York"' and newer.hlc > city.hlc


def test_a_batch_never_splits_a_packed_create(store: Store) -> None:
    with store.write() as tx:
        for i in range(120):
            create_contact(
                tx=tx, data=ContactCreate(name=f"P {i}", city="Bonn", title="T"), region="DE"
            )
    for limit in (1, 5, 7, 500):
        ops = pending_ops(store, limit)
        assert len(ops) <= MAX_PUSH_OPS
        # Each create's sets all follow it: the batch ends with a complete record.
        last = max(i for i, op in enumerate(ops) if op.op == "create")
        expected = [
            (o.op, o.field, o.value) for o in pending_ops(store) if o.row_id == ops[last].row_id
        ]
        assert [(o.op, o.field, o.value) for o in ops[last:]] == expected
    # One transaction: filled up to the push limit (as before packing), whole records only.
    assert MAX_PUSH_OPS - 20 < len(pending_ops(store, 500)) <= MAX_PUSH_OPS


# -- against a server ------------------------------------------------------------------------


class LoseOnePushAnswer(httpx.BaseTransport):
    """Delivers the first push, then drops its answer (the server did the work)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward; lose the first push's response."""
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/push" and not self.lost:
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection reset", request=request)
        return response


def _server_ops(team: Team) -> list[str]:
    with team.engine.connect() as conn:
        return list(conn.execute(select(t.op_log.c.op_id)).scalars())


def test_a_lost_push_answer_resends_the_same_ids_and_each_applies_once(team: Team) -> None:
    ann, token = team.laptop("ann")
    wrapped: list[LoseOnePushAnswer] = []

    def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        wrapped.append(LoseOnePushAnswer(inner))
        return wrapped[0]

    client = team.sync_client(ann, token, batch=1000, wrap=wrap)
    client.sync()  # enrolment: the territories arrive (nothing to push yet)
    with ann.write() as tx:
        contacts = [
            create_contact(
                tx=tx,
                data=ContactCreate(name=f"Ola {i}", city="Oslo", email=f"o{i}@x.no"),
                region="DE",
            )
            for i in range(3)
        ]
        create_deal(tx=tx, data=DealCreate(name="Fjord", amount_minor=5, territory_id=team.north))
    sent = pending_ops(ann)
    with pytest.raises(NetworkError):
        client.sync()
    assert wrapped[0].lost == 1
    assert pending_count(ann) == len(sent)  # nothing marked: the answer never came
    assert sorted(_server_ops(team)) == sorted(op.op_id for op in sent)
    assert [op.op_id for op in pending_ops(ann)] == [op.op_id for op in sent]
    report = client.sync()
    assert report.pushed == len(sent) and report.rejected == 0, report.reasons
    logged = _server_ops(team)
    assert len(logged) == len(set(logged)) == len(sent)  # each applied once
    assert pending_count(ann) == 0
    with team.engine.connect() as conn:
        cities = conn.execute(
            select(t.field_state.c.value).where(
                t.field_state.c.entity == "contact", t.field_state.c.field == "city"
            )
        ).scalars()
        assert list(cities) == ['"Oslo"'] * len(contacts)


def _unpack_into_old_form(store: Store, row_id: str) -> None:
    """Rewrite a packed create as the journal wrote it before packing (a create with a
    NULL value, then one set row per field, each with its own id and clock reading)."""
    with store.write() as tx:
        db = tx.db
        op_id, tx_id, entity, value, stamp = db.execute(
            "SELECT id, tx_id, entity, value, created_at FROM journal WHERE row_id = ?"
            " AND op = 'create'",
            (row_id,),
        ).fetchone()
        db.execute("DELETE FROM journal WHERE id = ?", (op_id,))
        insert = (
            "INSERT INTO journal (id, tx_id, hlc, device_id, entity, row_id, op, field, value,"
            " created_at, pushed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
        )
        for _, kind, fld, text in expand(op_id, "create", None, value):
            db.execute(
                insert,
                (
                    uuid7(),
                    tx_id,
                    tx.next_hlc(),
                    tx.device_id,
                    entity,
                    row_id,
                    kind,
                    fld,
                    text,
                    stamp,
                ),
            )
        # Raw rows, as an older crmtui wrote them: counted as the journal's writers do.
        note_pending(
            db, [(entity, row_id, None)] * len(expand(op_id, "create", None, value)), set()
        )
        # The contact's phones, emails and addresses were journaled after its create;
        # they stay after it (a laptop's journal is in causal order: a server refuses an
        # item whose contact it has not been sent yet).
        items = db.execute(
            "SELECT id, tx_id, entity, row_id, op, field, value, created_at FROM journal"
            " WHERE entity IN ('contact_phone', 'contact_email', 'contact_address')"
            " AND row_id IN (SELECT id FROM contact_phone WHERE contact_id = ?1"
            " UNION SELECT id FROM contact_email WHERE contact_id = ?1"
            " UNION SELECT id FROM contact_address WHERE contact_id = ?1) ORDER BY rowid",
            (row_id,),
        ).fetchall()
        for item_op, item_tx, ent, rid, kind, fld, text, when in items:
            db.execute("DELETE FROM journal WHERE id = ?", (item_op,))
            db.execute(
                insert,
                (uuid7(), item_tx, tx.next_hlc(), tx.device_id, ent, rid, kind, fld, text, when),
            )
            note_pending(db, [pending_key(ent, rid, kind, text)], set())
        tx.flush()


def test_a_journal_with_old_and_packed_creates_syncs_every_field(team: Team) -> None:
    ann, ann_token = team.laptop("ann")
    # The manager: unplaced contacts are seen by their creator and managers only.
    bob, bob_token = team.laptop("max")
    old = _add(ann, name="Old Form", city="Leeds", title="CFO", phone="+44 20 7946 0000")
    _unpack_into_old_form(ann, old.id)
    new = _add(ann, name="New Form", city="York", email="new@form.uk")
    with ann.write() as tx:
        update_contact(tx=tx, contact_id=old.id, data=ContactUpdate(city="Hull"), region="DE")
    db = sqlite3.connect(ann.path)
    forms = dict(
        db.execute(
            "SELECT row_id, count(*) FROM journal WHERE entity = 'contact' GROUP BY row_id"
        ).fetchall()
    )
    assert forms[new.id] == 1 and forms[old.id] == len(_unpacked(old)) + 1
    db.close()
    expected = {op.op_id for op in pending_ops(ann)}
    assert pending_count(ann) == len(expected)
    report = team.sync_client(ann, ann_token, batch=5).sync()
    assert report.rejected == 0 and report.pushed == len(expected), report.reasons
    assert pending_count(ann) == 0
    assert expected <= set(_server_ops(team))
    team.sync_client(bob, bob_token).sync()
    with ann.read() as a, bob.read() as b:
        for cid in (old.id, new.id):
            mine, theirs = a.get(Contact, cid), b.get(Contact, cid)
            assert mine is not None and theirs is not None
            skip = {"id", "updated_at", "created_at"}
            assert mine.model_dump(exclude=skip) == theirs.model_dump(exclude=skip)
        seen = b.get(Contact, old.id)
        assert seen is not None and (seen.city, seen.title) == ("Hull", "CFO")
