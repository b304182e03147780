"""The daily commands: log activities, reminders (`remind`, `due`, `done` ...) and `calls`.

Reads use the sqlite3 read side (`crmtui.reports.agenda`, `crmtui.reports.calls`,
`crmtui.search.lookup`) on a read-only connection; writes go through `run_write`.
Dates are plain words read in the user's zone (`timezone` in the config).
Every write says on stderr what it did and, where there is one, how to undo it.

Exit codes: 0 done, 1 nothing matched or WHO is ambiguous (candidates on
stderr), 2 bad input, 3 database problem, 4 refused by consent rules (add
`--force` to log it anyway; the override is recorded on the activity).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from crmtui import output
from crmtui.commands.common import (
    EXIT_DATABASE,
    EXIT_NOT_FOUND,
    DbOption,
    FormatOption,
    check_format,
    db_path,
    fail,
)
from crmtui.commands.completion import complete_contact, complete_kind
from crmtui.commands.everyday.plan_settings import plan_clock
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.services.consent import CallCap
    from crmtui.store.journal import WriteTx

EXIT_REFUSED = 4
MAX_DAYS = 36_600
"""The longest span a day count (stay in touch, call cap) may name: a hundred years."""
MAX_CALLS = 10_000
"""The largest call cap: beyond it a cap means nothing, and SQLite integers end."""
T = TypeVar("T")

TicklerId = Annotated[str, typer.Argument(help="Reminder id (or a unique prefix).")]
When = Annotated[
    str, typer.Argument(help='A moment or a duration: "2h", "3d", "tomorrow 9am", "next fri".')
]


# --------------------------------------------------------------------------- helpers


def _zone() -> tzinfo:
    from crmtui.domain.when import BadWhen, zone

    try:
        return zone(settings_or_exit().timezone)
    except BadWhen as exc:
        fail(f"config timezone: {exc}")


def _now() -> datetime:
    return datetime.now(_zone())


def _calling_hours() -> Any:
    """The `calling_hours` setting as (start, end), or None (checked when it was read)."""
    from crmtui.domain.calling_hours import parse_hours

    text = settings_or_exit().calling_hours
    return parse_hours(text) if text else None


def _cap() -> CallCap:
    from crmtui.services.consent import CallCap

    settings = settings_or_exit()
    return CallCap(settings.call_cap, settings.call_cap_days)


def _when(text: str, now: datetime, what: str) -> datetime:
    from crmtui.domain.when import BadWhen, parse_when

    try:
        return parse_when(text, now=now)
    except BadWhen as exc:
        fail(f"invalid {what}: {exc}")


def _next_touch(text: str, now: datetime) -> datetime:
    """A next touch: a day without a time ("tomorrow", "in 2 days") is at the working hour."""
    from crmtui.config import parse_hour
    from crmtui.domain.when import BadWhen, parse_when

    hour, minute = parse_hour(settings_or_exit().working_hour) or (9, 0)
    try:
        return parse_when(text, now=now, day_time=time(hour, minute))
    except BadWhen as exc:
        fail(f"invalid --next: {exc}")


def _days(text: str, what: str) -> int:
    """A whole number of days from "30d", "2 weeks" or "30"."""
    from crmtui.domain.when import BadWhen, parse_duration

    t = text.strip()
    try:
        span = timedelta(days=int(t)) if t.isascii() and t.isdigit() else parse_duration(t)
    except BadWhen as exc:
        fail(f"invalid {what}: {exc}")
    except (OverflowError, ValueError):  # more days than a date can hold
        fail(f"invalid {what}: {text!r} is more than {MAX_DAYS} days")
    if span.total_seconds() <= 0 or span % timedelta(days=1):
        fail(f"invalid {what}: {text!r} is not a whole number of days (try 30d or 2 weeks)")
    if span.days > MAX_DAYS:
        fail(f"invalid {what}: {text!r} is more than {MAX_DAYS} days")
    return span.days


def stay_in_touch_fields(text: str | None) -> dict[str, int | None]:
    """`--stay-in-touch 30d|off` as ContactUpdate fields (empty when not given)."""
    if text is None:
        return {}
    if text.strip().lower() in ("off", "none", ""):
        return {"stay_in_touch_days": None}
    return {"stay_in_touch_days": _days(text, "--stay-in-touch")}


def call_cap_fields(text: str | None) -> dict[str, int | None]:
    """`--call-cap 3/30d|default` as ContactUpdate fields (empty when not given)."""
    if text is None:
        return {}
    if text.strip().lower() in ("default", "off", "none", ""):
        return {"max_calls": None, "max_calls_days": None}
    calls, slash, period = text.partition("/")
    calls = calls.strip()
    if not slash or not (calls.isascii() and calls.isdigit()) or int(calls) < 1:
        fail(f"invalid --call-cap: {text!r} (try 3/30d: at most 3 calls in 30 days)")
    if int(calls) > MAX_CALLS:
        fail(f"invalid --call-cap: at most {MAX_CALLS} calls, not {calls}")
    return {"max_calls": int(calls), "max_calls_days": _days(period, "--call-cap")}


def _show(moment: datetime | None, tz: tzinfo) -> str:
    """A moment on the user's wall clock, short: "Mon 24 Nov 09:00" (with the year if not this one)."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    this_year = local.year == datetime.now(tz).year
    return local.strftime("%a %d %b %H:%M" if this_year else "%d %b %Y %H:%M")


