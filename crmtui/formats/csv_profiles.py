"""Header profiles for contact CSV exports of other CRMs, and fuzzy header matching.

A profile maps the column names a product really writes to crmtui contact fields.
Columns no profile knows are matched fuzzily (rapidfuzz) against the field names
and their common synonyms; what still matches nothing is reported as ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crmtui.formats.book_profiles import (
    ACCOUNT_FIELDS,
    ACCOUNT_PROFILES,
    DEAL_FIELDS,
    DEAL_PROFILES,
)
from crmtui.formats.rejects import REASON

# The contact fields an import can fill. "given_name"/"family_name" make the name
# when there is no full-name column; "company" finds or creates the account.
IMPORT_FIELDS = (
    "name",
    "given_name",
    "family_name",
    "salutation",
    "title",
    "company",
    "email",
    "phone",
    "mobile",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "tags",
    "notes",
    "birthday",
    "nickname",
    "department",
    "website",
    "source",
    "external_id",
    "account_external_id",
    "do_not_call",
    "do_not_email",
    "crm_id",
)

SALESFORCE = {
    # Contacts report (Lightning/Classic) column labels
    "first name": "given_name",
    "last name": "family_name",
    "full name": "name",
    "contact name": "name",
    "salutation": "salutation",
    "account name": "company",
    "title": "title",
    "email": "email",
    "phone": "phone",
    "business phone": "phone",
    "mobile": "mobile",
    "mobile phone": "mobile",
    "mailing street": "street",
    "mailing city": "city",
    "mailing state/province": "region",
    "mailing zip/postal code": "postcode",
    "mailing country": "country",
    "mailing country code": "country",
    "contact id": "external_id",
    "account id": "account_external_id",
    "accountid": "account_external_id",
    "description": "notes",
    "birthdate": "birthday",
    "department": "department",
    "lead source": "source",
    "do not call": "do_not_call",
    "email opt out": "do_not_email",
    # Data Loader / API names
    "id": "external_id",
    "firstname": "given_name",
    "lastname": "family_name",
    "name": "name",
    "account.name": "company",
    "mobilephone": "mobile",
    "mailingstreet": "street",
    "mailingcity": "city",
    "mailingstate": "region",
    "mailingpostalcode": "postcode",
    "mailingcountry": "country",
    "mailingcountrycode": "country",
    "leadsource": "source",
    "donotcall": "do_not_call",
    "hasoptedoutofemail": "do_not_email",
}

HUBSPOT = {
    "record id": "external_id",
    "contact id": "external_id",
    "first name": "given_name",
    "last name": "family_name",
    "email": "email",
    "phone number": "phone",
    "mobile phone number": "mobile",
    "company name": "company",
    "associated company": "company",
    "job title": "title",
    "website url": "website",
    "date of birth": "birthday",
    "street address": "street",
    "city": "city",
    "state/region": "region",
    "postal code": "postcode",
    "country/region": "country",
    "country": "country",
    "original source": "source",
    "lead status": None,
    "contact owner": None,
    "create date": None,
    "last activity date": None,
    "marketing contact status": None,
}

PIPEDRIVE = {
    "name": "name",
    "person - name": "name",
    "first name": "given_name",
    "person - first name": "given_name",
    "last name": "family_name",
    "person - last name": "family_name",
    "organization": "company",
    "person - organization": "company",
    "organization - name": "company",
    "email": "email",
    "person - email": "email",
    "person - email - work": "email",
    "phone": "phone",
    "person - phone": "phone",
    "person - phone - work": "phone",
    "person - phone - mobile": "mobile",
    "person - job title": "title",
    "job title": "title",
    "person - labels": "tags",
    "labels": "tags",
    "person - id": "external_id",
    "id": "external_id",
    "person - notes": "notes",
    "person - postal address - street/road name": "street",
    "person - postal address - city/town": "city",
    "person - postal address - state/county": "region",
    "person - postal address - zip/postal code": "postcode",
    "person - postal address - country": "country",
    "person - owner": None,
    "person - visible to": None,
}

# The "generic" profile: crmtui's own field names and the obvious synonyms.
GENERIC = {
    **{f: f for f in IMPORT_FIELDS},
    "full name": "name",
    "first name": "given_name",
    "firstname": "given_name",
    "given name": "given_name",
    "forename": "given_name",
    "vorname": "given_name",
    "last name": "family_name",
    "lastname": "family_name",
    "surname": "family_name",
    "family name": "family_name",
    "nachname": "family_name",
    "organization": "company",
    "organisation": "company",
    "account": "company",
    "firma": "company",
    "job title": "title",
    "position": "title",
    "e-mail": "email",
    "email address": "email",
    "e-mail address": "email",
    "telephone": "phone",
    "phone number": "phone",
    "work phone": "phone",
    "telefon": "phone",
    "mobile phone": "mobile",
    "cell": "mobile",
    "cell phone": "mobile",
    "handy": "mobile",
    "street address": "street",
    "address line 1": "street",
    "straße": "street",
    "strasse": "street",
    "state": "region",
    "province": "region",
    "zip": "postcode",
    "zip code": "postcode",
    "postal code": "postcode",
    "plz": "postcode",
    "town": "city",
    "ort": "city",
    "stadt": "city",
    "land": "country",
    "country code": "country",
    "labels": "tags",
    "note": "notes",
    "comments": "notes",
    "birthdate": "birthday",
    "date of birth": "birthday",
    "geburtstag": "birthday",
    "web site": "website",
    "web page": "website",
    "homepage": "website",
    "abteilung": "department",
    "id": "external_id",
}

# crmtui's own `crm export csv contacts`: its id is crmtui's (a match on the very
# record, never an outside system's external id); derived and bookkeeping columns
# are not read back.
CRMTUI = {
    "id": "crm_id",
    # Our export's columns beyond the import fields come back as they went out.
    **{f: f for f in ("source_uid", "extra")},
    **{f: f for f in IMPORT_FIELDS if f not in ("crm_id", "account_external_id")},
    **{
        k: None
        for k in (
            "account_id", "phone_e164", "mobile_e164", "territory_id", "owner_id", "max_calls",
            "max_calls_days", "stay_in_touch_days", "created_at", "updated_at", "archived_at",
        )
    },
}  # fmt: skip
# Headers only crmtui's own export has together.
CRMTUI_SIGNATURE = frozenset(
    {"id", "name", "phone_e164", "mobile_e164", "account_id", "updated_at"}
)

PROFILES: dict[str, dict[str, str | None]] = {
    "crmtui": dict(CRMTUI),
    "salesforce": dict(SALESFORCE),
    "hubspot": dict(HUBSPOT),
    "pipedrive": dict(PIPEDRIVE),
    "generic": dict(GENERIC),
}
FUZZY_CUTOFF = 85
# What a CSV holds, with its profiles and fields: contacts, accounts or deals.
KINDS: dict[str, tuple[dict[str, dict[str, str | None]], tuple[str, ...]]] = {
    "contacts": (PROFILES, IMPORT_FIELDS),
    "accounts": (ACCOUNT_PROFILES, ACCOUNT_FIELDS),
    "deals": (DEAL_PROFILES, DEAL_FIELDS),
}


def header_key(header: str) -> str:
    """A column name as profiles list it: lower case, single spaces."""
    return " ".join(header.strip().lower().split())


@dataclass(frozen=True)
class HeaderMapping:
    """Which CSV column fills which field, and what was left out."""

    profile: str
    columns: dict[int, str]  # column index -> field
    ignored: tuple[str, ...]
    fuzzy: tuple[tuple[str, str], ...]  # (header, field) matched by similarity
    kept: tuple[int, ...] = ()
    """Columns not imported into a field whose values are kept on the contact (`extra`):
    all but the ones `--map "Column="` drops and our own export's derived columns."""

    def kept_headers(
        self, headers: Sequence[str], records: Sequence[tuple[int, list[str]]] = ()
    ) -> list[str]:
        """The kept columns' names, for the summary (a column without a name only when
        some record has a value in it: most are a trailing delimiter)."""
        return [
            column_name(headers, i)
            for i in self.kept
            if headers[i].strip() or any(i < len(c) and c[i].strip() for _, c in records)
        ]

    def describe(self, headers: Sequence[str]) -> list[str]:
        """Human lines: "Column" -> field, for the dry-run preview."""
        return [f"{headers[i]!r} -> {f}" for i, f in sorted(self.columns.items())]


