"""Header profiles for account and deal exports of Salesforce, HubSpot and Pipedrive.

Built from the column labels the vendors document for their exports (Salesforce
report and Data Loader names, HubSpot's default export properties, Pipedrive's
"Object - Field" export labels); no public sample export was found to copy (see
tests/data/SOURCES.md). Together with crmtui.formats.csv_profiles (contacts) this
is the one place an outside column name becomes a crmtui field: new fields are
added here and in the field lists.

Vendor stage names that mean one of crmtui's default stages are in `STAGE_GUESSES`
(used only when the target pipeline has a stage of that name, and always shown
by the dry run as a guess); `--stage-map` says it exactly.
"""

from __future__ import annotations

ACCOUNT_FIELDS = (
    "name", "domain", "website", "industry", "employees", "phone", "street", "postcode",
    "city", "country", "tags", "notes", "external_id",
)  # fmt: skip

DEAL_FIELDS = (
    "name", "account", "account_external_id", "contact", "stage", "status", "amount",
    "currency", "close_date", "probability", "lost_reason", "external_id",
)  # fmt: skip

_SF_ACCOUNTS: dict[str, str | None] = {
    "account id": "external_id",
    "id": "external_id",
    "account name": "name",
    "name": "name",
    "website": "website",
    "industry": "industry",
    "employees": "employees",
    "numberofemployees": "employees",
    "phone": "phone",
    "billing street": "street",
    "billingstreet": "street",
    "billing city": "city",
    "billingcity": "city",
    "billing zip/postal code": "postcode",
    "billingpostalcode": "postcode",
    "billing country": "country",
    "billingcountry": "country",
    "description": "notes",
    "account owner": None,
    "type": None,
    "parent account": None,
}
_HS_ACCOUNTS: dict[str, str | None] = {
    "record id": "external_id",
    "company id": "external_id",
    "company name": "name",
    "name": "name",
    "company domain name": "domain",
    "website url": "website",
    "industry": "industry",
    "number of employees": "employees",
    "phone number": "phone",
    "street address": "street",
    "postal code": "postcode",
    "city": "city",
    "country/region": "country",
    "description": "notes",
    "company owner": None,
    "create date": None,
    "lifecycle stage": None,
}
_PD_ACCOUNTS: dict[str, str | None] = {
    "organization - id": "external_id",
    "id": "external_id",
    "organization - name": "name",
    "name": "name",
    "organization - address - street/road name": "street",
    "organization - address - city/town": "city",
    "organization - address - zip/postal code": "postcode",
    "organization - address - country": "country",
    "organization - labels": "tags",
    "organization - website": "website",
    "organization - industry": "industry",
    "organization - number of employees": "employees",
    "organization - owner": None,
    "organization - visible to": None,
    "organization - address": None,
}
_GENERIC_ACCOUNTS: dict[str, str | None] = {
    **{f: f for f in ACCOUNT_FIELDS},
    "account": "name",
    "account name": "name",
    "company": "name",
    "company name": "name",
    "organization": "name",
    "organisation": "name",
    "url": "website",
    "zip": "postcode",
    "postal code": "postcode",
    "address": "street",
    "labels": "tags",
    "description": "notes",
    "id": "external_id",
}

_SF_DEALS: dict[str, str | None] = {
    "opportunity id": "external_id",
    "id": "external_id",
    "opportunity name": "name",
    "name": "name",
    "account name": "account",
    "account id": "account_external_id",
    "accountid": "account_external_id",
    "stage": "stage",
    "stagename": "stage",
    "amount": "amount",
    "amount currency": "currency",
    "opportunity currency": "currency",
    "currencyisocode": "currency",
    "close date": "close_date",
    "closedate": "close_date",
    "probability (%)": "probability",
    "probability": "probability",
    "opportunity owner": None,
    "type": None,
    "lead source": None,
    "fiscal period": None,
    "next step": None,
    "created date": None,
}
_HS_DEALS: dict[str, str | None] = {
    "record id": "external_id",
    "deal id": "external_id",
    "deal name": "name",
    "deal stage": "stage",
    "amount": "amount",
    "currency": "currency",
    "deal currency code": "currency",
    "close date": "close_date",
    "associated company": "account",
    "company name": "account",
    "associated contact": "contact",
    "deal probability": "probability",
    "closed lost reason": "lost_reason",
    "pipeline": None,
    "deal owner": None,
    "create date": None,
    "deal type": None,
}
_PD_DEALS: dict[str, str | None] = {
    "deal - id": "external_id",
    "deal - title": "name",
    "title": "name",
    "deal - organization": "account",
    "organization": "account",
    "deal - contact person": "contact",
    "contact person": "contact",
    "deal - stage": "stage",
    "stage": "stage",
    "deal - status": "status",
    "status": "status",
    "deal - value": "amount",
    "value": "amount",
    "deal - currency": "currency",
    "currency": "currency",
    "deal - expected close date": "close_date",
    "expected close date": "close_date",
    "deal - probability": "probability",
    "deal - lost reason": "lost_reason",
    "lost reason": "lost_reason",
    "deal - pipeline": None,
    "deal - owner": None,
    "deal - deal created": None,
    "deal - won time": None,
    "deal - lost time": None,
}
_GENERIC_DEALS: dict[str, str | None] = {
    **{f: f for f in DEAL_FIELDS},
    "deal": "name",
    "deal name": "name",
    "opportunity": "name",
    "title": "name",
    "company": "account",
    "organization": "account",
    "account name": "account",
    "value": "amount",
    "close date": "close_date",
    "expected close": "close_date",
    "expected close date": "close_date",
    "id": "external_id",
}

ACCOUNT_PROFILES: dict[str, dict[str, str | None]] = {
    "salesforce": _SF_ACCOUNTS,
    "hubspot": _HS_ACCOUNTS,
    "pipedrive": _PD_ACCOUNTS,
    "generic": _GENERIC_ACCOUNTS,
}
DEAL_PROFILES: dict[str, dict[str, str | None]] = {
    "salesforce": _SF_DEALS,
    "hubspot": _HS_DEALS,
    "pipedrive": _PD_DEALS,
    "generic": _GENERIC_DEALS,
}

# Vendor stage name (lower case) -> crmtui default stage name. Salesforce's standard
# opportunity stages, HubSpot's default sales pipeline (labels and internal ids) and
# Pipedrive's default pipeline.
STAGE_GUESSES: dict[str, str] = {
    "prospecting": "Lead In",
    "qualification": "Qualified",
    "needs analysis": "Qualified",
    "value proposition": "Proposal",
    "id. decision makers": "Proposal",
    "perception analysis": "Proposal",
    "proposal/price quote": "Proposal",
    "negotiation/review": "Negotiation",
    "closed won": "Closed Won",
    "closed lost": "Closed Lost",
    "appointment scheduled": "Lead In",
    "appointmentscheduled": "Lead In",
    "qualified to buy": "Qualified",
    "qualifiedtobuy": "Qualified",
    "presentation scheduled": "Proposal",
    "presentationscheduled": "Proposal",
    "decision maker bought-in": "Proposal",
    "decisionmakerboughtin": "Proposal",
    "contract sent": "Negotiation",
    "contractsent": "Negotiation",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
    "lead in": "Lead In",
    "contact made": "Qualified",
    "demo scheduled": "Proposal",
    "needs defined": "Qualified",
    "proposal made": "Proposal",
    "negotiations started": "Negotiation",
}
