"""The words a quote PDF prints around the data, in the customer's language.

Label sets: en, de, fr, cs. A language without a set (or none given) prints English;
`labels_for` says which set it used so the command can tell the user. Which language a
customer reads is the config's (`quote_language`, `quote_languages`): the deal's
contact, then its account, then the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FALLBACK = "en"
LABEL_SETS: dict[str, dict[str, str]] = {
    "en": {
        "quote": "Quote", "date": "Date", "valid": "Valid until", "to": "For", "sku": "SKU",
        "description": "Description", "quantity": "Qty", "price": "Unit price",
        "discount": "Disc.", "tax": "Tax", "net": "Net", "terms": "Terms", "total": "Total",
    },
    "de": {
        "quote": "Angebot", "date": "Datum", "valid": "Gültig bis", "to": "Für",
        "sku": "Art.-Nr.", "description": "Beschreibung", "quantity": "Menge",
        "price": "Einzelpreis", "discount": "Rabatt", "tax": "USt.", "net": "Netto",
        "terms": "Bedingungen", "total": "Gesamt",
    },
    "fr": {
        "quote": "Devis", "date": "Date", "valid": "Valable jusqu'au", "to": "Pour",
        "sku": "Réf.", "description": "Désignation", "quantity": "Qté",
        "price": "Prix unitaire", "discount": "Remise", "tax": "TVA", "net": "Total HT",
        "terms": "Conditions", "total": "Total TTC",
    },
    "cs": {
        "quote": "Nabídka", "date": "Datum", "valid": "Platnost do", "to": "Pro",
        "sku": "Kód", "description": "Popis", "quantity": "Počet",
        "price": "Jedn. cena", "discount": "Sleva", "tax": "DPH", "net": "Bez DPH",
        "terms": "Podmínky", "total": "Celkem",
    },
}  # fmt: skip
"""Every set has every key of the English one (a test checks)."""


def labels_for(language: str | None) -> tuple[str, dict[str, str]]:
    """The label set for a language tag ("de", "de-AT", "FR"); English when there is none."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if code in LABEL_SETS:
        return code, LABEL_SETS[code]
    return FALLBACK, LABEL_SETS[FALLBACK]


def customer_language(
    choices: Mapping[str, str], default: str | None, *, contact: Iterable[str | None],
    account: Iterable[str | None],
) -> str | None:  # fmt: skip
    """The language the config gives the customer: the contact's (by id, name or email),
    then the account's (by id or name), then the default. Keys compare without case."""
    folded = {key.strip().casefold(): value for key, value in choices.items()}
    for keys in (contact, account):
        for key in keys:
            if key and key.strip().casefold() in folded:
                return folded[key.strip().casefold()]
    return default
