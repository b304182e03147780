"""Taking a web form's post: key, rate limit, honeypot, validation, dedupe, routing, records.

`receive` is the whole decision for one post, whatever serves it (`intake_app`):

1. the form and its key (401 for an unknown form and a wrong key alike);
2. the rate limit per form and client address (429 with Retry-After);
3. the honeypot: a bot's post is answered like any accepted post, counted and dropped;
4. the fields against the form (422 naming each bad field, never echoing a value);
5. in one transaction under the feed lock: the person is looked up with the identity
   rule (`crmtui.domain.identity.judge`) among the leads and contacts the server holds.
   A duplicate gets the post as a note (an activity) on the existing lead or contact;
   otherwise a new lead is routed (`crmtui.server.routing`), made with its note, put
   on the form's plan (an enrolment: its first step's reminder is made by the rep's
   laptop when the sync brings it, `plan_progress.settle_after_sync`), and the
   assignment is logged.
"""

from __future__ import annotations

import hmac
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from crmtui.domain.identity import EVIDENCE, SAME, Who, judge, phone_key
from crmtui.domain.ids import uuid7
from crmtui.domain.validate import InvalidInput, normalize_email, normalize_phone
from crmtui.server import tables as t
from crmtui.server.admin import AdminNotFound
from crmtui.server.auth import hash_token
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.server.intake_forms import FormSpec, parse_form, territory_id
from crmtui.server.made import make_record, new_hlc, record_values, timestamp
from crmtui.server.routing import Place, log_assignment, route

RATE_WINDOW = timedelta(minutes=1)


