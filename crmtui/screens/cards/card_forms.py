"""The forms the cards open: reminder add/edit, activity edit, deal add/edit, account edit.

Each builder returns a `RecordForm` whose save reads the texts, then calls the
service the CLI uses inside `DailyContext.write_undoable`: one transaction,
journaled for sync, and on the recent-actions list so ctrl+z takes it back.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from crmtui.domain.date_style import a_day, in_full, stored_day, to_edit
from crmtui.screens.cards.contact_card import parse_stored
from crmtui.screens.dialogs.record_form import FieldProblem, FormField, RecordForm, Saved

if TYPE_CHECKING:
    from crmtui.screens.daily_context import DailyContext
    from crmtui.store.journal import WriteTx

REPEAT_HINT = "weekly, 2 weeks on mon, monthly; blank: once"


# The stored columns an edit reports, by the label the user edited them under (several
# columns can stand for one field: a repeat rule is recurrence and its series).
COLUMN_LABELS = {
    "text": "What",
    "due_at": "Due",
    "recurrence": "Repeat",
    "series_id": "Repeat",
    "recur_after_days": "Repeat",
    "occurred_at": "When",
    "outcome": "Outcome",
    "amount_minor": "Amount",
    "currency": "Amount",
    "expected_close": "Closes",
    "probability": "Probability",
    "stage": "Stage",
    "stage_id": "Stage",
    "phone_e164": "Phone",
    "owner_id": "Owner",
    "territory_id": "Territory",
    "territory_pinned": "Territory",
}


def changed_notice(changed: list[str], fields: list[FormField]) -> str:
    """The notice of an edit: the form's labels, each once ("Changed: Due, Repeat"), not columns."""
    labels = {f.name: f.label for f in fields}
    words = (labels.get(c) or COLUMN_LABELS.get(c) or c.replace("_", " ") for c in changed)
    return f"Changed: {', '.join(dict.fromkeys(words))} · ctrl+z undoes"


def read_moment(text: str, now: datetime, name: str, label: str) -> datetime:
    """A moment in plain words ("tomorrow 9am"), or FieldProblem naming the field."""
    from crmtui.domain.when import parse_when

    try:
        return parse_when(text, now=now)
    except ValueError as exc:
        raise FieldProblem(name, f"{label}: {exc}") from None


def moment_preview(now: datetime, label: str = "When") -> Any:
    """A preview that reads the text as a moment in `now`'s zone (a problem names `label`)."""

    def preview(text: str) -> str:
        return f"→ {in_full(read_moment(text, now, '', label))}"

    return preview


def read_repeat(text: str) -> str | None:
    """A repeat rule in words as an RRULE ("" means none)."""
    from crmtui.domain.recurrence import parse_every

    if not text.strip():
        return None
    try:
        return parse_every(text)
    except ValueError as exc:
        raise FieldProblem("repeat", f"Repeat: {exc}") from None


def _repeat_preview(text: str) -> str:
    rule = read_repeat(text)
    return f"→ {rule}" if rule else ""


def read_day(text: str, name: str, label: str, now: datetime) -> date | None:
    """A date ("2026-04-30", "end of month", "in 3 weeks"); blank is none."""
    if not text.strip():
        return None
    return read_moment(text, now, name, label).date()


def _day_preview(text: str, now: datetime) -> str:
    day = read_day(text, "close", "Closes", now)
    return "" if day is None else f"→ {a_day(day)}"


def read_amount(text: str, currency: str) -> tuple[int | None, str]:
    """An amount in minor units and its currency ("12,500 EUR"); blank is no amount."""
    from crmtui.domain.money import BadMoney, parse_money

    if not text.strip():
        return None, currency
    try:
        money = parse_money(text, default_currency=currency)
    except BadMoney as exc:
        raise FieldProblem("amount", f"Amount: {exc}") from None
    return money.minor, money.currency


