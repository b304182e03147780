"""Sending the outbox: build each message and hand it to SMTP or a local sendmail command.

The password is read at send time from the environment variable or the command
the config names, and never written anywhere. A transport error leaves the row
`failed` with the reason; `crmtui.services.follow_ups.outbox` explains why an interrupted
send is not retried on its own.
"""

from __future__ import annotations

import os
import shlex
import smtplib
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from crmtui.mail.settings import MailSettings
from crmtui.services.follow_ups.outbox import begin_send, mark_failed, mark_sent, sendable
from crmtui.store.database import Store
from crmtui.store.mail_state import MailOutbox

SMTP_TIMEOUT = 30


class MailConfigError(ValueError):
    """The config cannot send mail (no sender, no transport, no password)."""


class TransportError(Exception):
    """The server or the command did not take the message."""


@dataclass
class SendReport:
    """What a send did."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    unclear: int = 0


def _address(name: str | None, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def build_message(row: MailOutbox, settings: MailSettings, rep_name: str | None) -> EmailMessage:
    """The RFC 5322 message of an outbox row (non-ASCII names and subjects encoded by `email`)."""
    sender = settings.sender
    if not sender or "@" not in sender:
        raise MailConfigError("no sender address: set [mail] from_address or addresses")
    msg = EmailMessage()
    msg["From"] = _address(settings.from_name or rep_name, sender)
    msg["To"] = _address(row.to_name, row.to_addr)
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.queued_at)
    msg["Message-ID"] = row.message_id
    msg.set_content(row.body)
    return msg


def password(settings: MailSettings) -> str | None:
    """The SMTP password from the named environment variable or command (never stored)."""
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise MailConfigError(f"the environment variable {settings.password_env} is not set")
        return value
    if settings.password_command:
        try:
            done = subprocess.run(
                shlex.split(settings.password_command),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailConfigError(f"password_command failed: {exc}") from None
        if done.returncode != 0:
            raise MailConfigError(
                f"password_command exited {done.returncode}: {done.stderr.strip()[:200]}"
            )
        return done.stdout.split("\n", 1)[0]
    return None


def transport(settings: MailSettings) -> Callable[[EmailMessage], None]:
    """A function that sends one message the configured way."""
    if settings.sendmail_command:
        command = shlex.split(settings.sendmail_command)

        def via_command(msg: EmailMessage) -> None:
            try:
                done = subprocess.run(
                    command, input=msg.as_bytes(), capture_output=True, timeout=120, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise TransportError(f"{command[0]}: {exc}") from None
            if done.returncode != 0:
                err = done.stderr.decode("utf-8", "replace").strip()[:300]
                raise TransportError(f"{command[0]} exited {done.returncode}: {err}")

        return via_command
    if not settings.smtp_host:
        raise MailConfigError("no way to send: set [mail] smtp_host or sendmail_command")
    secret = password(settings) if settings.smtp_user else None
    if settings.smtp_user and secret is None:
        raise MailConfigError("smtp_user is set but neither password_env nor password_command")

    def via_smtp(msg: EmailMessage) -> None:
        host, port = settings.smtp_host or "", settings.smtp_port
        try:
            cafile = str(Path(settings.smtp_cafile).expanduser()) if settings.smtp_cafile else None
            context = ssl.create_default_context(cafile=cafile)
            if settings.smtp_security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=SMTP_TIMEOUT, context=context
                )
            else:
                client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
            with client:
                if settings.smtp_security == "starttls":
                    client.starttls(context=context)
                if settings.smtp_user and secret is not None:
                    client.login(settings.smtp_user, secret)
                client.send_message(msg)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise TransportError(f"{host}:{port}: {exc}") from None

    return via_smtp


def send_outbox(
    store: Store,
    settings: MailSettings,
    *,
    rep_name: str | None,
    retry_unclear: bool = False,
    send: Callable[[EmailMessage], None] | None = None,
) -> SendReport:
    """Send every queued (and failed) message once; returns what happened to each."""
    report = SendReport()
    with store.write() as tx:
        ids = [r.id for r in sendable(tx, retry_unclear=retry_unclear)]
        if not retry_unclear:
            report.unclear = tx.db.execute(
                "SELECT count(*) FROM mail_outbox WHERE status = 'sending'"
            ).fetchone()[0]
    if not ids:
        return report
    if not settings.sender or "@" not in settings.sender:
        raise MailConfigError("no sender address: set [mail] from_address or addresses")
    deliver = send or transport(settings)
    for outbox_id in ids:
        with store.write() as tx:
            row = begin_send(tx=tx, outbox_id=outbox_id)
            status, label = row.status, f"{row.to_name} <{row.to_addr}>: {row.subject}"
            if status == "refused":
                report.refused.append((label, row.reason or ""))
                continue
            msg = build_message(row, settings, rep_name)
        try:
            deliver(msg)
        except TransportError as exc:
            with store.write() as tx:
                mark_failed(tx=tx, outbox_id=outbox_id, reason=str(exc))
            report.failed.append((label, str(exc)))
            continue
        with store.write() as tx:
            mark_sent(tx=tx, outbox_id=outbox_id, rep_name=rep_name)
        report.sent.append(label)
    return report
