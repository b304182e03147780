"""`crm mail ...` and `crm log email`: mail in (a piped message, a Maildir folder) and out (the outbox).

Exit codes: 0 done, 1 no contact has the address (candidates on stderr), 2 bad
input or config, 3 database problem, 4 consent refused a message (it stays in
the outbox as `refused`, with the reason), 75 the server or command could not
take a message now (it stays in the outbox as `failed`; `crm mail send` retries).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    input_file,
    one_line,
    open_db,
)
from crmtui.commands.completion import complete_contact
from crmtui.commands.writing import run_write, settings_or_exit

if TYPE_CHECKING:
    from crmtui.domain.mail import Address, MailMessage
    from crmtui.formats.mail_template import MailTemplate
    from crmtui.mail.settings import MailSettings
    from crmtui.services.follow_ups.outbox import Draft
    from crmtui.store.journal import WriteTx

EXIT_REFUSED = 4
EXIT_TEMPFAIL = 75
MAX_MESSAGE_BYTES = 50 * 1024 * 1024

app = typer.Typer(
    help="Mail: log messages from a Maildir folder, write from templates, send the outbox.",
    no_args_is_help=True,
)


def mail_settings() -> MailSettings:
    """The `[mail]` table of the config (defaults when it has none)."""
    from crmtui.mail.settings import MailSettings

    return settings_or_exit().mail or MailSettings()


def _cap() -> Any:
    from crmtui.services.consent import CallCap

    settings = settings_or_exit()
    return CallCap(settings.call_cap, settings.call_cap_days)


def _reader(ctx: typer.Context, db: Path | None) -> Any:
    """A read-only sqlite3 connection (exit 3 when the database cannot be read)."""
    from crmtui.fastcli import open_lookup
    from crmtui.search.lookup import LookupDatabaseError

    try:
        return open_lookup(db_path(ctx, db, "read"))
    except LookupDatabaseError as exc:
        fail(str(exc), EXIT_DATABASE)


# --------------------------------------------------------------------------- mail in


def _read_message(source: Path | None) -> MailMessage:
    from crmtui.formats.mail_message import MailFormatError, parse_message

    if source is not None:
        path = input_file(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"{path}: cannot read it ({one_line(exc)})")
        where = str(path)
    else:
        if sys.stdin.isatty():
            fail(
                "pipe a message into `crm log email` (mutt: `| crm log email`), or give --message FILE"
            )
        data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        where = "standard input"
    try:
        return parse_message(data)
    except MailFormatError as exc:
        fail(f"{where}: not a mail message: {exc}")


def _candidates(ctx: typer.Context, db: Path | None, unknown: list[Address]) -> list[str]:
    """Contacts whose name looks like an unknown sender's, as lines for stderr."""
    from crmtui.commands.common import db_path
    from crmtui.fastcli import open_lookup
    from crmtui.search import lookup

    lines: list[str] = []
    try:
        conn = open_lookup(db_path(ctx, db, "read"))
    except lookup.LookupDatabaseError:
        return lines
    try:
        for address in unknown:
            query = address.name or address.addr.split("@")[0].replace(".", " ")
            for hit in lookup.search_contacts(conn, query, limit=5):
                lines.append(f"{hit.name} ({hit.company or hit.email or ''}) {hit.id}")
    finally:
        conn.close()
    return lines