def amount_preview(currency: str) -> Any:
    from crmtui.domain.money import format_money

    def preview(text: str) -> str:
        minor, code = read_amount(text, currency)
        return "" if minor is None else f"→ {format_money(minor, code)}"

    return preview


def read_probability(text: str) -> int | None:
    """A probability "40" or "40%" (blank: the stage's default)."""
    t = text.strip().removesuffix("%").strip()
    if not t:
        return None
    if not (t.isascii() and t.isdigit()) or not 0 <= int(t) <= 100:
        raise FieldProblem("probability", "Probability: a whole number from 0 to 100")
    return int(t)


def _local(value: Any, tz: tzinfo) -> str:
    moment = value if isinstance(value, datetime) else parse_stored(value)
    return "" if moment is None else to_edit(moment.astimezone(tz))


# ------------------------------------------------------------------ reminders


def add_reminder_form(
    *, about: str, row_id: str, name: str, now: datetime, account_id: str | None = None
) -> RecordForm:
    """A new reminder about a contact, account or deal."""
    fields = [
        FormField("text", "What", placeholder="What to do (required)", required=True),
        FormField(
            "due",
            "Due",
            "tomorrow 9am",
            "tomorrow 9am, fri 14:00, 3d",
            moment_preview(now, "Due"),
            required=True,
        ),
        FormField("repeat", "Repeat", placeholder=REPEAT_HINT, preview=_repeat_preview),
    ]

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler
        from crmtui.services.territories import me_rep_id

        due = read_moment(v["due"], daily.now(), "due", "Due")
        rule = read_repeat(v["repeat"])
        rep_name = daily.settings().rep_name
        ids: dict[str, Any] = {f"{about}_id": row_id}
        if about == "contact" and account_id:
            ids["account_id"] = account_id

        def write(tx: WriteTx) -> str:
            data = TicklerCreate(
                text=v["text"], due_at=due, recurrence=rule, owner_id=me_rep_id(tx, rep_name), **ids
            )
            return create_tickler(tx=tx, data=data).id

        made = daily.write_undoable(f"Reminder: {v['text'].strip()}", write)
        return Saved(f"Reminder due {in_full(due)} · ctrl+z undoes", made)

    for_what = {"contact": "Reminder about", "account": "Reminder for", "deal": "Reminder on"}[
        about
    ]
    return RecordForm(f"{for_what} {name}", fields, save, button="Add")


def edit_reminder_form(reminder: dict[str, Any], *, now: datetime) -> RecordForm:
    """Change an open reminder's text, due moment and repeat rule."""
    tz = now.tzinfo
    assert tz is not None
    before = {
        "text": reminder.get("text") or "",
        "due": _local(reminder.get("due_at"), tz),
        "repeat": reminder.get("recurrence") or "",
    }
    fields = [
        FormField("text", "What", before["text"], "What to do (required)", required=True),
        FormField(
            "due",
            "Due",
            before["due"],
            "tomorrow 9am, fri 14:00",
            moment_preview(now, "Due"),
            required=True,
        ),
        FormField(
            "repeat", "Repeat", before["repeat"], REPEAT_HINT, _repeat_preview, aliases=("rule",)
        ),
    ]
    tickler_id = str(reminder["id"])
    after_days = reminder.get("recur_after_days")
    about = f"Repeats {after_days} days after done" if after_days else ""

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.follow_ups.ticklers import TicklerUpdate, update_tickler

        given: dict[str, Any] = {}
        if v["text"] != before["text"]:
            given["text"] = v["text"]
        if v["due"] != before["due"]:
            given["due_at"] = read_moment(v["due"], daily.now(), "due", "Due")
        if v["repeat"] != before["repeat"]:
            given["recurrence"] = read_repeat(v["repeat"]) or ""
        if not given:
            return Saved("Nothing was changed.", tickler_id)
        data = TicklerUpdate(**given)
        changed = daily.write_undoable(
            f"Edit reminder: {v['text'].strip() or before['text']}",
            lambda tx: update_tickler(tx=tx, tickler_id=tickler_id, data=data),
        )
        return Saved(changed_notice(changed, fields), tickler_id)

    return RecordForm("Edit reminder", fields, save, about=about)


