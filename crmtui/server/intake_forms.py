"""Web forms (admin-published configuration) and the reps' routing settings.

A form is a TOML text the admin adds with `crm server form add FILE`:

    name = "contact-us"          # the URL: POST /v1/intake/contact-us
    territory = "North"          # where a lead goes when no territory rule matches
    plan = "Web lead"            # optional: the follow-up plan each new lead is put on
    honeypot = "website"         # optional: a hidden field only bots fill in
    region = "DE"                # phone numbers without +country
    rate = 10                    # posts per client address per minute

    [[field]]
    name = "name"                # name, company, email, phone make the lead;
    required = true              # country, postcode, industry, employees route it;
    [[field]]                    # any other field is kept in the lead's note
    name = "email"
    kind = "email"               # text (default), email, phone or int
    max = 200                    # characters (default 500 for text, 2000 for message)

Its key is made when the form is added and shown once; only its SHA-256 is stored.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.admin import AdminError, AdminNotFound, AlreadyThere
from crmtui.server.auth import hash_token, new_token

FIELD_KINDS = ("text", "email", "phone", "int")
LEAD_FIELDS = ("name", "company", "email", "phone")
"""Form fields that become the lead's own fields."""
ROUTING_FIELDS = ("country", "postcode", "industry", "employees")
"""Form fields the territory rules compare."""
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 40
MAX_RATE = 10_000
DEFAULT_MAX = 500


class FormFileError(AdminError):
    """A form file that cannot be used (the message names the file and the field)."""


@dataclass(frozen=True)
class FormField:
    """One field a form accepts."""

    name: str
    kind: str = "text"
    required: bool = False
    max: int = DEFAULT_MAX


@dataclass(frozen=True)
class FormSpec:
    """A web form: its fields and where its leads go."""

    name: str
    territory: str
    fields: tuple[FormField, ...]
    plan: str | None = None
    honeypot: str | None = None
    region: str = "DE"
    rate: int = 10

    def field(self, name: str) -> FormField | None:
        """The field called `name`, or None."""
        return next((f for f in self.fields if f.name == name), None)


def _text(data: dict[str, object], key: str, where: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise FormFileError(f"{where}: {key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise FormFileError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _parse_field(raw: object, where: str, before: list[FormField]) -> FormField:
    """One [[field]] entry, checked against the fields before it."""
    if not isinstance(raw, dict):
        raise FormFileError(f"{where}: must be a table")
    extra = sorted(set(raw) - {"name", "kind", "required", "max"})
    if extra:
        raise FormFileError(f"{where}: unknown key {extra[0]!r}")
    fname = _text(raw, "name", where, required=True)
    assert fname is not None
    if not FIELD_NAME.match(fname):
        raise FormFileError(f"{where}: name {fname!r} must be lowercase letters, digits, _")
    kind = raw.get("kind", "int" if fname == "employees" else "text")
    if kind not in FIELD_KINDS:
        raise FormFileError(
            f"{where} ({fname}): kind must be one of {', '.join(FIELD_KINDS)}, not {kind!r}"
        )
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise FormFileError(f"{where} ({fname}): required must be true or false")
    limit = raw.get("max", 2000 if fname == "message" else DEFAULT_MAX)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise FormFileError(f"{where} ({fname}): max must be 1 to 10000 characters")
    if any(f.name == fname for f in before):
        raise FormFileError(f"{where}: field {fname!r} is listed twice")
    return FormField(fname, str(kind), required, limit)


def parse_form(text: str, *, source: str) -> FormSpec:
    """Read and check a form file; FormFileError names the file and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormFileError(f"{source}: not TOML ({exc})") from exc
    known = {"name", "territory", "plan", "honeypot", "region", "rate", "field"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FormFileError(
            f"{source}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    name = _text(data, "name", source, required=True)
    assert name is not None
    if not NAME.match(name):
        raise FormFileError(
            f"{source}: name {name!r} must be lowercase letters, digits and dashes (a URL part)"
        )
    territory = _text(data, "territory", source, required=True)
    assert territory is not None
    rate = data.get("rate", 10)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= MAX_RATE:
        raise FormFileError(
            f"{source}: rate must be a whole number of posts per minute, 1 to {MAX_RATE}"
        )
    raw_fields = data.get("field")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FormFileError(f"{source}: a form needs [[field]] entries (at least name)")
    if len(raw_fields) > MAX_FIELDS:
        raise FormFileError(f"{source}: at most {MAX_FIELDS} fields")
    fields: list[FormField] = []
    for i, raw in enumerate(raw_fields, 1):
        fields.append(_parse_field(raw, f"{source}: field {i}", fields))
    spec_name = next((f for f in fields if f.name == "name"), None)
    if spec_name is None or not spec_name.required:
        raise FormFileError(f"{source}: the form needs a required field 'name' (a lead's name)")
    honeypot = _text(data, "honeypot", source)
    if honeypot is not None and (
        not FIELD_NAME.match(honeypot) or any(f.name == honeypot for f in fields)
    ):
        raise FormFileError(f"{source}: honeypot must be a field name not among the fields")
    region = _text(data, "region", source) or "DE"
    if not re.fullmatch(r"[A-Za-z]{2}", region):
        raise FormFileError(f"{source}: region must be a two-letter country code")
    return FormSpec(
        name=name,
        territory=territory,
        fields=tuple(fields),
        plan=_text(data, "plan", source),
        honeypot=honeypot,
        region=region.upper(),
        rate=rate,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def territory_id(conn: Connection, name: str) -> str:
    """The id of the territory called `name` (AdminNotFound otherwise)."""
    found = conn.execute(select(t.territory.c.id).where(t.territory.c.name == name)).scalar()
    if found is None:
        raise AdminNotFound(f"no territory named {name!r}")
    return str(found)


@dataclass(frozen=True)
class AddedForm:
    """A form as added: its id and key (the only time the key is shown)."""

    id: str
    key: str | None
    created: bool


def add_form(engine: Engine, text: str, *, source: str) -> AddedForm:
    """Publish a form, or change an existing one's settings (its key stays)."""
    spec = parse_form(text, source=source)
    with engine.begin() as conn:
        territory_id(conn, spec.territory)
        found = conn.execute(
            select(t.intake_form.c.id, t.intake_form.c.source).where(
                t.intake_form.c.name == spec.name
            )
        ).first()
        if found is not None:
            if found[1] == text:
                raise AlreadyThere(f"form {spec.name!r} is unchanged", str(found[0]))
            conn.execute(
                update(t.intake_form).where(t.intake_form.c.id == found[0]).values(source=text)
            )
            return AddedForm(str(found[0]), None, False)
        key = new_token()
        fid = uuid7()
        conn.execute(
            insert(t.intake_form).values(
                id=fid, name=spec.name, key_sha256=hash_token(key), source=text, created_at=_now()
            )
        )
    return AddedForm(fid, key, True)


def rotate_key(engine: Engine, name: str) -> str:
    """Give a form a new key (the old one stops working at once); returns it."""
    key = new_token()
    with engine.begin() as conn:
        done = conn.execute(
            update(t.intake_form)
            .where(t.intake_form.c.name == name)
            .values(key_sha256=hash_token(key), key_rotated_at=_now())
        )
        if done.rowcount == 0:
            raise AdminNotFound(f"no form named {name!r}")
    return key


def forms(engine: Engine) -> list[dict[str, object]]:
    """Every form with its settings and post counts (leads, duplicates, bots)."""
    out = []
    with engine.connect() as conn:
        counts: dict[tuple[str, str], int] = {}
        for form_id, outcome, n in conn.execute(
            select(t.intake_post.c.form_id, t.intake_post.c.outcome, func.count()).group_by(
                t.intake_post.c.form_id, t.intake_post.c.outcome
            )
        ):
            counts[(str(form_id), str(outcome))] = int(n)
        for fid, name, text, created, rotated in conn.execute(
            select(
                t.intake_form.c.id,
                t.intake_form.c.name,
                t.intake_form.c.source,
                t.intake_form.c.created_at,
                t.intake_form.c.key_rotated_at,
            ).order_by(t.intake_form.c.name)
        ):
            spec = parse_form(text, source=f"form {name}")
            out.append(
                {
                    "name": name,
                    "territory": spec.territory,
                    "plan": spec.plan,
                    "fields": [f.name for f in spec.fields],
                    "honeypot": spec.honeypot,
                    "rate": spec.rate,
                    "leads": counts.get((fid, "lead"), 0),
                    "duplicates": counts.get((fid, "duplicate"), 0),
                    "bots": counts.get((fid, "bot"), 0),
                    "created_at": created,
                    "key_rotated_at": rotated,
                    "id": fid,
                    "source": text,
                }
            )
    return out


def _rep(conn: Connection, name: str) -> str:
    rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == name.strip())).scalar()
    if rid is None:
        raise AdminNotFound(f"no rep named {name!r}")
    return str(rid)


