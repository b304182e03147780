"""Deal services: open, edit, move through stages, win, lose, reopen.

Every stage change appends a `DealStageChange` (from, to, when, who) and sets the
deal's `stage_changed_at`, so the history and the time spent in each stage can be
read back; all of it is journaled with the deal in one transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import SQLModel, col, select

from crmtui.domain.money import MAX_MINOR, BadMoney, check_currency
from crmtui.domain.validate import InvalidInput, optional_text, require_text
from crmtui.services.plan_progress import contact_changed
from crmtui.services.sales.pipelines import (
    CLOSED_CATEGORIES,
    find_pipeline,
    find_stage,
    stage_for_category,
    stages_of,
)
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact, Deal, DealStageChange, Rep, Stage, Territory
from crmtui.store.resolve import get_live


class DealCreate(SQLModel):
    """A new deal; pipeline None means the default one, stage None its first stage."""

    name: str
    account_id: str | None = None
    contact_id: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    amount_minor: int | None = None
    currency: str = "EUR"
    expected_close: date | None = None
    probability: int | None = None
    owner_id: str | None = None
    territory_id: str | None = None
    external_id: str | None = None  # the source CRM's id (an import's)


class DealUpdate(SQLModel):
    """Deal fields to change; unset fields stay (probability=None drops the override)."""

    name: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    expected_close: date | None = None
    probability: int | None = None
    owner_id: str | None = None
    territory_id: str | None = None


def _clean(tx: WriteTx, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            out[key] = require_text(value, "name")
        elif key == "amount_minor":
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInput("amount", "must be 0 or more")
            if value is not None and value > MAX_MINOR:
                raise InvalidInput("amount", f"must be at most {MAX_MINOR} minor units")
            out[key] = value
        elif key == "currency":
            try:
                out[key] = check_currency(value or "")
            except BadMoney as exc:
                raise InvalidInput("currency", str(exc)) from exc
        elif key == "probability":
            if value is not None and (isinstance(value, bool) or not 0 <= value <= 100):
                raise InvalidInput("probability", "must be a whole number from 0 to 100")
            out[key] = value
        elif key in ("account_id", "contact_id", "owner_id", "territory_id"):
            model: Any = {
                "account_id": Account,
                "contact_id": Contact,
                "owner_id": Rep,
                "territory_id": Territory,
            }[key]
            out[key] = get_live(tx, model, value).id if value else None
        elif key == "expected_close":
            out[key] = value
        elif key == "external_id":
            out[key] = optional_text(value, "external id", max_len=120)
        else:
            raise InvalidInput(key, "is not a deal field")
    return out


def _record_change(tx: WriteTx, deal: Deal, from_stage: str | None, by: str | None) -> None:
    tx.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage_id=from_stage,
            to_stage_id=deal.stage_id,
            changed_at=tx.now,
            changed_by=by,
        )
    )


def create_deal(*, tx: WriteTx, data: DealCreate, by: str | None = None) -> Deal:
    """Open a deal in its first (or the given) stage and record that in its history."""
    values = _clean(tx, data.model_dump(exclude={"pipeline", "stage"}))
    pipeline = find_pipeline(tx, data.pipeline)
    if data.stage:
        stage = find_stage(tx, pipeline.id, data.stage)
    else:
        stages = [
            s for s in stages_of(tx, pipeline.id) if s.forecast_category not in CLOSED_CATEGORIES
        ]
        if not stages:
            raise InvalidInput("pipeline", f"{pipeline.name!r} has no open stage")
        stage = stages[0]
    if stage.forecast_category in CLOSED_CATEGORIES:
        raise InvalidInput("stage", "a new deal starts in an open stage")
    if values.get("territory_id") is None and values.get("account_id"):
        # A deal belongs where its account is, so territory scopes find it.
        values["territory_id"] = get_live(tx, Account, values["account_id"]).territory_id
    if values.get("owner_id") is None:
        values["owner_id"] = by
    deal = Deal(pipeline_id=pipeline.id, stage_id=stage.id, stage_changed_at=tx.now, **values)
    tx.add(deal)
    _record_change(tx, deal, None, by)
    return deal


def update_deal(*, tx: WriteTx, deal_id: str, data: DealUpdate) -> list[str]:
    """Change a deal's fields (not its stage: use `move_deal`); returns what changed."""
    deal = get_live(tx, Deal, deal_id)
    values = _clean(tx, data.model_dump(exclude_unset=True))
    if "amount_minor" in values or values.get("currency", deal.currency) != deal.currency:
        from crmtui.services.sales.deal_lines import deal_has_lines

        if deal_has_lines(tx, deal.id):
            if values.get("currency", deal.currency) != deal.currency:
                raise InvalidInput(
                    "currency", f"the deal's lines are priced in {deal.currency}; remove them first"
                )
            # A typed amount over lines overrides their sum (`crm deal line use-sum` undoes it).
            values["amount_override"] = True
    return tx.update(deal, values)


def _move(tx: WriteTx, deal: Deal, stage: Stage, by: str | None, extra: dict[str, Any]) -> None:
    before = deal.stage_id
    tx.update(deal, {"stage_id": stage.id, "stage_changed_at": tx.now, **extra})
    _record_change(tx, deal, before, by)
    contact_changed(tx, deal.contact_id)  # a won or lost deal ends the contact's plans


