"""Contacts in two-way sync with a CardDAV address book.

One round, in this order:
1. every linked card the phone changed (its ETag is not the one we kept) is read and
   compared with the card last synced; only the fields it changed are written, through
   the contact services, so they are journaled and pushed like any edit. A field
   changed on both sides goes to the later change (the card's REV against the time of
   our last journaled change of that field; a card without REV counts as changed at
   this sync), and the value that lost is kept in `crm conflicts`, restorable;
   phones, emails and addresses merge as sets (each side's additions and removals);
2. every linked contact changed here is written to its card, over the ETag we hold
   (412: the phone changed it meanwhile; the next round merges);
3. a card deleted on the phone never deletes the contact: the contact is archived
   (journaled, reversible) and listed, and stays off the phone until it is unarchived;
4. a card new on the phone becomes a contact (or is linked to the contact whose UID
   it carries); a contact new in scope becomes a card. A contact deleted here or
   leaving the scope has its card removed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from crmtui.dav.cards import CardChanges, CardView, card_view, changes
from crmtui.dav.client import VCARD_TYPE, DavClient, DavError
from crmtui.domain.validate import InvalidInput
from crmtui.formats.countries import country_code
from crmtui.formats.vcards import contact_cards, tel_text
from crmtui.services import contact_items as items
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    archive_contact,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.dav_state import DavLink
from crmtui.store.journal import WriteTx
from crmtui.store.models import Contact, JournalOp
from crmtui.store.sync_state import SyncConflict

CARD = "card"
FROM_PHONE = "carddav"
"""The `source` of a contact made from a card new on the phone."""
LINK_BATCH = 100
"""New cards' links kept per commit in a first round."""
MASS_DELETE = 10
"""More cards than this (and over half of them) gone at once is asked about, not archived."""
_ENTITY = {"phones": "contact_phone", "emails": "contact_email", "addresses": "contact_address"}
_LIVE: dict[str, Callable[[WriteTx, str], list[Any]]] = {
    "phones": items.phones_of,
    "emails": items.emails_of,
    "addresses": items.addresses_of,
}
_COLUMN = {"name": "name", "title": "title", "department": "department", "nickname": "nickname"}
_COLUMN |= {"website": "website", "notes": "notes", "birthday": "birthday", "tags": "tags"}


@dataclass
class MassDelete(Exception):
    """Many cards vanished at once (a wiped or swapped address book): asked, not archived."""

    def __init__(self, gone: int, linked: int) -> None:
        super().__init__(f"{gone} of {linked} cards are gone from the address book")
        self.gone = gone
        self.linked = linked


@dataclass
class Report:
    """What one round did, for the command's summary and the tests."""

    from_phone: list[str] = field(default_factory=list)
    """Contacts the phone changed (names)."""
    to_phone: int = 0
    new_from_phone: list[str] = field(default_factory=list)
    new_to_phone: int = 0
    archived: list[str] = field(default_factory=list)
    """Contacts archived because their card was deleted on the phone."""
    removed: int = 0
    kept_both: list[str] = field(default_factory=list)
    """ "name: field" edited on both sides (the later won, the other is in crm conflicts)."""
    retry: list[str] = field(default_factory=list)
    """Cards that changed on the server during this round (merged at the next)."""
    unreadable: list[str] = field(default_factory=list)


def scope_sql(tag: str | None, territory: str | None) -> tuple[str, tuple[Any, ...]]:
    """The SQL condition (on `contact c`) of the contacts kept on the phone.

    Contacts made from a phone's card stay in scope whatever their tag or territory:
    else a card new on the phone would become a contact and be removed from the phone
    at the next round.
    """
    where: list[str] = []
    params: list[Any] = []
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = ?)")
        params.append(tag)
    if territory:
        where.append("c.territory_id = ?")
        params.append(territory)
    chosen = " AND ".join(where) or "1 = 1"
    return f"c.archived_at IS NULL AND (({chosen}) OR c.source = '{FROM_PHONE}')", tuple(params)


def _links(store: Store, kind: str) -> dict[str, DavLink]:
    with store.read() as s:
        return {
            link.record_key: link for link in s.exec(select(DavLink).where(DavLink.kind == kind))
        }


def save_link(tx: WriteTx, link: DavLink) -> None:
    """Write a link (local bookkeeping: no journal)."""
    tx.session.merge(link)


def drop_link(tx: WriteTx, kind: str, key: str) -> None:
    """Forget a link."""
    found = tx.session.get(DavLink, (kind, key))
    if found is not None:
        tx.session.delete(found)


