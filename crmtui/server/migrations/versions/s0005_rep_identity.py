"""server schema: reps are published to every device as `rep` records of the feed

Revision ID: s0005_rep_identity
Revises: s0004_reseed
Create Date: 2026-12-07 05:00:00

A rep's id on the server is the id of its `rep` record on every laptop, so an
owner named on one laptop is the same rep on the others and on the server. Reps
made before this revision get their record now: a scope row (no territory, made
by the server), their `name` and `role` as field versions, and a create and two
sets in the feed, numbered after its head so every laptop pulls them.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "s0005_rep_identity"
down_revision: str | None = "s0004_reseed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVER = "server"


def upgrade() -> None:
    """Apply this revision (publish every rep that has no record yet)."""
    conn = op.get_bind()
    reps = conn.execute(
        sa.text(
            "SELECT id, name, role FROM srv_rep WHERE NOT EXISTS (SELECT 1 FROM srv_row"
            " WHERE srv_row.entity = 'rep' AND srv_row.row_id = srv_rep.id) ORDER BY id"
        )
    ).all()
    if not reps:
        return
    # An HLC after now-ish: `PPPPPPPPPPPPP-CCCCC` (milliseconds, counter).
    millis = int(datetime.now(UTC).timestamp() * 1000)
    hlc = f"{millis:013d}-00000"
    head = conn.execute(sa.text("SELECT value FROM sync_counter WHERE id = 'feed'")).scalar()
    seq = int(head or 0)
    for rid, name, role in reps:
        conn.execute(
            sa.text(
                "INSERT INTO srv_row (entity, row_id, territory_id, owner_id, deleted, flagged,"
                " last_hlc, created_hlc, created_device) VALUES ('rep', :id, NULL, NULL, :no,"
                " :no, :hlc, :hlc, :server)"
            ),
            {"id": rid, "no": False, "hlc": hlc, "server": SERVER},
        )
        entries: list[tuple[str, str | None, str | None]] = [("create", None, None)]
        for name_of, plain in (("name", name), ("role", role)):
            encoded = json.dumps(plain, ensure_ascii=False)
            conn.execute(
                sa.text(
                    "INSERT INTO srv_field (entity, row_id, field, value, hlc, device_id)"
                    " VALUES ('rep', :id, :field, :value, :hlc, :server)"
                ),
                {"id": rid, "field": name_of, "value": encoded, "hlc": hlc, "server": SERVER},
            )
            entries.append(("set", name_of, encoded))
        for kind, field, value in entries:
            seq += 1
            conn.execute(
                sa.text(
                    "INSERT INTO sync_change (seq, kind, entity, row_id, field, value, hlc,"
                    " device_id, territory_id, flagged, echo) VALUES (:seq, :kind, 'rep', :id,"
                    " :field, :value, :hlc, :server, NULL, :no, :no)"
                ),
                {
                    "seq": seq,
                    "kind": kind,
                    "id": rid,
                    "field": field,
                    "value": value,
                    "hlc": hlc,
                    "server": SERVER,
                    "no": False,
                },
            )
    conn.execute(
        sa.text("UPDATE sync_counter SET value = :value WHERE id = 'feed'"), {"value": seq}
    )


def downgrade() -> None:
    """Revert this revision (the published rep records stay: laptops hold them already)."""
