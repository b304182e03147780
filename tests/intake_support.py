"""Helpers for the intake tests: a published form and its key, posts, what the server holds."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from crmtui.server import tables as t
from crmtui.server.intake_forms import add_form

FORM = """\
name = "contact-us"
territory = "North"
plan = "Web lead"
honeypot = "website"
rate = {rate}

[[field]]
name = "name"
required = true

[[field]]
name = "email"
kind = "email"

[[field]]
name = "phone"
kind = "phone"

[[field]]
name = "company"

[[field]]
name = "country"

[[field]]
name = "message"
"""

PLAN = """\
name = "Web lead"

[[step]]
key = "call"
kind = "call"
text = "Call back the web lead"

[[step]]
key = "mail"
kind = "email"
wait = 2
"""


def publish_form(engine: Engine, *, rate: int = 100, text: str | None = None) -> str:
    """Add the contact-us form; its key."""
    added = add_form(engine, text or FORM.format(rate=rate), source="contact-us.toml")
    assert added.key is not None
    return added.key


def leads(engine: Engine) -> dict[str, dict[str, object]]:
    """Every live lead the server holds: id -> its fields, territory and owner."""
    out: dict[str, dict[str, object]] = {}
    with engine.connect() as conn:
        for row_id, territory, owner in conn.execute(
            select(t.row_scope.c.row_id, t.row_scope.c.territory_id, t.row_scope.c.owner_id).where(
                t.row_scope.c.entity == "lead", t.row_scope.c.deleted.is_(False)
            )
        ):
            out[str(row_id)] = {"_territory": territory, "_owner": owner}
        for row_id, name, value in conn.execute(
            select(t.field_state.c.row_id, t.field_state.c.field, t.field_state.c.value).where(
                t.field_state.c.entity == "lead"
            )
        ):
            if row_id in out:
                out[str(row_id)][str(name)] = json.loads(value) if value else None
    return out


def records(engine: Engine, entity: str) -> list[dict[str, object]]:
    """Every live record of `entity` the server holds, as its fields."""
    with engine.connect() as conn:
        ids = [
            str(r)
            for r in conn.execute(
                select(t.row_scope.c.row_id).where(
                    t.row_scope.c.entity == entity, t.row_scope.c.deleted.is_(False)
                )
            ).scalars()
        ]
        out = []
        for row_id in sorted(ids):
            fields = {
                str(n): json.loads(v) if v else None
                for n, v in conn.execute(
                    select(t.field_state.c.field, t.field_state.c.value).where(
                        t.field_state.c.entity == entity, t.field_state.c.row_id == row_id
                    )
                )
            }
            out.append({"id": row_id, **fields})
    return out


def rep_ids(engine: Engine) -> dict[str, str]:
    """Rep name -> id."""
    with engine.connect() as conn:
        return {str(n): str(i) for i, n in conn.execute(select(t.rep.c.id, t.rep.c.name))}
