"""Territory services: the hierarchy, reps and their assignments, rules and realignment.

How rules place an account (evaluated locally, no server needed): the one rule
in `crmtui.domain.territory_rules` (the server routes web leads with it too);
- an account placed by hand (`territory_pinned`) is never moved by rules, and an
  account no rule matches keeps its territory.

Realigning moves each account to the territory its rules choose, with its contacts
and open deals that were in the account's old territory, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from crmtui.domain.territory_rules import choose_rule, describe_rule
from crmtui.domain.validate import InvalidInput, optional_text, require_text
from crmtui.store.journal import WriteTx
from crmtui.store.models import (
    ROLES,
    TERRITORY_RULE_KINDS,
    Account,
    Contact,
    Deal,
    Rep,
    Territory,
    TerritoryAssignment,
    TerritoryRule,
)
from crmtui.store.resolve import NotFound, get_live


class TerritoryCreate(SQLModel):
    """A new territory, optionally under a parent (name or id)."""

    name: str
    parent: str | None = None
    kind: str | None = None


class RepCreate(SQLModel):
    """A new rep, manager or admin."""

    name: str
    email: str | None = None
    role: str = "rep"


class TerritoryRuleCreate(SQLModel):
    """A rule: accounts matching `kind`/`value` belong to the territory."""

    territory_id: str
    kind: str
    value: str
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Move:
    """One account that realignment moves, and the rule that decided it."""

    account_id: str
    account_name: str
    from_territory_id: str | None
    to_territory_id: str
    rule_id: str
    rule: str


def _session(tx: WriteTx | Session) -> Session:
    return tx.session if isinstance(tx, WriteTx) else tx


def find_territory(tx: WriteTx | Session, ref: str) -> Territory:
    """A live territory by name (case-insensitive) or by id / id prefix."""
    session = _session(tx)
    named = list(
        session.exec(
            select(Territory).where(
                func.lower(Territory.name) == ref.strip().lower(),
                col(Territory.deleted_at).is_(None),
            )
        )
    )
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise NotFound(f"several territories are named {ref!r}; give the id")
    return get_live(session, Territory, ref)


def find_rep(tx: WriteTx | Session, ref: str) -> Rep:
    """A live rep by name or email (case-insensitive) or by id / id prefix."""
    session = _session(tx)
    wanted = ref.strip().lower()
    named = list(
        session.exec(
            select(Rep).where(
                (func.lower(Rep.name) == wanted) | (func.lower(Rep.email) == wanted),
                col(Rep.deleted_at).is_(None),
            )
        )
    )
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise NotFound(f"several reps are called {ref!r}; give the id")
    return get_live(session, Rep, ref)


def current_rep_id(tx: WriteTx | Session, rep_name: str | None) -> str | None:
    """Who "me" is: the rep whose name is `settings.rep_name`, else None."""
    if not rep_name:
        return None
    try:
        return find_rep(tx, rep_name).id
    except NotFound:
        return None


ENROLLED_REP_KEY = "sync_rep_name"
"""`local_meta` key of the rep name this laptop is enrolled as (`crm sync login`)."""


ENROLLED_REP_ID_KEY = "sync_rep_id"
"""`local_meta` key of the server's id of that rep: the id of its `rep` record here."""


def me_rep_id(tx: WriteTx, rep_name: str | None) -> str | None:
    """Who "me" is: the configured rep name, else the one enrolled with the sync server.

    The enrolled rep is its record the server published (same id on every laptop
    and on the server), even when a rep record of this laptop's own has that name.
    """
    enrolled = tx.meta(ENROLLED_REP_ID_KEY)
    if enrolled:
        rep = tx.session.get(Rep, enrolled)
        if (
            rep is not None
            and rep.deleted_at is None
            and (not rep_name or rep.name.strip().lower() == rep_name.strip().lower())
        ):
            return rep.id
    return current_rep_id(tx, rep_name or tx.meta(ENROLLED_REP_KEY))


def create_territory(*, tx: WriteTx, data: TerritoryCreate) -> Territory:
    """Create a territory; names are unique so the CLI can take them."""
    name = require_text(data.name, "name", max_len=80)
    clash = tx.session.exec(
        select(Territory).where(
            func.lower(Territory.name) == name.lower(), col(Territory.deleted_at).is_(None)
        )
    ).first()
    if clash is not None:
        raise InvalidInput("name", f"a territory named {clash.name!r} exists already")
    parent_id = find_territory(tx, data.parent).id if data.parent else None
    territory = Territory(
        name=name, parent_id=parent_id, kind=optional_text(data.kind, "kind", max_len=40)
    )
    tx.add(territory)
    return territory


def create_rep(*, tx: WriteTx, data: RepCreate) -> Rep:
    """Create a rep (a user of the system)."""
    if data.role not in ROLES:
        raise InvalidInput("role", f"{data.role!r} is not one of {', '.join(ROLES)}")
    rep = Rep(
        name=require_text(data.name, "name", max_len=120),
        email=optional_text(data.email, "email", max_len=200),
        role=data.role,
    )
    tx.add(rep)
    return rep


def _assignments(tx: WriteTx, rep: Rep, territory: Territory) -> list[TerritoryAssignment]:
    """The live assignments of a rep to one territory."""
    return list(
        tx.session.exec(
            select(TerritoryAssignment).where(
                TerritoryAssignment.rep_id == rep.id,
                TerritoryAssignment.territory_id == territory.id,
                col(TerritoryAssignment.deleted_at).is_(None),
            )
        )
    )


