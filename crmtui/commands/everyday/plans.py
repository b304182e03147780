"""`crm plan ...`: follow-up plans (sequences) from the shell.

`add` publishes a plan file (a new version when it changed), `list` and `show`
read the catalogue, `enrol` puts contacts on a plan, `status` shows where each
enrolment is and why, `stats` counts per step (reach, connects, exits), `stop`
takes a contact off, `migrate` (an admin's step)
moves running enrolments to the newest version.

Exit codes: 0 done, 1 nothing matched (no such plan or contact, nobody enrolled),
2 bad input (a bad plan file: the message names the file, the line and the field),
3 database problem.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmtui import output
from crmtui.commands.common import (
    EXIT_NOT_FOUND,
    DbOption,
    FormatOption,
    check_format,
    fail,
)
from crmtui.commands.everyday.daily import _reading, pick_contact
from crmtui.commands.everyday.plan_settings import plan_clock
from crmtui.commands.writing import publish_file, run_write, settings_or_exit

if TYPE_CHECKING:
    import sqlite3

    from crmtui.services.plan_progress import EnrolmentState, PlanClock
    from crmtui.store.journal import WriteTx

app = typer.Typer(help="Follow-up plans: steps, enrolments and where each one is.")

PlanArg = Annotated[str, typer.Argument(help="Plan name (or id).")]
LEAD_PREFIX = "lead:"
"""How WHO names a lead rather than a contact: `lead:ID` (an id or a 6+ character prefix)."""


def _is_lead(ref: str) -> bool:
    return ref.lower().startswith(LEAD_PREFIX)


def _lead_id(ctx: typer.Context, db: Path | None, ref: str) -> str:
    """A lead's full id from an id or prefix (exit 1 naming it when there is none)."""
    with _reading(ctx, db) as conn:
        ref = ref.strip().lower()
        rows = conn.execute(
            "SELECT id FROM lead WHERE deleted_at IS NULL AND (id = ? OR (length(?) >= 6"
            " AND id LIKE ? || '%')) LIMIT 2",
            (ref, ref, ref),
        ).fetchall()
    if len(rows) != 1:
        fail(
            f"no lead with id {ref!r}" if not rows else f"lead id {ref!r} is ambiguous",
            EXIT_NOT_FOUND,
        )
    return str(rows[0][0])


def lead_of(ctx: typer.Context, db: Path | None, who: str) -> str | None:
    """The lead's id when WHO is `lead:ID` (exit 1 when there is none), else None."""
    return _lead_id(ctx, db, who[len(LEAD_PREFIX) :]) if _is_lead(who) else None


STATUS_COLUMNS = ("contact", "plan", "state", "step", "attempt", "due", "why", "id")


def _show(moment: Any, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M") if moment else ""


def _state_row(state: EnrolmentState, tz: tzinfo) -> dict[str, Any]:
    position = state.position
    why = position.why
    if state.notes and position.running:
        why += f" · {state.notes[-1]}"
    return {
        "contact": state.contact_name,
        "plan": f"{state.plan_name} v{state.plan_version}",
        "state": position.state,
        "step": f"{position.step_number} {position.step.kind}" if position.step else "",
        "attempt": position.attempt if position.running else "",
        "due": _show(state.due_at, tz),
        "why": why,
        "id": state.id,
        "contact_id": state.contact_id,
        "lead_id": state.lead_id,
        "notes": list(state.notes),
    }


@app.command("add")
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A plan file (TOML; see docs/plans.md).")],
    db: DbOption = None,
) -> None:
    """Add a plan, or a new version of it when the file changed; prints its id."""
    from crmtui.domain.plan_steps import PlanFileError
    from crmtui.services.follow_ups.plans import check_plan_text, publish_plan

    plan, created = publish_file(
        ctx,
        db,
        file,
        check=lambda text, source: check_plan_text(text, source=source),
        refused=PlanFileError,
        publish=lambda tx, text, source: publish_plan(tx=tx, text=text, source=source),
    )
    typer.echo(plan.id)
    if created:
        typer.echo(f"plan {plan.name} version {plan.version} added", err=True)
    else:
        typer.echo(f"plan {plan.name} version {plan.version} is unchanged", err=True)