def log_email_message(
    ctx: typer.Context,
    *,
    source: Path | None,
    contact: str | None,
    create: bool,
    db: Path | None,
) -> None:
    """`crm log email` with no WHO: log the RFC 822 message on stdin (or in `source`)."""
    from crmtui.services.address_book.contacts import ContactCreate, create_contact
    from crmtui.services.follow_ups.mail_log import log_mail, route

    message = _read_message(source)
    settings = settings_or_exit()
    mine = mail_settings().addresses
    if not mine:
        typer.echo(
            "crm: note: no [mail] addresses in the config, so every message counts as received",
            err=True,
        )
    chosen = None
    if contact:
        from crmtui.commands.everyday.daily import pick_contact

        chosen = pick_contact(ctx, db, contact, create=False)
    cap = _cap()

    def action(tx: WriteTx) -> tuple[list[Any], list[str], str, list[Address], list[Address]]:
        where = route(tx.db, message, mine)
        created: list[str] = []
        if chosen is not None:
            ids = [chosen]
        else:
            ids = [o.contact_id for a in where.counterparts for o in where.known[a.addr.lower()]]
            if where.ambiguous():
                return [], [], where.direction, [], where.ambiguous()
            if where.unknown() and (create or not ids):
                if not create:
                    return [], [], where.direction, where.unknown(), []
                for address in where.unknown():
                    person = create_contact(
                        tx=tx,
                        data=ContactCreate(
                            name=address.name or address.addr,
                            email=address.addr,
                            source="email",
                        ),
                        region=settings.default_region,
                    )
                    ids.append(person.id)
                    created.append(f"{person.name} <{address.addr}> ({person.id})")
        logged = log_mail(
            tx=tx,
            message=message,
            direction=where.direction,
            contact_ids=ids,
            cap=cap,
            rep_name=settings.rep_name,
        )
        return logged, created, where.direction, [], []

    logged, created, direction, unknown, ambiguous = run_write(
        ctx, db, action, undo=lambda r: f"Log email: {message.subject or '(no subject)'}"
    )
    if ambiguous:
        who = ", ".join(a.addr for a in ambiguous)
        fail(
            f"several contacts have the address {who}; say which with --contact ID", EXIT_NOT_FOUND
        )
    if unknown:
        who = ", ".join(str(a) for a in unknown)
        typer.echo(f"crm: no contact has the address {who}", err=True)
        lines = _candidates(ctx, db, unknown)
        if lines:
            typer.echo(
                "crm: contacts with a similar name (log on one with --contact ID):", err=True
            )
            for line in lines:
                typer.echo(f"  {line}", err=True)
        fail("nothing was logged; add --create to make the contact", EXIT_NOT_FOUND)
    for line in created:
        typer.echo(f"created contact {line}", err=True)
    for activity in logged:
        typer.echo(activity.id)
    verb = "sent" if direction == "out" else "received"
    subject = message.subject or "(no subject)"
    if logged:
        typer.echo(f"logged email {verb}: {subject} ({len(logged)} contact(s))", err=True)
        typer.echo("undo: crm undo", err=True)
    else:
        typer.echo(f"already logged: {subject} ({message.message_id})", err=True)