# ----------------------------------------------------------------- activities


def edit_activity_form(activity: dict[str, Any], *, now: datetime) -> RecordForm:
    """Correct a logged activity's moment, outcome and note."""
    from crmtui.store.models import ACTIVITY_OUTCOMES

    tz = now.tzinfo
    assert tz is not None
    before = {
        "at": _local(activity.get("occurred_at"), tz),
        "outcome": activity.get("outcome") or "",
        "text": activity.get("text") or "",
    }

    def outcome_preview(text: str) -> str:
        if text.strip() and text.strip() not in ACTIVITY_OUTCOMES:
            raise ValueError(
                f"Outcome: {text.strip()!r} is not one of {', '.join(ACTIVITY_OUTCOMES)}"
            )
        return ""

    fields = [
        FormField(
            "at", "When", before["at"], "2026-03-02 09:15, yesterday 14:00", moment_preview(now)
        ),
        FormField(
            "outcome", "Outcome", before["outcome"], "connected, no-answer, held…", outcome_preview
        ),
        FormField("text", "Note", before["text"], "What was said"),
    ]
    activity_id = str(activity["id"])
    kind = activity.get("kind") or "activity"

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.follow_ups.activities import ActivityUpdate, update_activity

        given: dict[str, Any] = {}
        if v["at"] != before["at"]:
            given["occurred_at"] = read_moment(v["at"], daily.now(), "at", "When")
        if v["outcome"] != before["outcome"]:
            given["outcome"] = v["outcome"]
        if v["text"] != before["text"]:
            given["text"] = v["text"]
        if not given:
            return Saved("Nothing was changed.", activity_id)
        data = ActivityUpdate(**given)
        changed = daily.write_undoable(
            f"Edit {kind} of {before['at']}",
            lambda tx: update_activity(tx=tx, activity_id=activity_id, data=data),
        )
        return Saved(changed_notice(changed, fields), activity_id)

    return RecordForm(f"Edit {kind} of {before['at']}", fields, save)


# ---------------------------------------------------------------------- deals


def add_deal_form(
    *,
    now: datetime,
    name: str = "",
    account_id: str | None = None,
    contact_id: str | None = None,
    about: str = "",
    currency: str = "EUR",
) -> RecordForm:
    """A new open deal, at an account and/or with a contact, in the default pipeline."""
    fields = [FormField("name", "Name", name, "What is sold (required)", required=True)]
    if account_id is None and contact_id is None:
        # From the board: the deal's account by its name (never a new one made here).
        fields.append(
            FormField("account", "Account", "", "An existing account's name (blank: none)")
        )
    fields += [
        FormField(
            "amount", "Amount", "", f"12,500 (in {currency}) or 9,900 GBP", amount_preview(currency)
        ),
        FormField(
            "close",
            "Closes",
            "",
            "2026-06-30, in 6 weeks",
            lambda t: _day_preview(t, now),
            aliases=("expected_close",),
        ),
        FormField("stage", "Stage", "", "blank: the first open stage"),
    ]

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.sales.deals import DealCreate, create_deal
        from crmtui.services.territories import me_rep_id

        minor, code = read_amount(v["amount"], currency)
        close = read_day(v["close"], "close", "Closes", daily.now())
        rep_name = daily.settings().rep_name
        data = DealCreate(
            name=v["name"],
            account_id=account_id,
            contact_id=contact_id,
            stage=v["stage"].strip() or None,
            amount_minor=minor,
            currency=code,
            expected_close=close,
        )

        def write(tx: WriteTx) -> str:
            if v.get("account", "").strip():
                data.account_id = _account_by_name(tx, v["account"])
            return create_deal(tx=tx, data=data, by=me_rep_id(tx, rep_name)).id

        made = daily.write_undoable(f"New deal: {v['name'].strip()}", write)
        return Saved(f"Deal {v['name'].strip()} opened · ctrl+z undoes", made)

    return RecordForm("New deal", fields, save, about=about, button="Add")