@app.command("list")
def list_plans(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """List the plans: newest version, steps, and running enrolments."""
    from crmtui.services.follow_ups.plans import enrolment_states, plan_names
    from crmtui.services.plan_progress import read_plan

    check_format(fmt)
    rows = []
    with _reading(ctx, db) as conn:
        states = enrolment_states(conn)
        for name, version, plan_id, source in plan_names(conn):
            plan = read_plan(source, name, version)
            running = sum(1 for s in states if s.plan_name == name and s.position.running)
            rows.append(
                {
                    "name": name,
                    "version": version,
                    "steps": " > ".join(s.kind for s in plan.steps),
                    "running": running,
                    "id": plan_id,
                }
            )
    if not rows and fmt == "table":
        typer.echo("no plans yet: add one with `crm plan add FILE`", err=True)
        return
    output.write_records(rows, fmt, columns=("name", "version", "steps", "running", "id"))


@app.command("show")
def show(
    ctx: typer.Context,
    plan: PlanArg,
    version: Annotated[int | None, typer.Option(help="A given version (default newest).")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Show a plan's steps: kind, wait, retries and what each outcome does."""
    from crmtui.domain.plan_steps import DEFAULT_ACTIONS
    from crmtui.services.plan_progress import read_plan

    check_format(fmt)
    with _reading(ctx, db) as conn:
        found = conn.execute(
            "SELECT name, version, source FROM plan WHERE deleted_at IS NULL"
            " AND (lower(name) = lower(:r) OR id = :r) AND (:v IS NULL OR version = :v)"
            " ORDER BY version DESC LIMIT 1",
            {"r": plan.strip(), "v": version},
        ).fetchone()
    if found is None:
        what = f"{plan!r} version {version}" if version is not None else repr(plan)
        fail(f"no plan {what} (see `crm plan list`)", EXIT_NOT_FOUND)
    name, number, source = found
    parsed = read_plan(source, name, number)
    steps = []
    for i, step in enumerate(parsed.steps, 1):
        branches = {**DEFAULT_ACTIONS, **step.on}
        leave = sorted(o for o, a in branches.items() if a == "leave")
        retry = sorted(o for o, a in branches.items() if a == "retry")
        steps.append(
            {
                "n": i,
                "key": step.key,
                "kind": step.kind,
                "text": step.text,
                "wait": step.wait,
                "retries": f"{step.retries} x {step.retry_wait}d" if step.retries else "",
                "after_retries": step.after_retries if step.retries else "",
                "leave_on": ", ".join(leave) if step.kind != "task" else "",
                "retry_on": ", ".join(retry) if step.retries and step.kind != "task" else "",
                "script": step.script or "",
            }
        )
    if fmt == "json":
        import json

        record = {"name": name, "version": number, "description": parsed.description}
        json.dump({**record, "steps": steps}, typer.get_text_stream("stdout"), indent=2)
        typer.echo()
        return
    if fmt == "table":
        typer.echo(f"{name} v{number}" + (f": {parsed.description}" if parsed.description else ""))
    output.write_records(
        steps, fmt, columns=("n", "key", "kind", "text", "wait", "retries", "leave_on")
    )


class _DryRun(Exception):
    """Raised inside a dry run's transaction so nothing it wrote is kept."""

    def __init__(self, states: list[EnrolmentState], skipped: list[str]) -> None:
        super().__init__("dry run")
        self.states, self.skipped = states, skipped


def _enrol_each(
    tx: WriteTx,
    plan: str,
    ids: list[str],
    lead_refs: list[str],
    clock: PlanClock,
    rep_name: str | None,
) -> tuple[list[EnrolmentState], list[str]]:
    """Enrol the contacts and leads that may be; the others' refusals, in words."""
    from crmtui.services.follow_ups.plans import (
        enrol_contact,
        enrol_lead,
        enrol_refusal,
        find_plan,
        lead_enrol_refusal,
    )
    from crmtui.store.models import Lead
    from crmtui.store.resolve import get_live

    target = find_plan(tx, plan)
    done: list[EnrolmentState] = []
    skipped: list[str] = []
    for contact_id in ids:
        refusal = enrol_refusal(tx, target.id, contact_id)
        if refusal is not None:
            skipped.append(refusal)
            continue
        state = enrol_contact(
            tx=tx, plan_id=target.id, contact_id=contact_id, clock=clock, rep_name=rep_name
        )
        done.append(state)
    for ref in dict.fromkeys(lead_refs):
        lead = get_live(tx, Lead, ref)
        refusal = lead_enrol_refusal(tx, target.id, lead.id)
        if refusal is not None:
            skipped.append(refusal)
            continue
        done.append(
            enrol_lead(tx=tx, plan_id=target.id, lead_id=lead.id, clock=clock, rep_name=rep_name)
        )
    return done, skipped


@app.command("enrol")
def enrol(
    ctx: typer.Context,
    plan: PlanArg,
    who: Annotated[
        list[str] | None,
        typer.Argument(help="Contacts: ID, name, phone, email ...; a lead as lead:ID."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Enrol every contact `crm find QUERY` lists."),
    ] = None,
    limit: Annotated[int, typer.Option(help="With --query: at most this many contacts.")] = 200,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say who would be enrolled; save nothing.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Put contacts or leads on a plan (all in one transaction; undo with `crm undo`)."""
    from crmtui.search import lookup
    from crmtui.services.upkeep.undo import record

    if not who and not query:
        fail("name at least one contact, or give --query")
    ids: list[str] = []
    lead_refs: list[str] = []
    for ref in who or []:
        if ref.lower().startswith(LEAD_PREFIX):
            lead_refs.append(ref[len(LEAD_PREFIX) :])
            continue
        found = pick_contact(ctx, db, ref, create=False)
        assert found is not None
        ids.append(found)
    if query:
        with _reading(ctx, db) as conn:
            ids += [h.id for h in lookup.search_contacts(conn, query, limit=limit)]
    ids = list(dict.fromkeys(ids))
    if not ids and not lead_refs:
        fail(f"no contact matches {query!r}", EXIT_NOT_FOUND)
    clock = plan_clock()
    rep_name = settings_or_exit().rep_name

    def each(tx: WriteTx) -> tuple[list[EnrolmentState], list[str]]:
        return _enrol_each(tx, plan, ids, lead_refs, clock, rep_name)

    def action(tx: WriteTx) -> tuple[list[EnrolmentState], list[str], str]:
        if dry_run:
            raise _DryRun(*each(tx))  # rolls the transaction back
        count = f"{len(ids)} contact(s)" + (f" and {len(lead_refs)} lead(s)" if lead_refs else "")
        (done, skipped), step = record(tx, f"Enrol {count} in plan {plan}", each)
        return done, skipped, step.record_id or ""

    try:
        states, skipped, record_id = run_write(ctx, db, action)
    except _DryRun as dry:
        states, skipped, record_id = dry.states, dry.skipped, ""
    for line in skipped:
        typer.echo(f"skipped {line}", err=True)
    for state in states:
        row = _state_row(state, clock.tz)
        verb = "would enrol" if dry_run else "enrolled"
        typer.echo(f"{verb} {row['contact']} in {row['plan']}: {row['why']} {row['due']}", err=True)
    if not states:
        raise typer.Exit(EXIT_NOT_FOUND)
    if record_id:
        typer.echo(f"undo: crm undo {record_id}", err=True)


@app.command("status")
def status(
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Argument(help="Only this plan.")] = None,
    who: Annotated[
        str | None, typer.Option("--who", help="Only this contact (a lead as lead:ID).")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also enrolments that left, ended or were stopped.")
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Each enrolment's derived position: its step, the next reminder, and why."""
    from crmtui.services.follow_ups.plans import enrolment_states

    check_format(fmt)
    lead_id = _lead_id(ctx, db, who[len(LEAD_PREFIX) :]) if who and _is_lead(who) else None
    contact_id = pick_contact(ctx, db, who, create=False) if who and not lead_id else None
    tz = plan_clock().tz
    with _reading(ctx, db) as conn:
        _require_plan(conn, plan)
        states = enrolment_states(conn, plan_name=plan, contact_id=contact_id, lead_id=lead_id)
    rows = [_state_row(s, tz) for s in states if all_ or s.position.running or who]
    if not rows and fmt == "table":
        typer.echo("no running enrolments" + ("" if all_ else " (--all shows the rest)"), err=True)
        return
    output.write_records(rows, fmt, columns=STATUS_COLUMNS)


@app.command("stats")
def stats(
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Argument(help="Only this plan.")] = None,
    territory: Annotated[
        str | None, typer.Option(help="Only enrolments in this territory (and below).")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Per plan version and step: reached, outcomes, connects, skips, waiting there, exits."""
    from crmtui.reports.plan_stats import STATS_COLUMNS, plan_stats
    from crmtui.reports.scope import ScopeError, resolve_territory

    check_format(fmt)
    with _reading(ctx, db) as conn:
        _require_plan(conn, plan)
        try:
            tid = resolve_territory(conn, territory)[0] if territory else None
        except ScopeError as exc:
            fail(str(exc), EXIT_NOT_FOUND)
        rows = plan_stats(conn, territory_id=tid, plan=plan)
    if not rows and fmt == "table":
        typer.echo("nobody is enrolled on a plan", err=True)
        return
    output.write_records([r.as_dict() for r in rows], fmt, columns=STATS_COLUMNS)


@app.command("stop")
def stop(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="The contact (or lead:ID) to take off a plan.")],
    plan: Annotated[str | None, typer.Option("--plan", help="Which plan, when on several.")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept on the enrolment).")] = "",
    db: DbOption = None,
) -> None:
    """Take a contact off a plan; its open step reminder goes too (undo with `crm undo`)."""
    from crmtui.services.follow_ups.plans import find_enrolment, stop_enrolment
    from crmtui.services.upkeep.undo import record

    lead_id = _lead_id(ctx, db, who[len(LEAD_PREFIX) :]) if _is_lead(who) else None
    contact_id = None if lead_id else pick_contact(ctx, db, who, create=False)
    clock = plan_clock()

    def action(tx: WriteTx) -> str:
        enrolment_id = find_enrolment(tx, contact_id, plan, lead_id=lead_id)
        _, step = record(
            tx,
            "Stop a plan",
            lambda tx: stop_enrolment(
                tx=tx, enrolment_id=enrolment_id, reason=reason or "stopped by hand", clock=clock
            ),
        )
        return step.record_id or ""

    record_id = run_write(ctx, db, action)
    typer.echo("stopped", err=True)
    if record_id:
        typer.echo(f"undo: crm undo {record_id}", err=True)


@app.command("migrate")
def migrate(ctx: typer.Context, plan: PlanArg, db: DbOption = None) -> None:
    """Move running enrolments on older versions to the plan's newest (an admin's step)."""
    from crmtui.services.follow_ups.plans import migrate_plan

    clock = plan_clock()
    moved = run_write(ctx, db, lambda tx: migrate_plan(tx=tx, name=plan, clock=clock))
    typer.echo(f"moved {len(moved)} running enrolment(s) to the newest version", err=True)


def _require_plan(conn: sqlite3.Connection, plan: str | None) -> None:
    """Exit "not found" when a plan is named that the store does not hold."""
    if plan is None:
        return
    known = conn.execute(
        "SELECT 1 FROM plan WHERE lower(name) = lower(?) AND deleted_at IS NULL",
        (plan.strip(),),
    ).fetchone()
    if known is None:
        fail(f"no plan {plan!r} (see `crm plan list`)", EXIT_NOT_FOUND)