def move_deal(
    *, tx: WriteTx, deal_id: str, stage: str, by: str | None = None, reason: str | None = None
) -> Deal:
    """Move an open deal to another stage; a closed stage wins or loses it (lost needs a reason)."""
    deal = get_live(tx, Deal, deal_id)
    target = find_stage(tx, deal.pipeline_id, stage)
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status}; reopen it first")
    if target.id == deal.stage_id:
        raise InvalidInput("stage", f"the deal is in {target.name!r} already")
    if target.forecast_category == "closed_won":
        return win_deal(tx=tx, deal_id=deal.id, by=by, stage=target)
    if target.forecast_category == "closed_lost":
        return lose_deal(tx=tx, deal_id=deal.id, reason=reason or "", by=by, stage=target)
    _move(tx, deal, target, by, {})
    return deal


def win_deal(
    *, tx: WriteTx, deal_id: str, by: str | None = None, stage: Stage | None = None
) -> Deal:
    """Mark an open deal won: it moves to the pipeline's closed-won stage."""
    deal = get_live(tx, Deal, deal_id)
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status} already")
    target = stage or stage_for_category(tx, deal.pipeline_id, "closed_won")
    _move(tx, deal, target, by, {"status": "won", "closed_at": tx.now, "lost_reason": None})
    return deal


def lose_deal(
    *, tx: WriteTx, deal_id: str, reason: str, by: str | None = None, stage: Stage | None = None
) -> Deal:
    """Mark an open deal lost with a reason: it moves to the closed-lost stage."""
    deal = get_live(tx, Deal, deal_id)
    text = optional_text(reason, "reason", max_len=500)
    if text is None:
        raise InvalidInput("reason", "say why the deal was lost (--reason)")
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status} already")
    target = stage or stage_for_category(tx, deal.pipeline_id, "closed_lost")
    _move(tx, deal, target, by, {"status": "lost", "closed_at": tx.now, "lost_reason": text})
    return deal


def reopen_deal(
    *, tx: WriteTx, deal_id: str, stage: str | None = None, by: str | None = None
) -> Deal:
    """Reopen a won or lost deal, back in the open stage it left (or the given one)."""
    deal = get_live(tx, Deal, deal_id)
    if deal.status == "open":
        raise InvalidInput("deal", "this deal is open already")
    if stage is not None:
        target = find_stage(tx, deal.pipeline_id, stage)
    else:
        target = _last_open_stage(tx, deal)
    if target.forecast_category in CLOSED_CATEGORIES:
        raise InvalidInput("stage", "reopen into an open stage")
    _move(tx, deal, target, by, {"status": "open", "closed_at": None, "lost_reason": None})
    return deal


def _last_open_stage(tx: WriteTx, deal: Deal) -> Stage:
    history = tx.session.exec(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal.id, col(DealStageChange.deleted_at).is_(None))
        .order_by(col(DealStageChange.changed_at).desc(), col(DealStageChange.id).desc())
    )
    for change in history:
        stage = tx.session.get(Stage, change.to_stage_id)
        if stage and stage.deleted_at is None and stage.forecast_category not in CLOSED_CATEGORIES:
            return stage
    open_stages = [
        s for s in stages_of(tx, deal.pipeline_id) if s.forecast_category not in CLOSED_CATEGORIES
    ]
    if not open_stages:
        raise InvalidInput("pipeline", "has no open stage to reopen the deal in")
    return open_stages[0]


def delete_deal(*, tx: WriteTx, deal_id: str) -> Deal:
    """Tombstone a deal (restorable; journaled for sync)."""
    deal = get_live(tx, Deal, deal_id)
    tx.delete(deal)
    return deal


def import_deal(
    *,
    tx: WriteTx,
    data: DealCreate,
    stage: Stage,
    closed_on: date | None = None,
    lost_reason: str | None = None,
    by: str | None = None,
) -> Deal:
    """A deal from another CRM, in any stage: a closed stage makes it won or lost as is.

    Unlike `create_deal`, an imported deal may start closed (its history came from
    elsewhere); its close date, when known, is when it closed.
    """
    values = _clean(tx, data.model_dump(exclude={"pipeline", "stage"}))
    status = {"closed_won": "won", "closed_lost": "lost"}.get(stage.forecast_category, "open")
    if values.get("territory_id") is None and values.get("account_id"):
        values["territory_id"] = get_live(tx, Account, values["account_id"]).territory_id
    if values.get("owner_id") is None:
        values["owner_id"] = by
    closed_at = None
    if status != "open":
        closed_at = datetime.combine(closed_on, time(), UTC) if closed_on else tx.now
    reason = optional_text(lost_reason, "lost reason", max_len=500) if status == "lost" else None
    deal = Deal(
        pipeline_id=stage.pipeline_id,
        stage_id=stage.id,
        stage_changed_at=tx.now,
        status=status,
        closed_at=closed_at,
        lost_reason=reason or ("imported as lost" if status == "lost" else None),
        **values,
    )
    tx.add(deal)
    _record_change(tx, deal, None, by)
    return deal