def _account_by_name(tx: WriteTx, name: str) -> str:
    """The one live account with this name; a namesake or none is a problem for the field."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from crmtui.store.models import Account

    found = tx.session.exec(
        select(Account).where(
            func.lower(Account.name) == name.strip().lower(), col(Account.deleted_at).is_(None)
        )
    ).all()
    if not found:
        raise FieldProblem("account", f"Account: no account is named {name.strip()!r}")
    if len(found) > 1:
        where = "; ".join(" · ".join(x for x in (a.name, a.city, a.domain) if x) for a in found[:3])
        raise FieldProblem(
            "account", f"Account: several are named so ({where}); open the account and press n"
        )
    return found[0].id


def open_new_deal(screen: Any, then: Any) -> None:
    """Show the new-deal form over `screen`; `then(deal_id)` after a save."""

    def done(result: Saved | None) -> None:
        if result is not None:
            screen.notify(result.summary, title="Saved")
            then(result.record_id)

    now = screen.app.daily.now()
    screen.app.push_screen(add_deal_form(now=now), done)


def deal_form_values(deal: Any) -> dict[str, str]:
    """The edit form's texts for a deal as its card read it (a DealHeader or a DealRow)."""
    from crmtui.domain.money import format_amount

    amount = (
        ""
        if deal.amount_minor is None
        else f"{format_amount(deal.amount_minor, deal.currency)} {deal.currency}"
    )
    own = deal.probability if deal.probability_source == "deal" else None
    return {
        "name": deal.name,
        "amount": amount,
        "close": stored_day(deal.expected_close, to_edit),
        "probability": "" if own is None else str(own),
        "stage": deal.stage_name or "",
    }


def edit_deal_form(deal: Any, *, now: datetime) -> RecordForm:
    """Change a deal's name, amount, close date, probability and stage (`deal`: a DealHeader).

    The save refuses when a field it changes was changed since the card read `deal`
    (`read_guard`).
    """
    before = deal_form_values(deal)
    own = deal.probability if deal.probability_source == "deal" else None
    fields = [
        FormField("name", "Name", before["name"], "Required"),
        FormField(
            "amount",
            "Amount",
            before["amount"],
            "12,500 EUR",
            amount_preview(deal.currency),
            aliases=("currency",),
        ),
        FormField(
            "close",
            "Closes",
            before["close"],
            "2026-06-30, in 6 weeks (blank: none)",
            lambda t: _day_preview(t, now),
            aliases=("expected_close",),
        ),
        FormField(
            "probability",
            "Probability",
            before["probability"],
            f"0-100 (blank: the stage's {deal.probability if own is None else ''}%)".replace(
                " %", ""
            ),
        ),
        FormField("stage", "Stage", before["stage"], "A stage of this pipeline"),
    ]
    deal_id = deal.id
    open_deal = deal.status == "open"

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.reports.deal_history import deal_header
        from crmtui.screens.dialogs.read_guard import changed_since, changed_since_message
        from crmtui.services.sales.deals import DealUpdate, move_deal, update_deal
        from crmtui.services.territories import me_rep_id
        from crmtui.store.resolve import NotFound

        given: dict[str, Any] = {}
        if v["name"] != before["name"]:
            given["name"] = v["name"]
        if v["amount"] != before["amount"]:
            given["amount_minor"], code = read_amount(v["amount"], deal.currency)
            if code != deal.currency:
                given["currency"] = code
        if v["close"] != before["close"]:
            given["expected_close"] = read_day(v["close"], "close", "Closes", daily.now())
        if v["probability"] != before["probability"]:
            given["probability"] = read_probability(v["probability"])
        stage = v["stage"].strip()
        move = stage != before["stage"]
        if move and not open_deal:
            raise FieldProblem("stage", "Stage: this deal is closed; reopen it first (o)")
        if not given and not move:
            return Saved("Nothing was changed.", deal_id)
        data = DealUpdate(**given)
        rep_name = daily.settings().rep_name

        edited = [n for n in before if n != "stage" and v[n] != before[n]] + ["stage"] * move

        def write(tx: WriteTx) -> list[str]:
            stored = deal_form_values(deal_header(tx.db, deal_id))
            stale = changed_since(before, stored, edited)
            if stale is not None:
                label = next(f.label for f in fields if f.name == stale)
                raise FieldProblem(stale, f"{label}: {changed_since_message(stored[stale])}")
            changed = update_deal(tx=tx, deal_id=deal_id, data=data) if given else []
            if move:
                if not stage:
                    raise FieldProblem("stage", "Stage: give a stage")
                try:
                    move_deal(tx=tx, deal_id=deal_id, stage=stage, by=me_rep_id(tx, rep_name))
                except NotFound as exc:
                    raise FieldProblem("stage", f"Stage: {exc}") from None
                changed.append("stage")
            return changed

        changed = daily.write_undoable(f"Edit deal {before['name']}", write)
        return Saved(changed_notice(changed, fields), deal_id)

    return RecordForm(f"Edit {deal.name}", fields, save)