class IntakeRefused(Exception):
    """A post that is not taken: the HTTP status and the answer's detail."""

    def __init__(self, status: int, detail: object, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass(frozen=True)
class Accepted:
    """What a post became: a new lead, a duplicate attached to a record, or a bot's (dropped)."""

    reference: str
    outcome: str
    entity: str | None = None
    row_id: str | None = None


def _form(conn: Connection, name: str, key: str | None) -> tuple[str, FormSpec]:
    row = conn.execute(
        select(t.intake_form.c.id, t.intake_form.c.key_sha256, t.intake_form.c.source).where(
            t.intake_form.c.name == name
        )
    ).first()
    given = hash_token(key or "")
    # The same answer for an unknown form and a wrong key: form names cannot be probed.
    if row is None or not key or not hmac.compare_digest(given, str(row[1])):
        raise IntakeRefused(401, "unknown form or wrong key (X-Intake-Key)")
    return str(row[0]), parse_form(str(row[2]), source=f"form {name}")


def _clean_text(value: str, multiline: bool) -> str | None:
    """The text, or None when it holds characters no form field should (NUL, controls)."""
    allowed = "\n\t\r" if multiline else "\t"
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed:
            return None
    return value.strip()


def check_values(spec: FormSpec, raw: dict[str, object]) -> dict[str, object]:
    """The post's values as stored, checked against the form; IntakeRefused(422) lists every bad field."""
    errors: list[dict[str, str]] = []
    values: dict[str, object] = {}
    for name in sorted(raw):
        if name.startswith("_") or name == spec.honeypot:
            continue
        if spec.field(name) is None:
            errors.append({"field": name[:40], "msg": "this form has no such field"})
    for field in spec.fields:
        given = raw.get(field.name)
        if isinstance(given, bool) or not isinstance(given, str | int | type(None)):
            errors.append({"field": field.name, "msg": "must be text"})
            continue
        text = "" if given is None else str(given)
        if len(text) > field.max:
            errors.append({"field": field.name, "msg": f"longer than {field.max} characters"})
            continue
        cleaned = _clean_text(text, field.name == "message")
        if cleaned is None:
            errors.append({"field": field.name, "msg": "holds control characters"})
            continue
        if not cleaned:
            if field.required:
                errors.append({"field": field.name, "msg": "is required"})
            continue
        try:
            values[field.name] = _typed(field.kind, field.name, cleaned, spec.region)
        except InvalidInput as exc:
            # The library's words can quote the input: say what is wrong, not what was sent.
            errors.append({"field": field.name, "msg": f"is not a valid {field.kind}"})
            del exc
    if errors:
        raise IntakeRefused(422, errors)
    return values


def _typed(kind: str, name: str, text: str, region: str) -> object:
    if kind == "email":
        return normalize_email(text, field=name)
    if kind == "phone":
        phone = normalize_phone(text, region=region, field=name)
        return (phone.typed, phone.e164)
    if kind == "int":
        if not text.isdigit() or len(text) > 9:
            raise InvalidInput(name, "is not a whole number")
        return int(text)
    return text


def _rate_limited(
    conn: Connection, form_id: str, client: str, spec: FormSpec, now: datetime
) -> None:
    since = timestamp(now - RATE_WINDOW)
    count = conn.execute(
        select(func.count()).where(
            t.intake_post.c.form_id == form_id,
            t.intake_post.c.client == client,
            t.intake_post.c.received_at >= since,
        )
    ).scalar_one()
    if count >= spec.rate:
        raise IntakeRefused(
            429,
            f"more than {spec.rate} posts a minute from this address: try again later",
            {"Retry-After": str(int(RATE_WINDOW.total_seconds()))},
        )


def _log_post(conn: Connection, form_id: str, client: str, now: datetime, done: Accepted) -> None:
    conn.execute(
        insert(t.intake_post).values(
            id=done.reference,
            form_id=form_id,
            client=client[:64],
            received_at=timestamp(now),
            outcome=done.outcome,
            entity=done.entity,
            row_id=done.row_id,
        )
    )


def receive(
    engine: Engine,
    form_name: str,
    key: str | None,
    raw: dict[str, object],
    *,
    client: str,
    now: datetime,
) -> Accepted:
    """Take one post (see the module docstring); IntakeRefused says why one is not taken."""
    with engine.connect() as conn:
        form_id, spec = _form(conn, form_name, key)
        _rate_limited(conn, form_id, client, spec, now)
    reference = uuid7()
    if spec.honeypot and str(raw.get(spec.honeypot) or "").strip():
        done = Accepted(reference, "bot")
        with engine.begin() as conn:
            _log_post(conn, form_id, client, now, done)
        return done
    values = check_values(spec, raw)
    with engine.begin() as conn:
        lock_feed(conn)
        done, changes = _take(conn, spec, values, reference, now)
        _log_post(conn, form_id, client, now, done)
        write_changes(conn, changes)
    return done


def _note(spec: FormSpec, values: dict[str, object]) -> str:
    lines = [f"Web form {spec.name}"]
    for field in spec.fields:
        value = values.get(field.name)
        if isinstance(value, tuple):
            value = value[0]
        if value is not None:
            lines.append(f"{field.name}: {value}")
    return "\n".join(lines)


def _who(values: dict[str, object]) -> Who:
    phone = values.get("phone")
    key = phone_key(phone[1], phone[0]) if isinstance(phone, tuple) else None
    email = values.get("email")
    return Who(
        str(values["name"]),
        emails=(str(email).lower(),) if email else (),
        phones=(key,) if key else (),
    )


def _take(
    conn: Connection, spec: FormSpec, values: dict[str, object], reference: str, now: datetime
) -> tuple[Accepted, list[PendingChange]]:
    hlc = new_hlc(int(now.timestamp() * 1000))
    at = timestamp(now)
    note = {"kind": "note", "occurred_at": at, "text": _note(spec, values)}
    duplicate = find_duplicate(conn, _who(values))
    if duplicate is not None:
        entity, row_id, territory = duplicate
        creator = conn.execute(
            select(t.row_scope.c.created_device).where(
                t.row_scope.c.entity == entity, t.row_scope.c.row_id == row_id
            )
        ).scalar_one()
        changes = make_record(
            conn,
            "activity",
            uuid7(),
            {**note, f"{entity}_id": row_id},
            territory_id=territory,
            owner_id=None,
            hlc=hlc,
            created_device=str(creator),
        )
        return Accepted(reference, "duplicate", entity, row_id), changes
    try:
        fallback = territory_id(conn, spec.territory)
    except AdminNotFound:
        # Removed or renamed since the form was published: the admin must fix the form.
        raise IntakeRefused(
            503, f"form {spec.name} names a territory the server no longer has: tell the admin"
        ) from None
    employees = values.get("employees")
    place = Place(
        country=_str(values.get("country")),
        postcode=_str(values.get("postcode")),
        industry=_str(values.get("industry")),
        employees=employees if isinstance(employees, int) else None,
    )
    routed = route(conn, place, fallback, now.date())
    lead_id = uuid7()
    phone = values.get("phone")
    lead = {
        "name": values["name"],
        "company": values.get("company"),
        "email": values.get("email"),
        "phone": phone[0] if isinstance(phone, tuple) else None,
        "phone_e164": phone[1] if isinstance(phone, tuple) else None,
        "source": f"web:{spec.name}",
        "status": "new",
        # What the post says of the company, for the lead score (0018); a country that
        # is not a two-letter code routes by the territory rules but is not kept.
        "industry": (_str(values.get("industry")) or "")[:80] or None,
        "employees": employees if isinstance(employees, int) and employees > 0 else None,
        "country": _iso_country(values.get("country")),
        "owner_id": routed.rep_id,
        "territory_id": routed.territory_id,
        "created_at": at,
    }

    def make(entity: str, record: dict[str, object]) -> list[PendingChange]:
        return make_record(
            conn,
            entity,
            uuid7() if entity != "lead" else lead_id,
            record,
            territory_id=routed.territory_id,
            owner_id=routed.rep_id,
            hlc=hlc,
        )

    changes = make("lead", lead) + make("activity", {**note, "lead_id": lead_id})
    if spec.plan:
        plan_id = newest_plan(conn, spec.plan)
        if plan_id is None:
            routed.why["plan"] = f"plan {spec.plan!r} is not published on the server: not enrolled"
        else:
            enrolment: dict[str, object] = {
                "plan_id": plan_id,
                "lead_id": lead_id,
                "enrolled_at": at,
                "owner_id": routed.rep_id,
            }
            changes += make("plan_enrolment", enrolment)
            routed.why["plan"] = spec.plan
    log_assignment(conn, lead_id, routed, at=at, by=f"web form {spec.name}")
    return Accepted(reference, "lead", "lead", lead_id), changes


def _str(value: object) -> str | None:
    return str(value) if value is not None else None


def _iso_country(value: object) -> str | None:
    """A two-letter country code as the lead keeps it, or None."""
    text = str(value).strip().upper() if value is not None else ""
    return text if len(text) == 2 and text.isascii() and text.isalpha() else None


def newest_plan(conn: Connection, name: str) -> str | None:
    """The id of the newest live version of the plan called `name` (case-insensitive)."""
    f = t.field_state.c
    live = select(t.row_scope.c.row_id).where(
        t.row_scope.c.entity == "plan", t.row_scope.c.deleted.is_(False)
    )
    named = [
        str(row_id)
        for row_id, text in conn.execute(
            select(f.row_id, f.value).where(
                f.entity == "plan", f.field == "name", f.row_id.in_(live)
            )
        )
        if text is not None and str(json.loads(text)).strip().lower() == name.strip().lower()
    ]
    if not named:
        return None
    versions = {
        str(row_id): int(json.loads(text)) if text else 0
        for row_id, text in conn.execute(
            select(f.row_id, f.value).where(
                f.entity == "plan", f.field == "version", f.row_id.in_(named)
            )
        )
    }
    return max(named, key=lambda r: (versions.get(r, 0), r))


EMAIL_FIELDS = (("contact", "email"), ("contact_email", "address"), ("lead", "email"))
PHONE_FIELDS = (
    ("contact", "phone_e164"),
    ("contact", "mobile_e164"),
    ("contact_phone", "e164"),
    ("lead", "phone_e164"),
)


def _live(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """Of these records, the live ones and their territories."""
    out: dict[tuple[str, str], str | None] = {}
    for entity in sorted({e for e, _ in keys}):
        ids = sorted(r for e, r in keys if e == entity)
        for row_id, territory in conn.execute(
            select(t.row_scope.c.row_id, t.row_scope.c.territory_id).where(
                t.row_scope.c.entity == entity,
                t.row_scope.c.row_id.in_(ids),
                t.row_scope.c.deleted.is_(False),
            )
        ):
            out[(entity, str(row_id))] = territory
    return out


def _person_of(conn: Connection, entity: str, row_id: str) -> tuple[str, str] | None:
    """The contact or lead an item or record belongs to (a converted lead: its contact)."""
    if entity in ("contact_email", "contact_phone"):
        owner = record_values(conn, entity, row_id).get("contact_id")
        return ("contact", str(owner)) if owner else None
    if entity == "lead":
        values = record_values(conn, "lead", row_id)
        if values.get("status") == "converted" and values.get("converted_contact_id"):
            return "contact", str(values["converted_contact_id"])
    return entity, row_id


def _stored_who(conn: Connection, entity: str, row_id: str) -> Who:
    """A stored contact's or lead's identity over its own fields and (a contact's) items."""
    own = record_values(conn, entity, row_id)
    emails = [str(own["email"]).lower()] if own.get("email") else []
    phones: list[str] = []
    for column, typed in (("phone_e164", "phone"), ("mobile_e164", "mobile")):
        if own.get(column):
            phones.append(phone_key(str(own[column]), _str(own.get(typed))) or str(own[column]))
    if entity == "contact":
        f = t.field_state.c
        items = conn.execute(
            select(f.entity, f.row_id).where(
                f.entity.in_(("contact_email", "contact_phone")),
                f.field == "contact_id",
                f.value == json.dumps(row_id),
            )
        ).all()
        live = _live(conn, {(str(e), str(r)) for e, r in items})
        for item_entity, item_id in sorted(live):
            values = record_values(conn, item_entity, item_id)
            if item_entity == "contact_email" and values.get("address"):
                emails.append(str(values["address"]).lower())
            elif values.get("e164"):
                ext = _str(values.get("extension"))
                key = (
                    f"{values['e164']};ext={ext}"
                    if ext
                    else phone_key(str(values["e164"]), _str(values.get("number")))
                )
                phones.append(key or str(values["e164"]))
    return Who(
        str(own.get("name") or ""),
        emails=tuple(dict.fromkeys(emails)),
        phones=tuple(dict.fromkeys(phones)),
    )


def find_duplicate(conn: Connection, who: Who) -> tuple[str, str, str | None] | None:
    """The lead or contact the server holds that is this person, (entity, id, territory), or None.

    Candidates share an email or a phone number with the post; the identity rule
    decides (the same email; or the same phone and a name that agrees). A contact
    wins over a lead, a strong key over evidence, then the smaller id.
    """
    f = t.field_state.c
    hits: set[tuple[str, str]] = set()
    for email in who.emails:
        forms = {json.dumps(email).lower(), json.dumps(email, ensure_ascii=False).lower()}
        for entity, field in EMAIL_FIELDS:
            hits |= {
                (str(e), str(r))
                for e, r in conn.execute(
                    select(f.entity, f.row_id).where(
                        f.entity == entity, f.field == field, func.lower(f.value).in_(forms)
                    )
                )
            }
    for key in who.phones:
        number = json.dumps(key.split(";", 1)[0])
        for entity, field in PHONE_FIELDS:
            hits |= {
                (str(e), str(r))
                for e, r in conn.execute(
                    select(f.entity, f.row_id).where(
                        f.entity == entity, f.field == field, f.value == number
                    )
                )
            }
    people: set[tuple[str, str]] = set()
    for entity, row_id in _live(conn, hits):
        person = _person_of(conn, entity, row_id)
        if person is not None:
            people.add(person)
    live = _live(conn, people)
    judged = []
    for (entity, row_id), territory in live.items():
        verdict = judge(who, _stored_who(conn, entity, row_id))
        if verdict.kind in (SAME, EVIDENCE):
            judged.append(
                ((verdict.kind != SAME, entity != "contact", row_id), entity, row_id, territory)
            )
    if not judged:
        return None
    _, entity, row_id, territory = min(judged)
    return entity, row_id, territory
