"""The server schema upgrades with data in it, on SQLite and PostgreSQL.

s0003 moves the op log (`srv_op`) into the feed: every op logged before the
upgrade must still be answered from the log when it is sent again, the feed
entries must stay as they were (and be sent, not taken for echoes), and a pull
must not see the moved log rows. Downgrading puts the log back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text

from crmtui.domain.hlc import HLC
from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.db import _alembic_config, make_server_engine, upgrade_server
from crmtui.server.pull import pull
from crmtui.server.push import apply_push
from crmtui.sync.wire import Op, PushRequest
from tests.sync_support import BACKENDS

NOW = 1_795_000_000_000
VERSION_TABLE = "crmtui_server_version"
ADMIN = Principal("dev-admin", "admin", "r0", "root", "admin", frozenset(), None)
DEVICE = "01a20b50-63ca-70de-a4ec-84c977de393f"
ROW = "01a20b50-63c8-71d8-8774-8b5acd48c79f"
OLD_OPS = ["01a20b50-0000-7000-8000-000000000001", "01a20b50-0000-7000-8000-000000000002"]


def _engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = request.getfixturevalue("pg_url") if backend == "pg" else str(tmp_path / "old.db")
    return make_server_engine(url)


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _hlc(ms: int) -> str:
    return HLC(NOW + ms, 0).encode()


def _seed_s0002(engine: Engine) -> None:
    """What a server at s0002 holds after one push: a create and a set, both logged."""
    upgrade_server(engine, "s0002_consent_state")
    with engine.begin() as conn:
        for seq, (kind, field, value) in enumerate(
            [("create", None, None), ("set", "name", json.dumps("Jane"))], start=1
        ):
            conn.execute(
                text(
                    "INSERT INTO sync_change (seq, kind, entity, row_id, field, value, hlc,"
                    " device_id, territory_id, flagged) VALUES (:seq, :kind, 'contact', :row,"
                    " :field, :value, :hlc, :device, NULL, :no)"
                ),
                {"seq": seq, "kind": kind, "row": ROW, "field": field, "value": value}
                | {"hlc": _hlc(0), "device": DEVICE, "no": False},
            )
            conn.execute(
                text(
                    "INSERT INTO srv_op (op_id, device_id, entity, row_id, field, hlc, status,"
                    " reason, received_at) VALUES (:op, 'server-device', 'contact', :row,"
                    " :field, :hlc, 'applied', NULL, '2026-11-23T10:00:00Z')"
                ),
                {"op": OLD_OPS[seq - 1], "row": ROW, "field": field, "hlc": _hlc(0)},
            )
        conn.execute(text("UPDATE sync_counter SET value = 2 WHERE id = 'feed'"))
        conn.execute(
            text(
                "INSERT INTO srv_row (entity, row_id, territory_id, owner_id, deleted, flagged,"
                " last_hlc, created_hlc, created_device) VALUES ('contact', :row, NULL, NULL,"
                " :no, :no, :hlc, :hlc, :device)"
            ),
            {"row": ROW, "hlc": _hlc(0), "device": DEVICE, "no": False},
        )
        conn.execute(
            text(
                "INSERT INTO srv_field (entity, row_id, field, value, hlc, device_id)"
                " VALUES ('contact', :row, 'name', :value, :hlc, :device)"
            ),
            {"row": ROW, "value": json.dumps("Jane"), "hlc": _hlc(0), "device": DEVICE},
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_op_log_moves_into_the_feed_and_back(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = _engine(backend, request, tmp_path)
    try:
        _seed_s0002(engine)
        upgrade_server(engine)
        with engine.connect() as conn:
            logged = conn.execute(
                select(t.op_log.c.op_id, t.op_log.c.status).order_by(t.op_log.c.op_id)
            ).all()
            feed = conn.execute(
                select(t.change.c.seq, t.change.c.kind, t.change.c.echo).order_by(t.change.c.seq)
            ).all()
            head = conn.execute(select(t.counter.c.value)).scalar()
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            diff = compare_metadata(context, t.metadata)
        assert logged == [(op, "applied") for op in OLD_OPS]
        old_feed = [(1, "create", False), (2, "set", False)]
        assert feed == [*old_feed, (3, "logged", False), (4, "logged", False)]
        assert head == 4
        # The schema the upgrade leaves is the one the code describes.
        assert [d for d in diff if "sqlite_autoindex" not in repr(d)] == []
        page = pull(engine, ADMIN, 0, 100, _hlc(1))
        assert [c.seq for c in page.changes] == [1, 2] and page.cursor == 4
        # A resend of an op logged before the upgrade is answered from the log.
        resend = Op(
            op_id=OLD_OPS[1],
            tx_id=OLD_OPS[0],
            hlc=_hlc(0),
            entity="contact",
            row_id=ROW,
            op="set",
            field="name",
            value=json.dumps("Jane"),
        )
        fresh = resend.model_copy(
            update={"op_id": "01a20b50-0000-7000-8000-000000000003", "hlc": _hlc(5)}
        )
        fresh = fresh.model_copy(update={"value": json.dumps("Joan")})
        answer = apply_push(
            engine, ADMIN, PushRequest(device_id=DEVICE, ops=[resend, fresh]), NOW, "now"
        )
        assert [(r.status, r.hlc) for r in answer.results] == [
            ("applied", _hlc(0)),
            ("applied", _hlc(5)),
        ]
        assert answer.feed == (5, 5)
        with engine.connect() as conn:
            count = conn.execute(select(t.op_log.c.op_id)).all()
        assert len(count) == 3
        # Back to s0002: the log is a table of its own again, with every op.
        _downgrade(engine, "s0002_consent_state")
        with engine.connect() as conn:
            ops = conn.execute(text("SELECT op_id, status FROM srv_op ORDER BY op_id")).all()
            kinds = conn.execute(text("SELECT kind FROM sync_change ORDER BY seq")).scalars()
            assert [k for k in kinds] == ["create", "set", "set"]
        assert [o[0] for o in ops] == [*OLD_OPS, "01a20b50-0000-7000-8000-000000000003"]
        upgrade_server(engine)
    finally:
        engine.dispose()
