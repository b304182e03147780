"""Builds a contact's search entry from its row; used by every service that changes one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmtui.search.search_index import SearchDocument, index_document, unindex
from crmtui.services.contact_items import searched_values
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact

Items = tuple[list[str], list[tuple[str | None, str | None]]]
"""A contact's live emails, and its phones (as typed, E.164), in the order they were made."""


def contact_document(
    contact: Contact, company: str | None, items: Items | None = None
) -> SearchDocument:
    """The searchable text of a contact: its primaries and every phone and email item."""
    return row_document({f: getattr(contact, f) for f in _DOCUMENT_FIELDS}, company, items)


_DOCUMENT_FIELDS = (
    "id", "name", "email", "phone", "phone_e164", "mobile", "mobile_e164", "city", "tags",
    "archived_at",
)  # fmt: skip


def row_document(
    row: Mapping[str, Any], company: str | None, items: Items | None = None
) -> SearchDocument:
    """`contact_document` of a contact given as its columns (an import's rows at hand)."""
    phones = [(row["phone"], row["phone_e164"]), (row["mobile"], row["mobile_e164"])]
    emails = [row["email"]] if row["email"] else []
    if items is not None:
        emails += [e for e in items[0] if e not in emails]
        phones += [p for p in items[1] if p not in phones]
    return SearchDocument(
        ref_id=row["id"],
        name=row["name"],
        company=company,
        email=" ".join(emails) or None,
        phones=phones,
        city=row["city"],
        tags=tuple(row["tags"] or ()),
        archived=row["archived_at"] is not None,
    )


def reindex_contact(tx: WriteTx, contact: Contact) -> None:
    """Bring a contact's search entry in step with its row (removing it when deleted)."""
    if contact.deleted_at is not None:
        unindex(tx.db, contact.id)
        return
    tx.session.flush()
    company = None
    if contact.account_id:
        # Its name only, read after the flush (so as this write left it): loading the
        # Account object cost ~0.5 ms of a contact edit (the write target is 10 ms).
        found = tx.db.execute(
            f"SELECT name FROM {Account.__tablename__} WHERE id = ? AND deleted_at IS NULL",
            (contact.account_id,),
        ).fetchone()
        company = found[0] if found is not None else None
    items = searched_values(tx.db, [contact.id]).get(contact.id)
    index_document(tx.db, contact_document(contact, company, items))