@contextmanager
def _reading(ctx: typer.Context, db: Path | None) -> Any:
    """A read-only connection to the database (upgraded first when behind)."""
    from crmtui.fastcli import open_lookup
    from crmtui.search.lookup import LookupDatabaseError

    try:
        conn = open_lookup(db_path(ctx, db, "read"))
    except LookupDatabaseError as exc:
        fail(str(exc), EXIT_DATABASE)
    try:
        yield conn
    except sqlite3.Error as exc:
        fail(f"cannot read the database: {exc}", EXIT_DATABASE)
    finally:
        conn.close()


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _choose(what: str, ref: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Let a person at a terminal pick one of several matches; a script gets exit 1."""
    lines = output.format_table(rows, columns, width=output.terminal_width() - 6)
    if not _interactive():
        typer.echo(f"crm: {ref!r} matches several {what}s; say which by ID:", err=True)
        for line in lines:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(EXIT_NOT_FOUND)
    typer.echo(f"{ref!r} matches several {what}s:", err=True)
    typer.echo(f"      {lines[0]}", err=True)
    for number, line in enumerate(lines[1:], start=1):
        typer.echo(f"  {number:>2}. {line}", err=True)
    choice = typer.prompt("which one (0 to stop)", type=int, default=0, err=True)
    if not 1 <= choice <= len(rows):
        raise typer.Exit(EXIT_NOT_FOUND)
    return str(rows[choice - 1]["id"])


def pick_contact(ctx: typer.Context, db: Path | None, who: str, *, create: bool) -> str | None:
    """The contact WHO means (anything `crm find` accepts); None when `create` and nobody fits."""
    from crmtui.search import lookup

    if not db_path(ctx, db).is_file() and create:
        return None  # a brand-new database: nobody to find yet
    with _reading(ctx, db) as conn:
        hits = lookup.resolve_contact(conn, who)
    if not hits:
        if create:
            return None
        fail(f"no contact matches {who!r} (add --create to make one)", EXIT_NOT_FOUND)
    winner = lookup.clear_winner(who, hits)
    if winner is not None:
        return winner.id
    return _choose("contact", who, [h.as_dict() for h in hits], ("name", "company", "city", "id"))


def _pick_named(
    ctx: typer.Context, db: Path | None, table: str, ref: str, *, extra: str = ""
) -> str:
    """An account, deal, territory or stage by id, id prefix or name."""
    with _reading(ctx, db) as conn:
        live = f"deleted_at IS NULL {extra}"
        rows = conn.execute(
            f"SELECT id, name FROM {table} WHERE {live} AND (id = :r "
            "OR (length(:r) >= 6 AND id LIKE :r || '%') OR lower(name) = lower(:r)) LIMIT 20",
            {"r": ref.strip()},
        ).fetchall()
        if not rows:
            rows = conn.execute(
                f"SELECT id, name FROM {table} WHERE {live} AND name LIKE :p LIMIT 20",
                {"p": f"%{ref.strip()}%"},
            ).fetchall()
    if not rows:
        fail(f"no {table} matches {ref!r}", EXIT_NOT_FOUND)
    if len(rows) == 1:
        return str(rows[0][0])
    return _choose(table, ref, [{"id": i, "name": n} for i, n in rows], ("name", "id"))


def _write(
    ctx: typer.Context,
    db: Path | None,
    action: Callable[[WriteTx], T],
    undo: str | Callable[[T], str] | None = None,
) -> T:
    """`run_write` (recorded for `crm undo` under `undo`), plus consent refusal (exit 4) and bad dates (exit 2)."""
    from crmtui.domain.when import BadWhen
    from crmtui.services.consent import ConsentRefused

    try:
        return run_write(ctx, db, action, undo=undo)
    except ConsentRefused as exc:
        fail(
            f"refused: {exc}. Nothing was saved; add --force to log it anyway "
            "(the override is recorded).",
            EXIT_REFUSED,
        )
    except BadWhen as exc:
        fail(f"{exc} (nothing was saved)")


# --------------------------------------------------------------------------- activities


def log(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(help="call, email, meeting, visit or note.", autocompletion=complete_kind),
    ],
    who: Annotated[
        str | None,
        typer.Argument(
            help="A contact: ID, name, phone, email ... (`crm log email` alone reads a mail on stdin).",
            autocompletion=complete_contact,
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Argument(help="What happened (`-` reads it from stdin).")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(help="connected, no-answer, voicemail, busy, meeting-booked, ..."),
    ] = None,
    duration: Annotated[str | None, typer.Option(help='How long: "5m", "1h30m".')] = None,
    at: Annotated[str | None, typer.Option(help='When it happened: "yesterday 15:00".')] = None,
    deal: Annotated[str | None, typer.Option(help="A deal it belongs to (id or name).")] = None,
    next_: Annotated[
        tuple[str, str] | None,
        typer.Option("--next", help='A follow-up: WHEN TEXT, e.g. --next "in 2 days" "call back".'),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Log it despite consent rules (recorded).")
    ] = False,
    create: Annotated[
        bool, typer.Option("--create", help="Create the contact when WHO matches nobody.")
    ] = False,
    edit_text: Annotated[
        bool, typer.Option("--edit", "-e", help="Write the text in $VISUAL/$EDITOR.")
    ] = False,
    message: Annotated[
        Path | None,
        typer.Option(help="`crm log email`: the mail file to log (instead of stdin)."),
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(help="`crm log email`: log the mail on this contact, whatever its addresses."),
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            help="A call script's answer, KEY=ANSWER (repeat it; see `crm script for WHO`)."
        ),
    ] = None,
    script: Annotated[
        str | None,
        typer.Option(help="The call script answered (default: the one `crm script for` names)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Log a call, email, meeting, visit or note; prints the activity id.

    --answer stores a call script's answers on the activity (and as lines of its
    text): the script of the contact's plan step, else the `call_script` setting,
    else --script. Answers that do not fit the script exit 2.

    A call to a do-not-call or capped contact, or an email to a do-not-email
    contact, is refused with exit code 4 unless --force.

    `crm log email` with no WHO reads an RFC 822 message on stdin (a mutt or aerc
    pipe) or from --message FILE, finds the contact by its address (the direction
    from the [mail] addresses of the config) and logs subject, date and the first
    part of the body; attachments are named, not stored. An unknown address exits 1
    with the contacts of a similar name; --create makes the contact.
    """
    if who is None or message is not None:
        if kind != "email" or who is not None:
            fail("give WHO (only `crm log email` reads a mail message instead)")
        from crmtui.commands.everyday.mail import log_email_message

        log_email_message(ctx, source=message, contact=contact, create=create, db=db)
        return
    from crmtui.services.address_book.contacts import ContactCreate, create_contact
    from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
    from crmtui.services.follow_ups.ticklers import create_tickler
    from crmtui.store.models import Contact
    from crmtui.store.resolve import get_live

    now = _now()
    what, follow = _activity_facts(kind, text, edit_text, at, duration, outcome, next_, now)
    _, occurred, seconds, _, text = what
    if _logged_on_lead(ctx, db, who, what, follow, now, extra=bool(deal or create), force=force):
        return
    deal_id = _pick_named(ctx, db, "deal", deal) if deal else None
    contact_id = pick_contact(ctx, db, who, create=create)
    cap, region = _cap(), settings_or_exit().default_region
    clock = plan_clock()
    given = _script_answers(answer or [], script)

    def action(tx: WriteTx) -> tuple[Any, list[str], Any, str, bool]:
        cid = contact_id
        created = cid is None
        if cid is None:
            cid = create_contact(tx=tx, data=ContactCreate(name=who), region=region).id
        name = get_live(tx, Contact, cid).name
        answered = _answered_script(tx, cid, name, given, script) if given else None
        data = ActivityCreate(
            kind=kind,
            contact_id=cid,
            deal_id=deal_id,
            occurred_at=occurred,
            duration_s=seconds,
            outcome=outcome,
            text=text,
        )
        activity, overridden = log_activity(
            tx=tx,
            data=data,
            cap=cap,
            force=force,
            rep_name=settings_or_exit().rep_name,
            plan_clock=clock,
            script=answered,
        )
        tickler = None
        if follow is not None:
            # Same transaction: the activity and its follow-up commit together.
            follow.contact_id, follow.account_id = activity.contact_id, activity.account_id
            follow.deal_id = activity.deal_id
            tickler = create_tickler(tx=tx, data=follow)
        return activity, overridden, tickler, name, created

    # Named as the app names it, so the recent actions list reads the same.
    activity, overridden, tickler, name, created = _write(
        ctx, db, action, lambda r: f"Log {kind}: {r[3]}"
    )
    _report_logged(kind, activity, overridden, tickler, name, created, now)


def _activity_facts(
    kind: str,
    text: str | None,
    edit_text: bool,
    at: str | None,
    duration: str | None,
    outcome: str | None,
    next_: tuple[str, str] | None,
    now: datetime,
) -> tuple[tuple[str, datetime | None, int | None, str | None, str | None], Any]:
    """`crm log`'s words read: (kind, moment, seconds, outcome, text) and the follow-up (exit 2)."""
    from crmtui.commands.long_text import edit, text_argument
    from crmtui.domain.when import BadWhen, parse_duration
    from crmtui.services.follow_ups.ticklers import TicklerCreate
    from crmtui.store.models import ACTIVITY_KINDS

    text = text_argument(text, "TEXT")
    if edit_text:
        text = edit(text or "").strip() or None
    if kind not in ACTIVITY_KINDS:
        fail(f"invalid kind: {kind!r} is not one of {', '.join(ACTIVITY_KINDS)}")
    occurred = _when(at, now, "--at") if at else None
    seconds = None
    if duration:
        try:
            seconds = int(parse_duration(duration).total_seconds())
        except BadWhen as exc:
            fail(f"invalid --duration: {exc}")
    follow: TicklerCreate | None = None
    if next_ and next_[0] is not None:
        follow = TicklerCreate(text=next_[1], due_at=_next_touch(next_[0], now), contact_id=None)
    return (kind, occurred, seconds, outcome, text), follow


def _logged_on_lead(
    ctx: typer.Context,
    db: Path | None,
    who: str,
    what: tuple[str, datetime | None, int | None, str | None, str | None],
    follow: Any,
    now: datetime,
    *,
    extra: bool,
    force: bool = False,
) -> bool:
    """`crm log KIND lead:ID`: an activity on a lead (its outcome branches the lead's plan).

    False when WHO names no lead (`lead:` prefix); exit 1 when the lead is not there.
    """
    from crmtui.commands.everyday.plans import lead_of

    lead_id = lead_of(ctx, db, who)
    if lead_id is None:
        return False
    if extra:
        fail("an activity on a lead (lead:ID) takes no --deal or --create")
    kind, occurred, seconds, outcome, text = what
    from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
    from crmtui.services.follow_ups.ticklers import create_tickler
    from crmtui.store.models import Lead
    from crmtui.store.resolve import get_live

    cap, clock = _cap(), plan_clock()

    def action(tx: WriteTx) -> tuple[Any, list[str], Any, str, bool]:
        name = get_live(tx, Lead, lead_id).name
        data = ActivityCreate(
            kind=kind,
            lead_id=lead_id,
            occurred_at=occurred,
            duration_s=seconds,
            outcome=outcome,
            text=text,
        )
        activity, overridden = log_activity(
            tx=tx,
            data=data,
            cap=cap,
            force=force,
            rep_name=settings_or_exit().rep_name,
            plan_clock=clock,
        )
        tickler = None
        if follow is not None:
            # Same transaction: the activity and its follow-up about the lead commit together.
            follow.lead_id = lead_id
            tickler = create_tickler(tx=tx, data=follow)
        return activity, overridden, tickler, name, False

    activity, overridden, tickler, name, created = _write(
        ctx, db, action, lambda r: f"Log {kind}: {r[3]}"
    )
    _report_logged(kind, activity, overridden, tickler, name, created, now)
    return True


def _script_answers(raw: list[str], script: str | None) -> dict[str, str]:
    """--answer KEY=ANSWER options as a mapping (exit 2 on a malformed one)."""
    given: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            fail(f"--answer {item!r}: write KEY=ANSWER, e.g. --answer budget=yes")
        if key.strip() in given:
            fail(f"--answer {key.strip()!r} is given twice")
        given[key.strip()] = value.strip()
    if script is not None and not given:
        fail("--script needs at least one --answer")
    return given


def _answered_script(
    tx: WriteTx, contact_id: str, name: str, given: dict[str, str], script: str | None
) -> Any:
    """The answers checked against the call's script (InvalidInput, NotFound otherwise)."""
    from crmtui.domain.call_scripts import AnswerError
    from crmtui.domain.validate import InvalidInput
    from crmtui.services.follow_ups.call_scripts import (
        answers_for,
        find_script,
        script_for_contact,
    )
    from crmtui.store.resolve import NotFound

    if script is not None:
        stored = find_script(tx.db, script)
        if stored is None:
            raise NotFound(f"no call script {script!r} (see `crm script list`)")
    else:
        stored = script_for_contact(tx.db, contact_id, campaign=settings_or_exit().call_script)
        if stored is None:
            raise InvalidInput(
                "answer", f"no call script applies to {name}: name one with --script"
            )
    try:
        return answers_for(stored, given)[0]
    except AnswerError as exc:
        raise InvalidInput("answer", f"script {stored.name}: {exc}") from None


def _report_logged(
    kind: str,
    activity: Any,
    overridden: list[str],
    tickler: Any,
    name: str,
    created: bool,
    now: datetime,
) -> None:
    """Print what `crm log` stored: the id on stdout, the rest (and the undo) on stderr."""
    tz = now.tzinfo
    assert tz is not None
    typer.echo(activity.id)
    if created:
        typer.echo(f"created contact {name} ({activity.contact_id})", err=True)
    detail = f" ({activity.outcome})" if activity.outcome else ""
    typer.echo(f"logged {kind}{detail} at {_show(activity.occurred_at, tz)}", err=True)
    for reason in overridden:
        typer.echo(f"consent override recorded: {reason}", err=True)
    undo = f"undo: crm unlog {activity.id}"
    if tickler is not None:
        typer.echo(
            f"follow-up {tickler.id}: {tickler.text}, due {_show(tickler.due_at, tz)}", err=True
        )
        undo += f" and crm cancel {tickler.id}"
    typer.echo(undo, err=True)


def unlog(
    ctx: typer.Context,
    activity_id: Annotated[str, typer.Argument(help="Activity id.")],
    db: DbOption = None,
) -> None:
    """Delete an activity logged by mistake (a tombstone, synced like any change)."""
    from crmtui.services.follow_ups.activities import delete_activity

    activity = _write(
        ctx,
        db,
        lambda tx: delete_activity(tx=tx, activity_id=activity_id),
        lambda a: f"Delete {a.kind}",
    )
    typer.echo(f"deleted {activity.kind} {activity.id}", err=True)


ACTIVITY_COLUMNS = ("when", "kind", "outcome", "who", "text", "id")


def activities(
    ctx: typer.Context,
    who: Annotated[
        str | None,
        typer.Argument(help="Only this contact (ID or NAME).", autocompletion=complete_contact),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help='"14d" (that long ago), "yesterday", "2026-01-01".')
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Only this kind (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 50,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List activities, newest first."""
    from crmtui.domain.when import BadWhen, parse_duration
    from crmtui.reports.agenda import list_activities

    check_format(fmt)
    now = _now()
    tz = now.tzinfo
    assert tz is not None
    start = None
    if since:
        try:
            start = now - parse_duration(since)
        except BadWhen:
            start = _when(since, now, "--since")
    kinds = [k for t in type_ or [] for k in t.split(",") if k]
    contact_id = pick_contact(ctx, db, who, create=False) if who else None
    with _reading(ctx, db) as conn:
        rows = list_activities(
            conn, tz=tz, contact_id=contact_id, since=start, kinds=kinds, limit=limit
        )
    if fmt == "table":
        records = [
            {
                "when": _show(r.occurred_at, tz),
                "kind": r.kind + (" (forced)" if r.consent_override else ""),
                "outcome": r.outcome,
                "who": r.contact_name or r.deal_name or r.account_name,
                "text": r.text,
                "id": r.activity_id,
            }
            for r in rows
        ]
        output.write_records(records, fmt, columns=ACTIVITY_COLUMNS)
    else:
        output.write_records([r.as_dict() for r in rows], fmt)
    if not rows:
        typer.echo("no activities", err=True)


# --------------------------------------------------------------------------- reminders


def remind(
    ctx: typer.Context,
    words: Annotated[
        list[str], typer.Argument(help="WHO TEXT, or just TEXT with --account or --deal.")
    ],
    due: Annotated[str, typer.Option(help='When: "tomorrow 9am", "next fri", "in 3 weeks".')],
    every: Annotated[
        str | None, typer.Option(help='Repeat: "2 weeks on mon", "monthly", or an RRULE.')
    ] = None,
    after_done: Annotated[
        str | None, typer.Option(help='Repeat this long after each completion: "30d".')
    ] = None,
    account: Annotated[str | None, typer.Option(help="About an account (name or id).")] = None,
    deal: Annotated[str | None, typer.Option(help="About a deal (name or id).")] = None,
    db: DbOption = None,
) -> None:
    """Create a reminder about a contact, an account or a deal; prints its id."""
    from crmtui.domain.recurrence import parse_every
    from crmtui.domain.when import BadWhen
    from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler

    about_other = bool(account or deal)
    if len(words) != (1 if about_other else 2):
        fail("give WHO and TEXT, or TEXT with --account/--deal (quote multi-word text)")
    if every and after_done:
        fail("choose --every or --after-done, not both")
    now = _now()
    due_at = _when(due, now, "--due")
    rule = None
    if every:
        try:
            rule = parse_every(every)
        except BadWhen as exc:
            fail(f"invalid --every: {exc}")
    recur_days = _days(after_done, "--after-done") if after_done else None
    data = TicklerCreate(
        text=words[-1],
        due_at=due_at,
        recurrence=rule,
        recur_after_days=recur_days,
        account_id=_pick_named(ctx, db, "account", account) if account else None,
        deal_id=_pick_named(ctx, db, "deal", deal) if deal else None,
        contact_id=None if about_other else pick_contact(ctx, db, words[0], create=False),
    )
    tickler = _write(
        ctx, db, lambda tx: create_tickler(tx=tx, data=data), lambda t: f"Reminder: {t.text}"
    )
    typer.echo(tickler.id)
    repeat = f", repeats {rule or f'{recur_days} days after done'}" if tickler.series_id else ""
    typer.echo(f"reminder due {_show(tickler.due_at, now.tzinfo)}{repeat}", err=True)  # type: ignore[arg-type]
    typer.echo(f"undo: crm cancel {tickler.id}", err=True)


DUE_COLUMNS = ("when", "due", "text", "about", "phone", "id")


def due(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="Upcoming: this many days after today.")] = 7,
    all_: Annotated[
        bool, typer.Option("--all", help="Every open reminder, snoozed ones and far ones too.")
    ] = False,
    count: Annotated[
        bool, typer.Option("--count", help="Print one number (overdue + due today), for a prompt.")
    ] = False,
    prompt: Annotated[
        bool, typer.Option("--prompt", help='Print "3 due, 1 overdue" (empty when none).')
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The agenda: overdue, today, the next days, and contacts owed a touch."""
    from crmtui.domain.date_style import in_shell
    from crmtui.reports.agenda import load_agenda

    if count or prompt:
        from crmtui.commands.everyday.lookup import due_prompt

        if count and prompt:
            fail("choose --count or --prompt, not both")
        due_prompt(ctx, count=count, db=db)
        return
    check_format(fmt)
    if not 0 <= days <= MAX_DAYS:
        fail(f"--days must be from 0 to {MAX_DAYS}, not {days}")
    now = _now()
    tz = now.tzinfo
    assert tz is not None
    with _reading(ctx, db) as conn:
        agenda = load_agenda(conn, now=now, days=None if all_ else days, include_snoozed=all_)
    if fmt == "json":
        import json

        json.dump(agenda.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    records: list[dict[str, Any]] = []
    for bucket, items in (
        ("overdue", agenda.overdue),
        ("today", agenda.today),
        ("upcoming", agenda.upcoming),
    ):
        for item in items:
            text = item.text + (" (repeats)" if item.recurring else "")
            if item.snoozed_until and item.snoozed_until > now:
                text += f" (snoozed until {in_shell(item.snoozed_until.astimezone(tz))})"
            records.append(
                {
                    "when": bucket,
                    "due": in_shell(item.due_at.astimezone(tz)),
                    "text": text,
                    "about": item.about,
                    "phone": item.contact_phone,
                    "id": item.tickler_id,
                    **({} if fmt == "table" else {"contact_id": item.contact_id}),
                }
            )
    for person in agenda.stay_in_touch:
        last = in_shell(person.last_touched.astimezone(tz)) if person.last_touched else "never"
        records.append(
            {
                "when": "keep in touch",
                "due": "",
                "text": f"every {person.cadence_days} days; last touched {last}",
                "about": person.name + (f" ({person.company})" if person.company else ""),
                "phone": person.phone,
                "id": person.contact_id,
                **({} if fmt == "table" else {"contact_id": person.contact_id}),
            }
        )
    output.write_records(records, fmt, columns=DUE_COLUMNS)
    if not records:
        typer.echo("nothing due", err=True)


def done(ctx: typer.Context, tickler_id: TicklerId, db: DbOption = None) -> None:
    """Mark a reminder done; a repeating one gets its next occurrence."""
    from crmtui.services.follow_ups.ticklers import complete_tickler

    tz, clock = _zone(), plan_clock()
    tickler, nxt = _write(
        ctx,
        db,
        lambda tx: complete_tickler(tx=tx, tickler_id=tickler_id, tz=tz, plan_clock=clock),
        lambda r: f"Done: {r[0].text}",
    )
    typer.echo(f"done: {tickler.text}", err=True)
    if nxt is not None:
        typer.echo(f"next {nxt.id}: due {_show(nxt.due_at, tz)}", err=True)
    typer.echo(f"undo: crm reopen {tickler.id}", err=True)


def _undo_due(tickler_id: str, due_at: datetime, tz: tzinfo) -> str:
    return f"undo: crm defer {tickler_id} '{due_at.astimezone(tz).isoformat(timespec='minutes')}'"


def snooze(ctx: typer.Context, tickler_id: TicklerId, until: When, db: DbOption = None) -> None:
    """Hide a reminder until then; its due date stays (so it is still overdue)."""
    from crmtui.services.follow_ups.ticklers import snooze_tickler

    now = _now()
    tz = now.tzinfo
    assert tz is not None
    moment = _when(until, now, "snooze")
    tickler = _write(
        ctx,
        db,
        lambda tx: snooze_tickler(tx=tx, tickler_id=tickler_id, until=moment),
        lambda t: f"Snooze: {t.text}",
    )
    typer.echo(f"snoozed until {_show(moment, tz)}: {tickler.text}", err=True)
    typer.echo(_undo_due(tickler.id, tickler.due_at, tz), err=True)


def defer(ctx: typer.Context, tickler_id: TicklerId, to: When, db: DbOption = None) -> None:
    """Move a reminder's due date ("3d" keeps its time of day)."""
    from crmtui.services.follow_ups.ticklers import defer_tickler
    from crmtui.store.models import Tickler
    from crmtui.store.resolve import get_live

    now = _now()
    tz = now.tzinfo
    assert tz is not None

    def action(tx: WriteTx) -> tuple[Any, datetime]:
        old = get_live(tx, Tickler, tickler_id).due_at
        from crmtui.domain.when import defer_target

        target = defer_target(to, now=now, due_at=old)
        return defer_tickler(tx=tx, tickler_id=tickler_id, due_at=target), old

    tickler, old = _write(ctx, db, action, lambda r: f"Defer: {r[0].text}")
    typer.echo(f"due {_show(tickler.due_at, tz)} (was {_show(old, tz)}): {tickler.text}", err=True)
    typer.echo(_undo_due(tickler.id, old, tz), err=True)


def cancel(ctx: typer.Context, tickler_id: TicklerId, db: DbOption = None) -> None:
    """Cancel a reminder (a repeating one stops here)."""
    from crmtui.services.follow_ups.ticklers import cancel_tickler

    clock = plan_clock()
    tickler = _write(
        ctx,
        db,
        lambda tx: cancel_tickler(tx=tx, tickler_id=tickler_id, plan_clock=clock),
        lambda t: f"Cancel: {t.text}",
    )
    typer.echo(f"cancelled: {tickler.text}", err=True)
    typer.echo(f"undo: crm reopen {tickler.id}", err=True)


def reopen(ctx: typer.Context, tickler_id: TicklerId, db: DbOption = None) -> None:
    """Undo done or cancel (the occurrence a completion created goes away)."""
    from crmtui.services.follow_ups.ticklers import reopen_tickler

    tickler = _write(
        ctx,
        db,
        lambda tx: reopen_tickler(tx=tx, tickler_id=tickler_id),
        lambda t: f"Reopen: {t.text}",
    )
    typer.echo(f"open again: {tickler.text}", err=True)


# --------------------------------------------------------------------------- calls

CALL_COLUMNS = ("why", "name", "company", "phone", "last", "note", "id")


def calls(
    ctx: typer.Context,
    territory: Annotated[
        str | None, typer.Option(help="Also contacts in this territory (name or id).")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Also contacts with this tag.")] = None,
    stage: Annotated[
        str | None, typer.Option(help="Also contacts with an open deal at this stage.")
    ] = None,
    untouched: Annotated[
        str | None, typer.Option(help='Also contacts not touched for this long: "14d".')
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 50,
    claim: Annotated[
        bool,
        typer.Option("--claim", help="Claim the contacts listed, so the team's others skip them."),
    ] = False,
    hours: Annotated[float, typer.Option(help="How long a --claim holds (hours).")] = 4.0,
    over_cap_: Annotated[
        bool,
        typer.Option(
            "--over-cap",
            help="Instead: contacts over their call cap by calls nobody forced (offline reps).",
        ),
    ] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The call queue: due reminders (overdue first), then the filtered list.

    A lead not converted yet with a due reminder (a plan step) is a row of its own,
    its id `lead:ID` (log its call with `crm log call lead:ID`; JSON: "kind": "lead").
    Never lists a do-not-call contact or one at its call cap, nor one another rep
    holds by a claim (team calling: `--claim` takes the listed contacts for --hours;
    `crm claims` lists and releases them).
    """
    from dataclasses import replace

    from crmtui.reports.calls import CallFilter, call_queue, call_stats
    from crmtui.services.follow_ups.call_claims import claim_contacts, me_on

    check_format(fmt)
    flt = CallFilter(
        territory_id=_pick_named(ctx, db, "territory", territory) if territory else None,
        tag=tag.strip().lower() if tag else None,
        stage_id=_pick_named(ctx, db, "stage", stage) if stage else None,
        untouched_days=_days(untouched, "--untouched") if untouched else None,
    )
    now = _now()
    tz = now.tzinfo
    assert tz is not None
    if over_cap_:
        from crmtui.reports.calls import over_cap

        with _reading(ctx, db) as conn:
            over = over_cap(conn, now=now, cap=_cap())
        if fmt == "table":
            for row in over:
                typer.echo(
                    f"{row.name}\t{row.calls} calls in {row.days} days (cap {row.cap})"
                    f"\tby {', '.join(row.reps)}\t{row.contact_id}"
                )
        else:
            output.write_records([row.as_dict() for row in over], fmt)
        typer.echo(f"{len(over)} contact(s) over their call cap", err=True)
        return
    with _reading(ctx, db) as conn:
        me = me_on(conn, settings_or_exit().rep_name)
        queue = call_queue(
            conn, now=now, cap=_cap(), filter=flt, limit=limit, me=me, hours=_calling_hours()
        )
        stats = call_stats(conn, now=now)
    if claim and queue:
        ids = [item.key for item in queue]
        mine, taken = _write(
            ctx, db, lambda tx: claim_contacts(tx=tx, contact_ids=ids, me=me, hours=hours)
        )
        held = set(mine)
        queue = [replace(item, claimed=True) for item in queue if item.key in held]
        typer.echo(
            f"claimed {len(mine)} contact(s) for {hours:g} h"
            + (f"; {len(taken)} another rep claimed first" if taken else ""),
            err=True,
        )
    if fmt == "table":
        records = [
            {
                "why": "mine" if item.claimed or claim else item.reason,
                "name": item.name,
                "company": item.company,
                "phone": item.phone,
                "last": _show(item.last_touched, tz) if item.last_touched else "never",
                "note": item.tickler_text,
                # A lead's row is named as `crm log call lead:ID` takes it.
                "id": item.key,
            }
            for item in queue
        ]
        output.write_records(records, fmt, columns=CALL_COLUMNS)
    else:
        output.write_records([item.as_dict() for item in queue], fmt)
    typer.echo(
        f"calls today: {stats.calls_today}, connects: {stats.connects_today}, "
        f"in queue: {len(queue)}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add the daily commands to the root app."""
    app.command("log")(log)
    app.command("unlog")(unlog)
    app.command("activities")(activities)
    app.command("remind")(remind)
    app.command("due")(due)
    app.command("done")(done)
    app.command("snooze")(snooze)
    app.command("defer")(defer)
    app.command("cancel")(cancel)
    app.command("reopen")(reopen)
    app.command("calls")(calls)