@app.command("scan")
def scan(
    ctx: typer.Context,
    folders: Annotated[
        list[Path] | None,
        typer.Argument(help="Maildir folders (default: [mail] scan_folders in the config)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Log the messages to or from known contacts in the named Maildir folders (once each).

    Only the folders named (their cur/ and new/), never subfolders or the rest of
    the mailbox; messages are read, never moved or flagged.
    """
    from crmtui.mail.scan import NotAMaildir, scan_folder

    db_path(ctx, db)  # the database's problems first, as every command says them
    chosen = [Path(f).expanduser() for f in (folders or mail_settings().scan_folders)]
    if not chosen:
        fail("name a Maildir folder (or set [mail] scan_folders in the config)")
    settings = settings_or_exit()
    store = open_db(ctx, db)
    try:
        for folder in chosen:
            try:
                report = scan_folder(
                    store,
                    folder,
                    mine=mail_settings().addresses,
                    cap=_cap(),
                    rep_name=settings.rep_name,
                )
            except NotAMaildir as exc:
                fail(str(exc))
            typer.echo(
                f"{folder}: {report.messages} messages, {report.logged} logged, "
                f"{report.already} already logged, {report.unknown} with no known contact",
                err=True,
            )
            for problem in report.unreadable[:10]:
                typer.echo(f"  unreadable: {problem}", err=True)
    finally:
        store.close()


# --------------------------------------------------------------------------- mail out


def templates_dir() -> Path:
    """Where templates live: [mail] templates_dir, else `templates` beside the config file."""
    from crmtui.config import user_config_path
    from crmtui.mail.templates import template_folder

    return template_folder(mail_settings().templates_dir, user_config_path().parent)


def _template_path(name: str) -> Path:
    from crmtui.formats.mail_template import TemplateError
    from crmtui.mail.templates import template_path

    try:
        return template_path(templates_dir(), name)
    except TemplateError as exc:
        fail(str(exc))


SKELETON = """Subject: Following up, {company|}

Hello {first_name},

(write here; merge fields: {name} {first_name} {last_name} {company} {deal} {rep} {email};
 {company|our team} gives a default when the contact has no company)

Best regards,
{rep}
"""


@app.command("template")
def template(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="Template name (a file NAME.txt in the templates folder).")
    ],
    db: DbOption = None,
) -> None:
    """Write or change a template in $EDITOR (checked before it is saved)."""
    db_path(ctx, db, "read")  # templates are files, but a wrong --db is said, never ignored
    from crmtui.commands.long_text import edit
    from crmtui.formats.mail_template import TemplateError, parse_template

    path = _template_path(name)
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else SKELETON
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it ({exc})")
    text = edit(before)
    try:
        parse_template(text, str(path))
    except TemplateError as exc:
        fail(f"{exc}; not saved")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {one_line(exc)}")
    typer.echo(f"saved {path}", err=True)


@app.command("templates")
def templates(ctx: typer.Context, db: DbOption = None) -> None:
    """List the templates and their subjects."""
    db_path(ctx, db, "read")  # templates are files, but a wrong --db is said, never ignored

    from crmtui.mail.templates import list_templates

    folder = templates_dir()
    entries = list_templates(folder)
    if not entries:
        typer.echo(f"no templates in {folder} (crm mail template NAME writes one)", err=True)
        return
    for entry in entries:
        typer.echo(f"{entry.name}\t{entry.subject}")


def _tagged(ctx: typer.Context, db: Path | None, tag: str) -> list[str]:
    from crmtui.commands.common import db_path
    from crmtui.fastcli import open_lookup
    from crmtui.search.lookup import LookupDatabaseError

    try:
        conn = open_lookup(db_path(ctx, db, "read"))
    except LookupDatabaseError as exc:
        fail(str(exc), EXIT_DATABASE)
    try:
        rows = conn.execute(
            "SELECT c.id FROM contact c, json_each(c.tags) t WHERE t.value = ? "
            "AND c.deleted_at IS NULL AND c.archived_at IS NULL ORDER BY c.name, c.id",
            (tag.strip().lower(),),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


@app.command("write")
def write(
    ctx: typer.Context,
    who: Annotated[
        list[str] | None,
        typer.Argument(
            help="Contacts (ID, name, email ...), one or more.", autocompletion=complete_contact
        ),
    ] = None,
    template_name: Annotated[
        str | None, typer.Option("--template", "-t", help="A template name (crm mail templates).")
    ] = None,
    tag: Annotated[
        str | None, typer.Option(help="Also every live contact with this tag (a segment).")
    ] = None,
    deal: Annotated[
        str | None, typer.Option(help="The deal {deal} names (default: the newest open one).")
    ] = None,
    edit_it: Annotated[
        bool,
        typer.Option(
            "--edit", "-e", help="Open the mail (or the template, for several) in $EDITOR."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Write mail from a template to contacts; it waits in the outbox until `crm mail send`.

    Do-not-email and archived contacts are refused (exit 4; the refusal is kept in
    the outbox with its reason). A contact with no value for a merge field is
    skipped and named.
    """
    from crmtui.commands.everyday.daily import pick_contact
    from crmtui.commands.long_text import edit
    from crmtui.formats.mail_template import TemplateError, parse_template, render
    from crmtui.mail.merge import merge_values
    from crmtui.services.follow_ups.outbox import Draft

    db_path(ctx, db)  # the database's problems first, as every command says them
    sender = mail_settings().sender
    if not sender or "@" not in sender:
        fail("set [mail] addresses (or from_address) in the config: mail needs a sender")
    ids = [pick_contact(ctx, db, w, create=False) or "" for w in who or []]
    if tag:
        ids += _tagged(ctx, db, tag)
    ids = list(dict.fromkeys(i for i in ids if i))
    if not ids:
        if tag:
            fail(f"no live contact has the tag {tag!r}", EXIT_NOT_FOUND)
        fail("name a contact, or --tag TAG for a segment")
    base = _base_template(template_name, edit_it)
    settings = settings_or_exit()
    rep = mail_settings().from_name or settings.rep_name
    deal_name = deal

    def values_for(conn: Any, contact_id: str) -> dict[str, str | None]:
        return merge_values(conn, contact_id, rep=rep, deal=deal_name)

    drafts: list[Draft] = []
    skipped: list[str] = []

    conn = _reader(ctx, db)
    try:
        if len(ids) == 1:
            drafts.append(_one_draft(conn, ids[0], base, values_for, edit_it, template_name))
        else:
            if edit_it:
                try:
                    base = parse_template(
                        edit(base.as_text() if base.subject else SKELETON), "the template"
                    )
                except TemplateError as exc:
                    fail(f"{exc}; nothing was queued")
            for contact_id in ids:
                values = values_for(conn, contact_id)
                try:
                    mail = render(base, values, values["name"] or contact_id)
                except TemplateError as exc:
                    skipped.append(str(exc))
                    continue
                drafts.append(Draft(contact_id, mail.subject, mail.body, template_name))
    finally:
        conn.close()
    _queue(ctx, db, drafts, skipped, sender.rpartition("@")[2])


def _base_template(template_name: str | None, edit_it: bool) -> MailTemplate:
    """The named template, or an empty one to write in the editor."""
    from crmtui.formats.mail_template import MailTemplate, TemplateError

    if template_name:
        from crmtui.mail.templates import read_template

        try:
            return read_template(templates_dir(), template_name)
        except TemplateError as exc:
            fail(str(exc))
    if not edit_it:
        fail("give --template NAME, or --edit to write the mail in $EDITOR")
    return MailTemplate("", "")


def _queue(
    ctx: typer.Context, db: Path | None, drafts: list[Draft], skipped: list[str], domain: str
) -> None:
    """Queue the drafts in one transaction and say what happened (exit 4 when any was refused)."""
    from crmtui.domain.validate import InvalidInput
    from crmtui.services.follow_ups.outbox import queue_mail

    def action(tx: WriteTx) -> list[tuple[str, str, str | None, str | None, str, str]]:
        rows = []
        for draft in drafts:
            try:
                rows.append(queue_mail(tx=tx, draft=draft, sender_domain=domain))
            except InvalidInput as exc:
                if len(drafts) == 1:
                    raise
                skipped.append(exc.message)
        return [(r.id, r.status, r.reason, r.to_name, r.to_addr, r.subject) for r in rows]

    rows = run_write(ctx, db, action)
    refused = 0
    for row_id, status, reason, name, addr, subject in rows:
        if status == "refused":
            refused += 1
            typer.echo(f"refused: {name} <{addr}>: {reason} (kept in the outbox)", err=True)
        else:
            typer.echo(row_id)
            typer.echo(f"queued: {name} <{addr}>: {subject}", err=True)
    for reason in skipped:
        typer.echo(f"skipped: {reason}", err=True)
    typer.echo(
        f"{len(rows) - refused} queued, {refused} refused, {len(skipped)} skipped; "
        "send with `crm mail send`",
        err=True,
    )
    if refused:
        raise typer.Exit(EXIT_REFUSED)


def _one_draft(
    conn: Any,
    contact_id: str,
    base: MailTemplate,
    values_for: Callable[[Any, str], dict[str, str | None]],
    edit_it: bool,
    template_name: str | None,
) -> Draft:
    """One contact's mail: the template filled, then (with --edit) as the rep edits it."""
    from crmtui.commands.long_text import edit
    from crmtui.formats.mail_template import TemplateError, parse_mail, render
    from crmtui.services.follow_ups.outbox import Draft

    values = values_for(conn, contact_id)
    where = values["name"] or contact_id
    text = base.as_text() if base.subject else "Subject: \n\n"
    if base.subject:
        try:
            text = render(base, values, where).as_text()
        except TemplateError as exc:
            if not edit_it:
                fail(f"{exc} (nothing was queued; --edit lets you write it in)")
    if edit_it:
        text = edit(text, suffix=".eml")
    try:
        mail = parse_mail(text)
        if mail.fields():  # fields a failed fill left in, or typed in the editor
            mail = render(mail, values, where)
    except TemplateError as exc:
        fail(f"{exc}; nothing was queued")
    return Draft(contact_id, mail.subject, mail.body, template_name)


OUTBOX_COLUMNS = ("status", "queued", "to", "subject", "reason", "id")


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Sent messages too.")] = False,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """The outbox: queued, failed, refused (and with --all, sent) messages, oldest first."""
    from crmtui.commands.common import db_path
    from crmtui.fastcli import open_lookup
    from crmtui.search.lookup import LookupDatabaseError

    check_format(fmt)
    try:
        conn = open_lookup(db_path(ctx, db, "read"))
    except LookupDatabaseError as exc:
        fail(str(exc), EXIT_DATABASE)
    try:
        where = "" if all_ else "WHERE status != 'sent'"
        rows = conn.execute(
            "SELECT id, status, queued_at, to_name, to_addr, subject, reason, attempts, "
            f"message_id, sent_at FROM mail_outbox {where} ORDER BY queued_at, id"
        ).fetchall()
    finally:
        conn.close()
    tz = output.user_zone()  # as `crm show` and `crm due` say moments: the user's clock
    records = [
        {
            "status": r[1],
            "queued": output.shell_moment(r[2], tz),
            "to": f"{r[3]} <{r[4]}>",
            "subject": r[5],
            "reason": r[6],
            "id": r[0],
            **({} if fmt == "table" else {"attempts": r[7], "message_id": r[8], "sent_at": r[9]}),
        }
        for r in rows
    ]
    output.write_records(records, fmt, columns=OUTBOX_COLUMNS)
    if not records:
        typer.echo("the outbox is empty", err=True)


def send_now(ctx: typer.Context, db: Path | None, *, retry_unclear: bool = False) -> int:
    """Send the outbox; prints what happened and returns the exit code (also used by `crm sync`)."""
    from crmtui.mail.send import MailConfigError, send_outbox

    settings = settings_or_exit()
    store = open_db(ctx, db)
    try:
        report = send_outbox(
            store, mail_settings(), rep_name=settings.rep_name, retry_unclear=retry_unclear
        )
    except MailConfigError as exc:
        fail(f"cannot send mail: {exc} (the outbox is kept)")
    finally:
        store.close()
    for label in report.sent:
        typer.echo(f"sent: {label}", err=True)
    for label, reason in report.refused:
        typer.echo(f"refused: {label}: {reason}", err=True)
    for label, reason in report.failed:
        typer.echo(f"failed: {label}: {reason} (kept; retried on the next send)", err=True)
    if report.unclear:
        typer.echo(
            f"{report.unclear} message(s) were being sent when crm stopped; the server may have "
            "them. Check your sent folder, then `crm mail send --retry-unclear` (same Message-ID).",
            err=True,
        )
    typer.echo(
        f"{len(report.sent)} sent, {len(report.failed)} failed, {len(report.refused)} refused",
        err=True,
    )
    if report.refused:
        return EXIT_REFUSED
    return EXIT_TEMPFAIL if report.failed else 0


def at_sync(ctx: typer.Context, db: Path | None) -> None:
    """With `[mail] at_sync = true`: scan the configured folders and send the outbox.

    A mail problem is reported and never stops the sync (the outbox is kept).
    """
    settings = mail_settings()
    if not settings.at_sync:
        return
    from crmtui.mail.scan import NotAMaildir, scan_folder

    if settings.scan_folders:
        store = open_db(ctx, db)
        try:
            for folder in settings.scan_folders:
                try:
                    report = scan_folder(
                        store,
                        Path(folder).expanduser(),
                        mine=settings.addresses,
                        cap=_cap(),
                        rep_name=settings_or_exit().rep_name,
                    )
                except NotAMaildir as exc:
                    typer.echo(f"crm: mail scan skipped: {exc}", err=True)
                    continue
                typer.echo(f"mail: {folder}: {report.logged} logged", err=True)
        finally:
            store.close()
    try:
        send_now(ctx, db)
    except typer.Exit as exc:
        if exc.exit_code:
            typer.echo("crm: mail: not everything was sent (see above); syncing on", err=True)


@app.command("send")
def send(
    ctx: typer.Context,
    retry_unclear: Annotated[
        bool,
        typer.Option("--retry-unclear", help="Also resend messages a stopped send left unclear."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Send the outbox over SMTP or the sendmail command of the config; each sent mail is logged."""
    code = send_now(ctx, db, retry_unclear=retry_unclear)
    if code:
        raise typer.Exit(code)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    outbox_id: Annotated[str, typer.Argument(help="The message's id in `crm mail outbox`.")],
    db: DbOption = None,
) -> None:
    """Take a message out of the outbox before it is sent (queued, failed or refused ones)."""
    from crmtui.services.follow_ups.outbox import withdraw_mail

    def action(tx: WriteTx) -> tuple[str, str | None, str, str]:
        row = withdraw_mail(tx=tx, outbox_id=outbox_id)
        return row.id, row.to_name, row.to_addr, row.subject

    row_id, name, addr, subject = run_write(ctx, db, action)
    typer.echo(row_id)
    typer.echo(f"withdrawn: {name} <{addr}>: {subject}", err=True)
