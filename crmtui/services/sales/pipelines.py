"""Pipeline and stage services: the default "Sales" pipeline, adding and editing stages.

The default pipeline and its stages have fixed ids (made by the 0002 migration on
every replica), so `DEFAULT_PIPELINE_ID` and `DEFAULT_STAGES` name the same rows on
every laptop and on the server.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from crmtui.domain.validate import InvalidInput, require_text
from crmtui.store.journal import WriteTx
from crmtui.store.models import FORECAST_CATEGORIES, Deal, Pipeline, Stage
from crmtui.store.resolve import NotFound, get_live


class DefaultStage(NamedTuple):
    """One stage of the default pipeline, as the 0002 migration creates it."""

    id: str
    name: str
    probability: int
    forecast_category: str
    stale_after_days: int | None


DEFAULT_PIPELINE_ID = "00000000-0000-7000-8000-000000000001"
DEFAULT_PIPELINE_NAME = "Sales"
DEFAULT_STAGES: tuple[DefaultStage, ...] = (
    DefaultStage("00000000-0000-7000-8000-000000000101", "Lead In", 10, "pipeline", 14),
    DefaultStage("00000000-0000-7000-8000-000000000102", "Qualified", 20, "pipeline", 21),
    DefaultStage("00000000-0000-7000-8000-000000000103", "Proposal", 50, "best_case", 21),
    DefaultStage("00000000-0000-7000-8000-000000000104", "Negotiation", 75, "commit", 14),
    DefaultStage("00000000-0000-7000-8000-000000000105", "Closed Won", 100, "closed_won", None),
    DefaultStage("00000000-0000-7000-8000-000000000106", "Closed Lost", 0, "closed_lost", None),
)
CLOSED_CATEGORIES = ("closed_won", "closed_lost")


class PipelineCreate(SQLModel):
    """A new pipeline; it starts without stages."""

    name: str
    is_default: bool = False


class StageCreate(SQLModel):
    """A new stage; `position` None puts it before the closed stages."""

    pipeline_id: str = DEFAULT_PIPELINE_ID
    name: str
    probability: int = 0
    forecast_category: str = "pipeline"
    stale_after_days: int | None = None
    position: int | None = None


class StageUpdate(SQLModel):
    """Stage fields to change; unset fields stay (stale_after_days=None clears the limit)."""

    name: str | None = None
    probability: int | None = None
    forecast_category: str | None = None
    stale_after_days: int | None = None
    position: int | None = None


def _session(tx: WriteTx | Session) -> Session:
    return tx.session if isinstance(tx, WriteTx) else tx


def _check_stage_values(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "name" in out:
        out["name"] = require_text(out["name"], "name", max_len=60)
    if "probability" in out:
        p = out["probability"]
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 100:
            raise InvalidInput("probability", "must be a whole number from 0 to 100")
    if "forecast_category" in out and out["forecast_category"] not in FORECAST_CATEGORIES:
        raise InvalidInput(
            "forecast_category",
            f"{out['forecast_category']!r} is not one of {', '.join(FORECAST_CATEGORIES)}",
        )
    if out.get("stale_after_days") is not None and not 0 < out["stale_after_days"] <= 36_600:
        raise InvalidInput("stale_after_days", "must be a whole number of days from 1 to 36600")
    return out


def default_pipeline(tx: WriteTx | Session) -> Pipeline:
    """The default pipeline (the fixed "Sales" one unless another was made default)."""
    session = _session(tx)
    stmt = (
        select(Pipeline)
        .where(col(Pipeline.is_default), col(Pipeline.deleted_at).is_(None))
        .order_by(col(Pipeline.position))
    )
    found = session.exec(stmt).first() or session.get(Pipeline, DEFAULT_PIPELINE_ID)
    if found is None:
        raise NotFound("there is no default pipeline (run `crm db upgrade`)")
    return found


def find_pipeline(tx: WriteTx | Session, ref: str | None) -> Pipeline:
    """A pipeline by name (case-insensitive) or id prefix; None means the default one."""
    if ref is None:
        return default_pipeline(tx)
    session = _session(tx)
    by_name = session.exec(
        select(Pipeline).where(
            func.lower(Pipeline.name) == ref.strip().lower(), col(Pipeline.deleted_at).is_(None)
        )
    ).first()
    return by_name or get_live(session, Pipeline, ref)


def stages_of(tx: WriteTx | Session, pipeline_id: str) -> list[Stage]:
    """The live stages of a pipeline in board order."""
    stmt = (
        select(Stage)
        .where(Stage.pipeline_id == pipeline_id, col(Stage.deleted_at).is_(None))
        .order_by(col(Stage.position))
    )
    return list(_session(tx).exec(stmt))


def find_stage(tx: WriteTx | Session, pipeline_id: str, ref: str) -> Stage:
    """A stage of the pipeline by name (case-insensitive), or by id or id prefix."""
    wanted = ref.strip().lower()
    stages = stages_of(tx, pipeline_id)
    for stage in stages:
        if stage.name.lower() == wanted:
            return stage
    matches = [
        s for s in stages if s.id == wanted or (len(wanted) >= 6 and s.id.startswith(wanted))
    ]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(s.name for s in stages)
    raise NotFound(f"no stage {ref!r} in this pipeline (stages: {names})")


def stage_for_category(tx: WriteTx | Session, pipeline_id: str, category: str) -> Stage:
    """The first stage of a pipeline in a forecast category (e.g. closed_won)."""
    for stage in stages_of(tx, pipeline_id):
        if stage.forecast_category == category:
            return stage
    raise InvalidInput("pipeline", f"has no stage in the forecast category {category!r}")


def create_pipeline(*, tx: WriteTx, data: PipelineCreate) -> Pipeline:
    """Create a pipeline (without stages); making it default unsets the old default."""
    name = require_text(data.name, "name", max_len=60)
    existing = tx.session.exec(
        select(Pipeline).where(
            func.lower(Pipeline.name) == name.lower(), col(Pipeline.deleted_at).is_(None)
        )
    ).first()
    if existing is not None:
        raise InvalidInput("name", f"a pipeline named {existing.name!r} exists already")
    count = len(list(tx.session.exec(select(Pipeline.id))))
    if data.is_default:
        for old in tx.session.exec(select(Pipeline).where(col(Pipeline.is_default))):
            tx.update(old, {"is_default": False})
    pipeline = Pipeline(name=name, is_default=data.is_default, position=count)
    tx.add(pipeline)
    return pipeline


def _renumber(tx: WriteTx, stages: list[Stage]) -> None:
    # Positions are kept dense (0, 1, 2 ...) so "move to 2" means what it says.
    for position, stage in enumerate(stages):
        tx.update(stage, {"position": position})


def add_stage(*, tx: WriteTx, data: StageCreate) -> Stage:
    """Add a stage to a pipeline; by default it goes before the closed stages."""
    pipeline = get_live(tx, Pipeline, data.pipeline_id)
    values = _check_stage_values(data.model_dump(exclude={"pipeline_id", "position"}))
    stages = stages_of(tx, pipeline.id)
    if any(s.name.lower() == values["name"].lower() for s in stages):
        raise InvalidInput("name", f"this pipeline has a stage named {values['name']!r} already")
    if data.position is None:
        open_count = sum(1 for s in stages if s.forecast_category not in CLOSED_CATEGORIES)
        position = open_count
    else:
        position = max(0, min(data.position, len(stages)))
    stage = Stage(pipeline_id=pipeline.id, position=position, **values)
    stages.insert(position, stage)
    tx.add(stage)
    _renumber(tx, stages)
    return stage


def update_stage(*, tx: WriteTx, stage_id: str, data: StageUpdate) -> list[str]:
    """Change a stage's name, probability, category, stale limit or position."""
    stage = get_live(tx, Stage, stage_id)
    values = _check_stage_values(data.model_dump(exclude_unset=True))
    position = values.pop("position", None)
    if "name" in values:
        for other in stages_of(tx, stage.pipeline_id):
            if other.id != stage.id and other.name.lower() == values["name"].lower():
                raise InvalidInput("name", f"this pipeline has a stage named {other.name!r}")
    changed = tx.update(stage, values)
    if position is not None:
        stages = [s for s in stages_of(tx, stage.pipeline_id) if s.id != stage.id]
        stages.insert(max(0, min(position, len(stages))), stage)
        before = stage.position
        _renumber(tx, stages)
        if stage.position != before:
            changed.append("position")
    return changed


def delete_stage(*, tx: WriteTx, stage_id: str) -> Stage:
    """Remove a stage that no live deal is in."""
    stage = get_live(tx, Stage, stage_id)
    in_use = tx.session.exec(
        select(func.count())
        .select_from(Deal)
        .where(Deal.stage_id == stage.id, col(Deal.deleted_at).is_(None))
    ).one()
    if in_use:
        raise InvalidInput("stage", f"{in_use} deal(s) are in {stage.name!r}; move them first")
    tx.delete(stage)
    _renumber(tx, stages_of(tx, stage.pipeline_id))
    return stage
