"""Mail from the shell: `crm email`, `crm log email`, `crm mail scan`, templates, the outbox.

Sending goes through a real SMTP server (aiosmtpd) started by the test; what it
received is read back, headers included.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

DATA = Path(__file__).parent / "data" / "mail"
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("fixed_day")
PASSWORD = "s3cret-only-in-env"


def config(**mail: Any) -> None:
    """Write the config: Berlin time, the rep, and a [mail] table."""
    lines = ['timezone = "Europe/Berlin"', 'rep_name = "Jeff King"', "[mail]"]
    mail.setdefault("addresses", ["peff@peff.net"])
    mail.setdefault("templates_dir", str(Path(os.environ["HOME"]) / "templates"))
    for key, value in mail.items():
        # JSON strings and lists of strings are TOML too; booleans and ints are not JSON's.
        text = (
            str(value).lower() if isinstance(value, bool) else json.dumps(value, ensure_ascii=False)
        )
        lines.append(f"{key} = {text}")
    Path(os.environ["CRMTUI_CONFIG"]).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(autouse=True)
def _setup() -> None:
    config()
    open_store(Path(os.environ["CRMTUI_DB"])).close()


def crm(*args: str, code: int = 0, input: bytes | str | None = None) -> tuple[str, str]:
    """Run a command; check its exit code; return (stdout, stderr)."""
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


def add(name: str, *extra: str) -> str:
    return crm("contact", "add", name, *extra)[0].strip()


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["CRMTUI_DB"])


def email_activities(contact_id: str) -> list[tuple[str, str]]:
    return (
        db()
        .execute(
            "SELECT occurred_at, text FROM activity WHERE contact_id = ? AND kind = 'email' "
            "AND deleted_at IS NULL ORDER BY occurred_at",
            (contact_id,),
        )
        .fetchall()
    )


# --------------------------------------------------------------------------- address queries


def test_mutt_query_format_and_no_match() -> None:
    add("René Haber", "--company", "Habr", "--email", "rene@habr.de")
    add("Anna Müller", "--email", "anna@acme.example", "--do-not-email")
    out, _ = crm("email", "haber", "--parsable")
    first, *rows = out.splitlines()
    assert first.startswith("crm: 1 address")  # mutt shows the first line as a message
    assert rows == ["rene@habr.de\tRené Haber\tHabr"]
    out, _ = crm("email", "müller", "--parsable")
    assert out.splitlines()[1] == "anna@acme.example\tAnna Müller\t(do not email)"
    out, _ = crm("email", "haber", "--aerc")
    assert out == "rene@habr.de\tRené Haber\n"
    out, _ = crm("email", "nobody-here", "--parsable", code=1)
    assert out.startswith("crm: no contact")


# --------------------------------------------------------------------------- mail in


def test_log_email_from_stdin_finds_the_sender_and_is_logged_once() -> None:
    rene = add("René Haber", "--email", "RENE@habr.de")
    out, err = crm("log", "email", input=(DATA / "gitlist_rene_haber.eml").read_bytes())
    assert "logged email received" in err
    ((when, text),) = email_activities(rene)
    assert when.startswith("2012-03-05T12:46:39")
    assert text.startswith("Email received: Re: Bug: pull --rebase with é in name\n")
    assert "Attachments (not stored): 16b9441.commit" in text
    assert db().execute(
        "SELECT outcome FROM activity WHERE contact_id = ?", (rene,)
    ).fetchone() == ("replied",)
    assert (
        out.strip()
        == db().execute("SELECT id FROM activity WHERE contact_id = ?", (rene,)).fetchone()[0]
    )
    _, err = crm("log", "email", "--message", str(DATA / "gitlist_rene_haber.eml"))
    assert "already logged" in err
    assert len(email_activities(rene)) == 1
    crm("undo")  # the log taken back: the same mail may be logged again
    assert email_activities(rene) == []
    crm("log", "email", "--message", str(DATA / "gitlist_rene_haber.eml"))
    assert len(email_activities(rene)) == 1


def test_unknown_sender_exits_1_with_candidates_then_create() -> None:
    other = add("Rene Haber", "--email", "rene.haber@old-job.example")
    message = (DATA / "gitlist_rene_haber.eml").read_bytes()
    _out, err = crm("log", "email", input=message, code=1)
    assert "no contact has the address René Haber <rene@habr.de>" in err
    assert other in err  # the similar name is offered, with its id
    assert email_activities(other) == []
    crm("log", "email", "--contact", other, input=message)
    assert len(email_activities(other)) == 1
    _, err = crm("log", "email", "--create", input=message)
    assert "created contact René Haber <rene@habr.de>" in err
    (new_id,) = (
        db()
        .execute("SELECT contact_id FROM contact_email WHERE address = 'rene@habr.de'")
        .fetchone()
    )
    assert len(email_activities(new_id)) == 1


def test_a_mail_the_rep_sent_is_logged_for_its_recipients() -> None:
    config(addresses=["rene@habr.de"])  # now René is the rep: the message is outgoing
    jeff = add("Jeff King", "--email", "peff@peff.net")
    thomas = add("Thomas Rast", "--email", "trast@inf.ethz.ch")
    crm("log", "email", input=(DATA / "gitlist_rene_haber.eml").read_bytes())
    for contact in (jeff, thomas):
        ((_, text),) = email_activities(contact)
        assert text.startswith("Email sent: Re: Bug")


def maildir(root: Path, *names: str) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for i, name in enumerate(names):
        shutil.copy(DATA / name, root / "cur" / f"{1700000000 + i}.M{i}P1.host:2,S")
    return root


def test_scan_logs_known_contacts_once_and_only_the_folder_named(tmp_path: Path) -> None:
    rene = add("René Haber", "--email", "rene@habr.de")
    reporter = add("Bug Reporter", "--email", "new@thunderbird.bug")
    inbox = maildir(
        tmp_path / "INBOX",
        "gitlist_rene_haber.eml",
        "thunderbird_sample04.eml",
        "cpython_msg_22.eml",  # b@example.com: nobody we know
    )
    # A subfolder (Maildir++ ".Sub") holding a message from a known contact: never read.
    maildir(inbox / ".Archive", "thunderbird_sample08.eml")
    add("John", "--email", "john@example.com")
    _, err = crm("mail", "scan", str(inbox))
    assert "3 messages, 2 logged, 0 already logged, 1 with no known contact" in err
    assert len(email_activities(rene)) == 1
    ((_, text),) = email_activities(reporter)
    assert "Email received: Алфавит" in text and "Вопрос" in text
    _, err = crm("mail", "scan", str(inbox))
    assert "0 logged, 2 already logged" in err
    assert db().execute("SELECT count(*) FROM activity WHERE kind = 'email'").fetchone() == (2,)
    _, err = crm("mail", "scan", str(tmp_path), code=2)
    assert "not a Maildir folder" in err


# --------------------------------------------------------------------------- long texts


def editor_script(tmp_path: Path, body: str, replace: tuple[str, str] = ("Hello", "Dear")) -> str:
    """An $EDITOR that makes one replacement in the file and appends `body`."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        f"t = p.read_text(encoding='utf-8').replace({replace[0]!r}, {replace[1]!r})\n"
        f"p.write_text(t + {body!r}, encoding='utf-8')\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def test_log_text_from_stdin_and_from_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = add("Anna Müller")
    crm("log", "note", "anna", "-", input="Line one\nline two\n")
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "From the editor\nsecond line\n"))
    crm("log", "note", "anna", "--edit")
    texts = [
        r[0]
        for r in db().execute("SELECT text FROM activity WHERE contact_id = ? ORDER BY id", (anna,))
    ]
    assert texts == ["Line one\nline two", "From the editor\nsecond line"]
    crm("contact", "edit", anna, "--notes", "-", input="met at the fair\nlikes tea\n")
    assert db().execute("SELECT notes FROM contact WHERE id = ?", (anna,)).fetchone() == (
        "met at the fair\nlikes tea",
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} -c 'import sys; sys.exit(3)'")
    _, err = crm("log", "note", "anna", "--edit", code=2)
    assert "exited with 3; nothing was saved" in err