# ------------------------------------------------------------------- accounts

ACCOUNT_FIELDS = (
    ("name", "Name", "Company name (required)"),
    ("domain", "Domain", "acme.example"),
    ("phone", "Phone", "Main number"),
    ("website", "Website", "https://…"),
    ("city", "City", ""),
    ("country", "Country", "ISO code, e.g. DE"),
    ("industry", "Industry", ""),
    ("territory", "Territory", "A territory's name (blank: none; rules leave it there)"),
    ("owner", "Owner", "A rep's name or email (blank: none)"),
)


def edit_account_form(account: dict[str, Any]) -> RecordForm:
    """Change an account's fields, its territory (pinned) and its owner."""
    before = {name: str(account.get(name) or "") for name, _, _ in ACCOUNT_FIELDS}
    before["territory"] = str(account.get("territory_name") or "")
    before["owner"] = str(account.get("owner_name") or "")
    fields = [FormField(n, label, before[n], hint) for n, label, hint in ACCOUNT_FIELDS]
    account_id = str(account["id"])

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.address_book.accounts import AccountUpdate, update_account
        from crmtui.services.territories import assign_account, find_rep, find_territory
        from crmtui.store.resolve import NotFound

        region = daily.settings().default_region
        given = {n: v[n] for n in before if n not in ("territory", "owner") and v[n] != before[n]}
        territory_changed = v["territory"] != before["territory"]
        owner_changed = v["owner"] != before["owner"]
        if not given and not territory_changed and not owner_changed:
            return Saved("Nothing was changed.", account_id)

        def write(tx: WriteTx) -> list[str]:
            values: dict[str, Any] = dict(given)
            if owner_changed:
                try:
                    values["owner_id"] = find_rep(tx, v["owner"]).id if v["owner"].strip() else None
                except NotFound:
                    raise FieldProblem(
                        "owner", f"Owner: no rep is named {v['owner'].strip()!r}"
                    ) from None
            changed = update_account(
                tx=tx, account_id=account_id, data=AccountUpdate(**values), region=region
            )
            if territory_changed:
                try:
                    where = (
                        find_territory(tx, v["territory"]).id if v["territory"].strip() else None
                    )
                except NotFound:
                    named = v["territory"].strip()
                    raise FieldProblem(
                        "territory", f"Territory: no territory is named {named!r}"
                    ) from None
                changed += assign_account(tx=tx, account_id=account_id, territory_id=where)
            return changed

        changed = daily.write_undoable(f"Edit account {before['name']}", write)
        return Saved(changed_notice(changed, fields), account_id)

    return RecordForm(f"Edit {before['name']}", fields, save)
