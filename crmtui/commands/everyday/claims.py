"""`crm claims ...`: team calling, the contacts this rep holds and the claims lost to others.

`crm calls --claim` takes contacts; `list` shows this rep's claims (held, or lost to
another rep's earlier claim after a sync), `release` gives them back. Exit codes: 0
done, 1 no such contact, 2 bad input, 3 database problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from crmtui import output
from crmtui.commands.common import DbOption, FormatOption, check_format
from crmtui.commands.everyday.daily import _reading, pick_contact
from crmtui.commands.writing import run_write, settings_or_exit

app = typer.Typer(help="Team calling: the contacts you hold by a claim, and claims lost.")


def _who(conn: Any, key: str) -> dict[str, Any]:
    """The claimed contact's (or lead's) name and ids, for one row of the list."""
    from crmtui.services.follow_ups.call_claims import claim_name, split_key

    contact_id, lead_id = split_key(key)
    return {"contact": claim_name(conn, key), "contact_id": contact_id, "lead_id": lead_id}


def _rep(conn: Any, rep_id: str | None) -> str:
    row = conn.execute("SELECT name FROM rep WHERE id = ?", (rep_id,)).fetchone()
    return row[0] if row else "(unknown rep)"


@app.command("list")
def list_claims(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """Your live claims: held (yours to call) or lost (another rep claimed first)."""
    from crmtui.services.follow_ups.call_claims import held_by_me, lost_claims, me_on

    check_format(fmt)
    now = datetime.now(UTC)
    with _reading(ctx, db) as conn:
        me = me_on(conn, settings_or_exit().rep_name)
        rows = [
            {
                **_who(conn, c.contact_id),
                "state": "held",
                "until": c.expires_at.isoformat(timespec="minutes"),
                "holder": _rep(conn, me) if me else "",
            }
            for c in held_by_me(conn, me, now).values()
        ]
        rows += [
            {
                **_who(conn, mine.contact_id),
                "state": "lost",
                "until": winner.expires_at.isoformat(timespec="minutes"),
                "holder": _rep(conn, winner.rep_id),
            }
            for mine, winner in lost_claims(conn, me, now)
        ]
    if not rows and fmt == "table":
        typer.echo("no live claims", err=True)
        return
    output.write_records(
        rows, fmt, columns=("contact", "state", "until", "holder", "contact_id", "lead_id")
    )


@app.command("release")
def release(
    ctx: typer.Context,
    who: Annotated[
        list[str] | None, typer.Argument(help="Contacts or lead:ID (default: all yours).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Give back your claims (on these contacts, or all) so the team's others may call them."""
    from crmtui.commands.everyday.plans import lead_of
    from crmtui.services.follow_ups.call_claims import claim_key, me_on, release_claims

    def key(word: str) -> str | None:
        lead_id = lead_of(ctx, db, word)
        if lead_id is not None:
            return claim_key(None, lead_id)
        return pick_contact(ctx, db, word, create=False)

    ids = [key(w) for w in who] if who else None
    with _reading(ctx, db) as conn:
        me = me_on(conn, settings_or_exit().rep_name)
    count = run_write(
        ctx,
        db,
        lambda tx: release_claims(
            tx=tx, me=me, contact_ids=[i for i in ids if i] if ids is not None else None
        ),
    )
    typer.echo(f"released {count} claim(s)", err=True)