# --------------------------------------------------------------------------- mail out


class Inbox:
    """What the SMTP server received; `refuse` makes it answer 451 to the next DATA."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse = 0
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = data.login == b"jeff" and data.password == PASSWORD.encode()
        return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,  # a local test server; production configs use starttls
    )
    controller.start()
    monkeypatch.setenv("CRM_TEST_SMTP_PASSWORD", PASSWORD)
    config(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_user="jeff",
        password_env="CRM_TEST_SMTP_PASSWORD",
        from_name="Jeff Kíng",
    )
    try:
        yield inbox
    finally:
        controller.stop()


def template(name: str, text: str) -> None:
    folder = Path(os.environ["HOME"]) / "templates"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")


def outbox() -> list[tuple[str, str, str | None, str]]:
    return (
        db()
        .execute("SELECT status, to_addr, reason, message_id FROM mail_outbox ORDER BY queued_at")
        .fetchall()
    )


def test_templated_mail_waits_offline_then_arrives_with_its_headers(smtp: Inbox) -> None:
    anna = add("Anna Müller", "--company", "Acme GmbH", "--email", "anna@acme.example")
    template(
        "offer", "Subject: Our offer for {company}\n\nHello {first_name},\n\nhere it is.\n\n{rep}\n"
    )
    _out, _ = crm("mail", "write", "anna", "--template", "offer")
    assert smtp.messages == []  # queued, not sent
    ((status, to, _, message_id),) = outbox()
    assert (status, to) == ("queued", "anna@acme.example")
    _, err = crm("mail", "send")
    assert "1 sent, 0 failed, 0 refused" in err
    ((rcpts, raw),) = smtp.messages
    assert rcpts == ["anna@acme.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["From"]) == "Jeff Kíng <peff@peff.net>"
    assert str(msg["To"]) == "Anna Müller <anna@acme.example>"
    assert "=?utf-8?" in raw.split(b"\r\n\r\n")[0].decode("ascii")  # non-ASCII names encoded
    assert str(msg["Subject"]) == "Our offer for Acme GmbH"
    assert str(msg["Message-ID"]) == message_id and message_id.endswith("@peff.net>")
    assert msg["Date"].datetime is not None
    assert msg.get_content().replace("\r\n", "\n") == "Hello Anna,\n\nhere it is.\n\nJeff Kíng\n"
    assert smtp.logins == [(b"jeff", PASSWORD.encode())]
    assert outbox()[0][0] == "sent"
    ((_, text),) = email_activities(anna)
    assert text.startswith("Email sent: Our offer for Acme GmbH")
    # The password came from the environment and went nowhere else.
    assert PASSWORD.encode() not in Path(os.environ["CRMTUI_DB"]).read_bytes()
    _, err = crm("mail", "send")
    assert "0 sent" in err and len(smtp.messages) == 1


def test_a_refused_send_stays_with_its_reason_and_the_retry_keeps_the_message_id(
    smtp: Inbox,
) -> None:
    add("Anna Müller", "--email", "anna@acme.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    crm("mail", "write", "anna", "-t", "hi")
    smtp.refuse = 1
    _, _err = crm("mail", "send", code=75)
    ((status, _, reason, message_id),) = outbox()
    assert status == "failed" and "451" in (reason or "") and "mailbox busy" in (reason or "")
    assert smtp.messages == []
    crm("mail", "send")
    ((_, raw),) = smtp.messages
    assert email.message_from_bytes(raw)["Message-ID"] == message_id
    assert outbox()[0][0] == "sent"
    assert db().execute("SELECT attempts FROM mail_outbox").fetchone() == (2,)


def test_an_interrupted_send_is_not_resent_unasked(smtp: Inbox) -> None:
    add("Anna Müller", "--email", "anna@acme.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    crm("mail", "write", "anna", "-t", "hi")
    with db() as conn:  # a send that stopped between "sending" and the server's answer
        conn.execute("UPDATE mail_outbox SET status = 'sending', attempts = 1")
    _, err = crm("mail", "send")
    assert "were being sent when crm stopped" in err and smtp.messages == []
    crm("mail", "send", "--retry-unclear")
    assert len(smtp.messages) == 1


def test_a_queued_mail_can_be_withdrawn_but_not_a_sent_one(smtp: Inbox) -> None:
    add("Anna Müller", "--email", "anna@acme.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    first, _ = crm("mail", "write", "anna", "-t", "hi")
    out, err = crm("mail", "withdraw", first.strip()[:8])
    assert out.strip() == first.strip() and "withdrawn: Anna Müller <anna@acme.example>: Hi" in err
    assert outbox() == []
    crm("mail", "send")
    assert smtp.messages == []  # nothing left to send
    second, _ = crm("mail", "write", "anna", "-t", "hi")
    crm("mail", "send")
    _, err = crm("mail", "withdraw", second.strip(), code=2)
    assert "is sent: it cannot be withdrawn" in err
    _, err = crm("mail", "withdraw", "nothing-like-it", code=2)
    assert "no message 'nothing-like-it' in the outbox" in err
    assert [r[0] for r in outbox()] == ["sent"]


def test_do_not_email_is_refused_at_queue_time_and_again_at_send_time(smtp: Inbox) -> None:
    add("Anna Müller", "--email", "anna@acme.example", "--do-not-email")
    bob = add("Bob Stone", "--email", "bob@stone.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    _, err = crm("mail", "write", "anna", "-t", "hi", code=4)
    assert "Anna Müller is marked do-not-email" in err
    assert [r[:3] for r in outbox()] == [
        ("refused", "anna@acme.example", "Anna Müller is marked do-not-email")
    ]
    crm("mail", "write", "bob", "-t", "hi")
    crm("contact", "edit", bob, "--do-not-email")  # opted out while the mail waited
    _, err = crm("mail", "send", code=4)
    assert "refused: Bob Stone" in err and smtp.messages == []
    assert [r[0] for r in outbox()] == ["refused", "refused"]
    assert email_activities(bob) == []


def test_a_segment_by_tag_skips_who_lacks_a_field_and_the_editor_edits_the_mail(
    smtp: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add("Anna Müller", "--company", "Acme", "--email", "anna@acme.example", "--tag", "fair")
    add("Bob Stone", "--email", "bob@stone.example", "--tag", "fair")
    template("fair", "Subject: Met at the fair, {company}\n\nHello {first_name}\n")
    _, err = crm("mail", "write", "--tag", "fair", "-t", "fair")
    assert "1 queued, 0 refused, 1 skipped" in err and "Bob Stone: no value for {company}" in err
    crm("mail", "write", "bob", "-t", "fair", code=2)  # alone, still no company
    monkeypatch.setenv(
        "EDITOR", editor_script(tmp_path, "P.S. see you soon\n", ("{company}", "Bob"))
    )
    crm(
        "mail", "write", "bob", "-t", "fair", "--edit"
    )  # the rep writes in what the template could not
    crm("mail", "send")
    bodies = {
        m["To"].addresses[0].addr_spec: m.get_content().replace("\r\n", "\n")
        for m in (
            email.message_from_bytes(raw, policy=email.policy.default) for _, raw in smtp.messages
        )
    }
    assert bodies["anna@acme.example"] == "Hello Anna\n"
    assert bodies["bob@stone.example"] == "Hello Bob\nP.S. see you soon\n"


def test_sendmail_command_gets_the_message(tmp_path: Path) -> None:
    sink = tmp_path / "sent.eml"
    script = tmp_path / "sendmail.py"
    script.write_text(f"import sys\nopen({str(sink)!r}, 'wb').write(sys.stdin.buffer.read())\n")
    config(sendmail_command=f"{sys.executable} {script}")
    add("Anna Müller", "--email", "anna@acme.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    crm("mail", "write", "anna", "-t", "hi")
    crm("mail", "send")
    msg = email.message_from_bytes(sink.read_bytes(), policy=email.policy.default)
    assert (
        str(msg["To"]) == "Anna Müller <anna@acme.example>"
        and msg.get_content() == "Hello Anna Müller\n"
    )


# --------------------------------------------------------------------------- prompt counts


def test_due_count_and_prompt() -> None:
    add("Anna Müller")
    out, _ = crm("due", "--prompt")
    assert out == ""
    crm("remind", "anna", "call back", "--due", "today 9:00")  # overdue at 14:00
    crm("remind", "anna", "send deck", "--due", "today 18:00")
    crm("remind", "anna", "later", "--due", "tomorrow 9am")
    assert crm("due", "--count")[0] == "2\n"
    assert crm("due", "--prompt")[0] == "1 due, 1 overdue\n"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl for this test."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_starttls_with_the_configured_ca_and_a_refusal_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,  # nothing, not even AUTH, before STARTTLS
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        monkeypatch.setenv("CRM_TEST_SMTP_PASSWORD", PASSWORD)
        settings = {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "starttls",
            "smtp_user": "jeff",
            "password_env": "CRM_TEST_SMTP_PASSWORD",
        }
        config(**settings)  # the system's CAs only: our test certificate is not trusted
        add("Anna Müller", "--email", "anna@acme.example")
        template("hi", "Subject: Hi\n\nHello {name}\n")
        crm("mail", "write", "anna", "-t", "hi")
        crm("mail", "send", code=75)
        ((status, _, reason, _),) = outbox()
        assert status == "failed" and "CERTIFICATE_VERIFY_FAILED" in (reason or "")
        config(**settings, smtp_cafile=str(cert))
        crm("mail", "send")
        assert len(inbox.messages) == 1 and inbox.logins == [(b"jeff", PASSWORD.encode())]
        assert outbox()[0][0] == "sent"
    finally:
        controller.stop()


def test_a_reply_piped_in_ends_the_contact_s_plan_as_the_plan_says(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'name = "Outreach"\n\n[[step]]\nkind = "email"\n\n[[step]]\nkind = "call"\nwait = 3\n',
        encoding="utf-8",
    )
    crm("plan", "add", str(plan))
    add("René Haber", "--email", "rene@habr.de")
    crm("plan", "enrol", "outreach", "rené")
    crm("log", "email", input=(DATA / "gitlist_rene_haber.eml").read_bytes())  # he wrote to us
    out, _ = crm("plan", "status", "--all", "--format", "json")
    (row,) = json.loads(out)
    assert (row["state"], row["why"]) == ("left", "left at step 1: email replied")


def test_the_outbox_says_when_a_mail_was_queued_on_the_user_s_clock() -> None:
    add("Anna Müller", "--email", "anna@acme.example")
    template("hi", "Subject: Hi\n\nHello {name}\n")
    crm("mail", "write", "anna", "-t", "hi")
    (queued,) = db().execute("SELECT queued_at FROM mail_outbox").fetchone()
    berlin = datetime.fromisoformat(queued.replace("Z", "+00:00")).astimezone(
        ZoneInfo("Europe/Berlin")
    )
    out, _ = crm("mail", "outbox", "--format", "csv")
    # Berlin time (the config's zone) as `crm show` and `crm due` say it, not UTC.
    assert f",{berlin:%Y-%m-%d %H:%M}," in out, (queued, out)