def column_name(headers: Sequence[str], i: int) -> str:
    """A column's name, or "column N" for one the header leaves unnamed."""
    return headers[i].strip() or f"column {i + 1}"


def detect_profile(headers: Sequence[str], kind: str = "contacts") -> str:
    """The profile that knows most of these headers (generic on a tie)."""
    keys = {header_key(h) for h in headers}
    if kind == "contacts" and keys >= CRMTUI_SIGNATURE:
        return "crmtui"
    profiles = KINDS[kind][0]
    best, best_hits = "generic", len(keys & profiles["generic"].keys())
    for name in ("salesforce", "hubspot", "pipedrive"):
        hits = len(keys & profiles[name].keys())
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def map_headers(
    headers: Sequence[str],
    *,
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
    kind: str = "contacts",
) -> HeaderMapping:
    """Map headers to fields: explicit overrides, then the profile, then fuzzy matching."""
    from rapidfuzz import fuzz, process

    profiles = KINDS[kind][0]
    chosen = profile or detect_profile(headers, kind)
    generic = profiles["generic"]
    table = {**generic, **profiles[chosen]} if chosen != "generic" else generic
    wanted = {header_key(k): v for k, v in (overrides or {}).items()}
    columns: dict[int, str] = {}
    ignored: list[str] = []
    kept: list[int] = []
    fuzzy: list[tuple[str, str]] = []
    choices = list(table)
    # A contact keeps what no field takes (a CRM's "Lead Status", a second phone column),
    # except columns the user drops with --map "Column=" and our own export's derived ones.
    keeping = kind == "contacts"
    for i, header in enumerate(headers):
        key = header_key(header)
        field: str | None
        if key in wanted:
            field = wanted[key] or None
        elif key in table:
            field = table[key]
        else:
            found = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            field = table[found[0]] if found else None
            if field:
                fuzzy.append((header, field))
        if field and field not in columns.values():
            columns[i] = field
            continue
        # Not a field, or two columns for one field (Phone and Business Phone): the first wins.
        derived = chosen == "crmtui" and key in table
        # The last column of a rejected-rows file is our own reason, not the person's.
        ours = key == REASON and i == len(headers) - 1
        if keeping and key not in wanted and not derived and not ours:
            kept.append(i)  # one without a name too ("column 38"), if a row fills it
        if header.strip() or not keeping:
            ignored.append(column_name(headers, i))
    return HeaderMapping(chosen, columns, tuple(ignored), tuple(fuzzy), tuple(kept))


def parse_overrides(items: Sequence[str], kind: str = "contacts") -> dict[str, str]:
    """`--map "Column=field"` options as a dict; raises ValueError on a bad one."""
    fields = KINDS[kind][1]
    out: dict[str, str] = {}
    for item in items:
        column, sep, field = item.rpartition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column:
            raise ValueError(f'--map {item!r}: expected "Column=field"')
        if field and field not in fields:
            raise ValueError(
                f"--map {item!r}: unknown field {field!r} (fields: {', '.join(fields)}; "
                "an empty field ignores the column)"
            )
        out[column] = field
    return out