def _set_routing(conn: Connection, rep_id: str, values: dict[str, object]) -> None:
    held = conn.execute(
        select(t.rep_routing.c.rep_id).where(t.rep_routing.c.rep_id == rep_id)
    ).first()
    if held is None:
        conn.execute(insert(t.rep_routing).values(rep_id=rep_id, **values))
    else:
        conn.execute(update(t.rep_routing).where(t.rep_routing.c.rep_id == rep_id).values(**values))


def set_leave(engine: Engine, rep: str, start: date | None, end: date | None) -> None:
    """Mark a rep on leave from `start` to `end` (inclusive), or back (both None)."""
    if (start is None) != (end is None):
        raise AdminError("give both --from and --to (or --clear)")
    if start is not None and end is not None and end < start:
        raise AdminError(f"the leave ends ({end}) before it starts ({start})")
    with engine.begin() as conn:
        _set_routing(
            conn,
            _rep(conn, rep),
            {
                "leave_from": start.isoformat() if start else None,
                "leave_to": end.isoformat() if end else None,
            },
        )


def set_capacity(engine: Engine, rep: str, max_open_leads: int | None) -> None:
    """Cap the open leads routing gives a rep (None: no cap)."""
    if max_open_leads is not None and max_open_leads < 0:
        raise AdminError("capacity is a number of open leads, 0 or more")
    with engine.begin() as conn:
        _set_routing(conn, _rep(conn, rep), {"max_open_leads": max_open_leads})


def routing_settings(engine: Engine) -> list[dict[str, object]]:
    """Every rep's role, capacity, leave and open leads."""
    from crmtui.server.routing import open_leads

    with engine.connect() as conn:
        reps = conn.execute(
            select(t.rep.c.id, t.rep.c.name, t.rep.c.role).order_by(t.rep.c.name)
        ).all()
        settings = {
            str(r[0]): r[1:]
            for r in conn.execute(
                select(
                    t.rep_routing.c.rep_id,
                    t.rep_routing.c.max_open_leads,
                    t.rep_routing.c.leave_from,
                    t.rep_routing.c.leave_to,
                )
            )
        }
        counts = open_leads(conn, [str(r[0]) for r in reps])
    return [
        {
            "rep": name,
            "role": role,
            "open_leads": counts.get(str(rid), 0),
            "capacity": settings.get(str(rid), (None, None, None))[0],
            "leave_from": settings.get(str(rid), (None, None, None))[1],
            "leave_to": settings.get(str(rid), (None, None, None))[2],
        }
        for rid, name, role in reps
    ]