def assign_rep(*, tx: WriteTx, territory_id: str, rep_id: str) -> TerritoryAssignment:
    """Assign a rep to a territory (a manager then sees its whole subtree)."""
    territory = get_live(tx, Territory, territory_id)
    rep = get_live(tx, Rep, rep_id)
    if _assignments(tx, rep, territory):
        raise InvalidInput("rep", f"{rep.name} is assigned to {territory.name} already")
    assignment = TerritoryAssignment(rep_id=rep.id, territory_id=territory.id)
    tx.add(assignment)
    return assignment


def unassign_rep(*, tx: WriteTx, territory_id: str, rep_id: str) -> None:
    """Remove a rep's assignment to a territory."""
    territory = get_live(tx, Territory, territory_id)
    rep = get_live(tx, Rep, rep_id)
    rows = _assignments(tx, rep, territory)
    if not rows:
        raise InvalidInput("rep", f"{rep.name} is not assigned to {territory.name}")
    for row in rows:
        tx.delete(row)


def _follow(tx: WriteTx, account: Account, old: str | None, new: str | None) -> None:
    """Contacts and open deals that were where the account was go with it."""
    contacts = tx.session.exec(
        select(Contact).where(Contact.account_id == account.id, col(Contact.deleted_at).is_(None))
    ).all()
    for contact in contacts:
        if contact.territory_id in (old, None):
            tx.update(contact, {"territory_id": new})
    deals = tx.session.exec(
        select(Deal).where(
            Deal.account_id == account.id, Deal.status == "open", col(Deal.deleted_at).is_(None)
        )
    ).all()
    for deal in deals:
        if deal.territory_id in (old, None):
            tx.update(deal, {"territory_id": new})


def assign_account(
    *, tx: WriteTx, account_id: str, territory_id: str | None, pin: bool = True
) -> list[str]:
    """Put an account in a territory by hand (pinned: rules leave it there)."""
    account = get_live(tx, Account, account_id)
    new = get_live(tx, Territory, territory_id).id if territory_id else None
    old = account.territory_id
    changed = tx.update(account, {"territory_id": new, "territory_pinned": pin and new is not None})
    if old != new:
        _follow(tx, account, old, new)
    return changed


def _check_rule(kind: str, value: str) -> str:
    if kind not in TERRITORY_RULE_KINDS:
        raise InvalidInput("kind", f"{kind!r} is not one of {', '.join(TERRITORY_RULE_KINDS)}")
    text = require_text(value, "value", max_len=80)
    if kind == "country":
        if len(text) != 2 or not text.isalpha():
            raise InvalidInput("value", "a country rule takes an ISO code such as DE")
        return text.upper()
    if kind in ("employees_min", "employees_max"):
        if not text.isdigit():
            raise InvalidInput("value", f"{kind} takes a whole number")
        return str(int(text))
    if kind == "postcode_prefix":
        return text.upper().replace(" ", "")
    return text


def add_rule(*, tx: WriteTx, data: TerritoryRuleCreate) -> TerritoryRule:
    """Add a rule to a territory."""
    territory = get_live(tx, Territory, data.territory_id)
    rule = TerritoryRule(
        territory_id=territory.id,
        kind=data.kind,
        value=_check_rule(data.kind, data.value),
        priority=data.priority,
    )
    tx.add(rule)
    return rule


def delete_rule(*, tx: WriteTx, rule_id: str) -> TerritoryRule:
    """Remove a rule."""
    rule = get_live(tx, TerritoryRule, rule_id)
    tx.delete(rule)
    return rule


def _depths(territories: list[Territory]) -> dict[str, int]:
    parent = {t.id: t.parent_id for t in territories}
    depth: dict[str, int] = {}
    for tid in parent:
        n, seen, cur = 0, set(), parent.get(tid)
        while cur is not None and cur not in seen:
            seen.add(cur)
            n += 1
            cur = parent.get(cur)
        depth[tid] = n
    return depth


def plan_realign(tx: WriteTx | Session) -> list[Move]:
    """Which unpinned accounts the rules would move, and where (nothing is written)."""
    session = _session(tx)
    territories = list(session.exec(select(Territory).where(col(Territory.deleted_at).is_(None))))
    live = {t.id for t in territories}
    rules = [
        r
        for r in session.exec(select(TerritoryRule).where(col(TerritoryRule.deleted_at).is_(None)))
        if r.territory_id in live
    ]
    if not rules:
        return []
    depth = _depths(territories)
    accounts = session.exec(
        select(Account)
        .where(col(Account.deleted_at).is_(None), col(Account.territory_pinned).is_(False))
        .order_by(col(Account.name), col(Account.id))
    )
    moves = []
    for account in accounts:
        rule = choose_rule(account, rules, depth)
        if rule is not None and rule.territory_id != account.territory_id:
            moves.append(
                Move(
                    account.id,
                    account.name,
                    account.territory_id,
                    rule.territory_id,
                    rule.id,
                    describe_rule(rule),
                )
            )
    return moves


def apply_realign(*, tx: WriteTx) -> list[Move]:
    """Move every account the rules place elsewhere (journaled, one transaction)."""
    moves = plan_realign(tx)
    for move in moves:
        account = get_live(tx, Account, move.account_id)
        tx.update(account, {"territory_id": move.to_territory_id})
        _follow(tx, account, move.from_territory_id, move.to_territory_id)
    return moves