def _last_change(tx: WriteTx, contact_id: str, column: str) -> datetime | None:
    stamp = tx.session.exec(
        select(JournalOp.created_at)
        .where(JournalOp.entity == "contact", JournalOp.row_id == contact_id)
        .where(JournalOp.field == column)
        .order_by(JournalOp.created_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    if stamp is None:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _scalar_value(name: str, text: str) -> Any:
    if name == "tags":
        return [t for t in text.split(",") if t]
    if name == "birthday":
        return text or None
    return text


def _item_values(name: str, key: tuple[str, ...], raw: list[Any], region: str) -> dict[str, Any]:
    """Clean item values for a view key, from the card's own item (as typed)."""
    if name == "phones":
        typed = next((n for k, n, _ in raw if (k, _digits(n)) == key), key[1])
        return items.clean_phone(key[0], typed, None, region=region)
    if name == "emails":
        return items.clean_email(key[0], key[1])
    match: dict[str, Any] = next(
        (
            a
            for a in raw
            if tuple(
                " ".join(str(a.get(p) or "").split()).lower()
                for p in ("kind", "street", "city", "region", "postcode", "country")
            )
            == key
        ),
        {},
    )
    parts = {p: (match.get(p) or None) for p in ("street", "city", "region", "postcode")}
    country = str(match.get("country") or "").strip()
    parts["country"] = country_code(country) if country else None
    return items.clean_address(key[0], parts)


def _digits(number: str) -> str:
    return ("+" if number.strip().startswith("+") else "") + "".join(
        ch for ch in number if ch.isdigit()
    )


def _row_ident(name: str, row: Any) -> tuple[str, ...]:
    """What makes a stored item the same as a card's, the kind aside.

    A card's kind does not always come back as stored ("other" is written VOICE and read
    as "work"), so items are matched by their number, address or place alone.
    """
    if name == "phones":
        return (_digits(tel_text(row)),)
    if name == "emails":
        return (row.address.strip().lower(),)
    return tuple(
        " ".join(str(getattr(row, p, None) or "").split()).lower()
        for p in ("street", "city", "region", "postcode", "country")
    )


def _key_ident(key: tuple[str, ...]) -> tuple[str, ...]:
    """`_row_ident` of a card view's item key (its kind is first)."""
    return key[1:]


def apply_phone_edit(
    tx: WriteTx,
    contact_id: str,
    phone: CardView,
    ours: CardChanges,
    theirs: CardChanges,
    *,
    region: str,
    phone_time: datetime,
) -> list[str]:
    """Write the phone's changes (`theirs`) to the contact; returns fields edited on both sides.

    `phone_time` is when the phone's edit was made, as far as we can tell (its REV).
    """
    both: list[str] = []
    update: dict[str, Any] = {}
    for name, value in theirs.scalars.items():
        if name in ours.scalars and ours.scalars[name] != value:
            column = _COLUMN.get(name, "account_id")
            local_time = _last_change(tx, contact_id, column)
            both.append(name)
            if local_time is not None and local_time > phone_time:
                _set_aside(tx, contact_id, name, kept=ours.scalars[name], lost=value)
                continue  # ours is later: it stays, and goes to the phone
            _set_aside(tx, contact_id, name, kept=value, lost=ours.scalars[name])
        update[name] = _scalar_value(name, value)
    if update:
        update_contact(
            tx=tx, contact_id=contact_id, data=ContactUpdate.model_validate(update), region=region
        )
    edit = items.ItemEdit()
    for name, entity in _ENTITY.items():
        live = _LIVE[name](tx, contact_id)
        gone = {_key_ident(key) for key in theirs.removed.get(name, set())}
        removed = [row for row in live if _row_ident(name, row) in gone]
        edit.remove += [(entity, row.id) for row in removed]
        have = {_row_ident(name, row) for row in live if row not in removed}
        for key in theirs.added.get(name, set()):
            if _key_ident(key) not in have:
                have.add(_key_ident(key))
                edit.add.append(
                    (entity, _item_values(name, key, phone.raw_items[name], region), None)
                )
    if edit:
        items.edit_items(tx, contact_id, edit)
    return both


def _set_aside(tx: WriteTx, contact_id: str, name: str, *, kept: str, lost: str) -> None:
    """Keep the value that lost in `crm conflicts` (restorable when it is a column)."""
    import json

    column = _COLUMN.get(name)
    if column is None:
        return  # the company is an account link: the later one wins, nothing to restore

    def encode(text: str) -> str:
        return json.dumps(_scalar_value(name, text))

    tx.session.add(
        SyncConflict(
            kind="overwritten",
            entity="contact",
            row_id=contact_id,
            field=column,
            kept_value=encode(kept),
            other_value=encode(lost),
        )
    )


def _create_from(tx: WriteTx, view: CardView, region: str) -> Contact:
    s = view.scalars
    raw = view.raw_items
    phones: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    data = ContactCreate(
        name=s["name"],
        company=s["company"] or None,
        title=s["title"] or None,
        department=s["department"] or None,
        nickname=s["nickname"] or None,
        website=s["website"] or None,
        notes=s["notes"] or None,
        tags=[t for t in s["tags"].split(",") if t],
        birthday=s["birthday"] or None,  # type: ignore[arg-type]
        source=FROM_PHONE,
        source_uid=view.uid,
    )
    contact = create_contact(tx=tx, data=data, region=region)
    for name in ("phones", "emails", "addresses"):
        for key in view.items[name]:
            values = _item_values(name, key, raw.get(name, []), region)
            (phones if name == "phones" else emails if name == "emails" else addresses).append(
                values
            )
    add: list[tuple[str, dict[str, Any], bool | None]] = [
        *(("contact_phone", v, None) for v in phones),
        *(("contact_email", v, None) for v in emails),
        *(("contact_address", v, None) for v in addresses),
    ]
    edit = items.ItemEdit(add=add)
    if edit:
        items.edit_items(tx, contact.id, edit)
    return contact


def _read(store: Store, where: str, params: tuple[Any, ...]) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return contact_cards(conn, where, params)
    finally:
        conn.close()


def _name(store: Store, contact_id: str) -> str:
    with store.read() as s:
        row = s.get(Contact, contact_id)
        return row.name if row is not None else contact_id


def sync_cards(
    store: Store,
    client: DavClient,
    book: str,
    *,
    scope: tuple[str, tuple[Any, ...]],
    region: str,
    now: Callable[[], datetime],
    accept_deletes: bool = False,
) -> Report:
    """One round of the address book's two-way sync (see the module's docstring).

    Raises MassDelete, before writing anything, when more than MASS_DELETE cards and
    over half of those linked are gone, unless `accept_deletes`.
    """
    report = Report()
    remote = client.listing(book)
    links = _links(store, CARD)
    synced = [link for link in links.values() if link.state == "synced"]
    gone = sum(1 for link in synced if link.href not in remote)
    if not accept_deletes and gone > MASS_DELETE and gone * 2 > len(synced):
        raise MassDelete(gone, len(synced))
    local = _read(store, *scope)
    by_href = {link.href: link for link in links.values()}
    for key, link in links.items():
        if link.state != "synced":
            remote.pop(link.href, None)
            if key in local:  # unarchived here since: it goes back to the phone
                _put_new(store, client, link.href, key, local.pop(key), report)
            continue
        if link.href not in remote:
            _phone_deleted(store, link, report)
            local.pop(key, "")
            continue
        etag = remote.pop(link.href)
        text: str | None = local.pop(key) if key in local else None
        try:
            if text is None:
                client.delete(link.href, etag)
                with store.write() as tx:
                    drop_link(tx, CARD, key)
                report.removed += 1
            elif etag != link.etag:
                _merge_phone(store, client, link, text, region, now(), report)
            elif _differs(text, link.body):
                new_etag = client.put(link.href, text, VCARD_TYPE, link.etag)
                _relink(store, link, text, new_etag)
                report.to_phone += 1
        except DavError as exc:
            if exc.kind != "changed":
                raise
            report.retry.append(_name(store, key))
    for href, _etag in remote.items():
        if href in by_href:
            continue
        _new_from_phone(store, client, href, book, local, region, report)
    # New cards' links are kept in batches (one commit per LINK_BATCH, not per card): a
    # round stopped between a PUT and its link finds the card again by its UID (the
    # contact id) and links it then.
    batch: list[DavLink] = []
    for key, text in local.items():
        if _put_new(store, client, f"{book}{key}.vcf", key, text, report, batch):
            report.new_to_phone += 1
        if len(batch) >= LINK_BATCH:
            _save_links(store, batch)
    _save_links(store, batch)
    return report


def _save_links(store: Store, batch: list[DavLink]) -> None:
    if batch:
        with store.write() as tx:
            for link in batch:
                save_link(tx, link)
        batch.clear()


def _differs(a: str, b: str) -> bool:
    if a == b:
        return False  # the same text (a contact untouched since: its REV is the same too)
    va, vb = card_view(a), card_view(b)
    if isinstance(va, str) or isinstance(vb, str):
        return a != b
    return not va.same_content(vb)


def _relink(store: Store, link: DavLink, body: str, etag: str | None) -> None:
    with store.write() as tx:
        save_link(
            tx,
            DavLink(
                kind=link.kind, record_key=link.record_key, href=link.href, etag=etag, body=body
            ),
        )


def _put_new(
    store: Store,
    client: DavClient,
    href: str,
    key: str,
    text: str,
    report: Report,
    batch: list[DavLink] | None = None,
) -> bool:
    """Write a new card; its link now, or into `batch`. False: the href was taken meanwhile."""
    try:
        etag = client.put(href, text, VCARD_TYPE, None)
    except DavError as exc:
        if exc.kind != "changed":
            raise
        report.retry.append(_name(store, key))
        return False
    link = DavLink(kind=CARD, record_key=key, href=href, etag=etag, body=text)
    if batch is None:
        _save_links(store, [link])
    else:
        batch.append(link)
    return True


def _phone_deleted(store: Store, link: DavLink, report: Report) -> None:
    """The phone deleted the card: archive the contact (never delete it) and list it."""
    with store.write() as tx:
        contact = tx.session.get(Contact, link.record_key)
        if contact is not None and contact.deleted_at is None and contact.archived_at is None:
            archive_contact(tx=tx, contact_id=contact.id)
            report.archived.append(contact.name)
        found = tx.session.get(DavLink, (CARD, link.record_key))
        if found is not None:
            found.state = "phone_deleted"
            found.synced_at = tx.now
            tx.session.add(found)


def _merge_phone(
    store: Store,
    client: DavClient,
    link: DavLink,
    ours_text: str,
    region: str,
    now: datetime,
    report: Report,
) -> None:
    phone_text, etag = client.get(link.href)
    phone, base, ours = card_view(phone_text), card_view(link.body), card_view(ours_text)
    if isinstance(phone, str) or isinstance(base, str) or isinstance(ours, str):
        report.unreadable.append(f"{link.href}: {phone if isinstance(phone, str) else base}")
        return
    theirs_changes, ours_changes = changes(base, phone), changes(base, ours)
    if theirs_changes:
        try:
            with store.write() as tx:
                both = apply_phone_edit(
                    tx,
                    link.record_key,
                    phone,
                    ours_changes,
                    theirs_changes,
                    region=region,
                    # A phone that left our REV as it was says nothing of when it edited.
                    phone_time=phone.rev if phone.rev and phone.rev != base.rev else now,
                )
        except InvalidInput as exc:
            report.unreadable.append(f"{link.href}: {exc.message}")
            return
        name = _name(store, link.record_key)
        report.from_phone.append(name)
        report.kept_both += [f"{name}: {f}" for f in both]
    merged = _read(store, "c.id = ?", (link.record_key,)).get(link.record_key, ours_text)
    merged_view = card_view(merged)
    if not isinstance(merged_view, str) and not merged_view.same_content(phone):
        etag = client.put(link.href, merged, VCARD_TYPE, etag)
        report.to_phone += 1
    _relink(store, link, merged, etag)


def _new_from_phone(
    store: Store,
    client: DavClient,
    href: str,
    book: str,
    local: dict[str, str],
    region: str,
    report: Report,
) -> None:
    text, etag = client.get(href)
    view = card_view(text)
    if isinstance(view, str):
        report.unreadable.append(f"{href}: {view}")
        return
    try:
        with store.write() as tx:
            known = None
            if view.uid:
                known = tx.session.exec(
                    select(Contact).where(
                        (Contact.id == view.uid) | (Contact.source_uid == view.uid),
                        Contact.deleted_at.is_(None),  # type: ignore[union-attr]
                    )
                ).first()
            if known is not None and tx.session.get(DavLink, (CARD, known.id)) is None:
                # Our own card (a reinstall) or one we imported: link, and the next round
                # writes our version over it if they differ.
                key = known.id
                local.pop(key, None)
            else:
                contact = _create_from(tx, view, region)
                key = contact.id
                report.new_from_phone.append(contact.name)
            save_link(tx, DavLink(kind=CARD, record_key=key, href=href, etag=etag, body=text))
    except InvalidInput as exc:
        report.unreadable.append(f"{href}: {exc.message}")
