"""Sending the outbox over SMTP: each mail at most once, failures retried with exponential back-off.

Claim before send: a mail is first marked `sending` by a conditional UPDATE (… WHERE status = 'queued')
committed in its own transaction, so of two passes only one can claim it; then it is sent; then it is
marked sent (or queued again for a retry, or failed). A sender that dies between claiming and marking
leaves the row in `sending`: past MAIL_SENDING_TIMEOUT_SECONDS it becomes `uncertain` (it may have gone
out) and waits for an admin to check and resend it by hand. It is never resent automatically.

A refusal (connection, log-in, or the server answering an error) means nothing was delivered: retried.
A connection lost while the message itself was being handed over is uncertain, like a crash.

Without MAIL_SERVER (development, tests) nothing is sent: mail stays queued in the outbox, where
admins can read it.
"""
from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app

from grants.core.timeutil import now
from grants.extensions import db
from grants.reminders.models import MailStatus, OutboxMail

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60
SENDING_TIMEOUT_SECONDS = 15 * 60  # well above SMTP's own 30 s timeouts for connect, log-in and send
BATCH = 200
UNCERTAIN_NOTE = "发送过程中断，无法确定是否已送达；请核实后手工重发"


class DeliveryUncertain(Exception):
    """The connection broke while the message was being handed over: it may have been delivered."""


@dataclass
class MailResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """After the n-th failed attempt wait base · 2^(n-1): 1, 2, 4, 8 … minutes by default."""
    base = current_app.config.get("MAIL_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS)
    return dt.timedelta(seconds=base * 2 ** (attempts - 1))


def _smtp_send(mail: OutboxMail) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg.get("MAIL_SENDER", "")
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=(cfg.get("MAIL_SENDER", "") or "x@localhost").split("@")[-1])
    msg.set_content(mail.body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg.get("MAIL_PORT", 25), timeout=30) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
        try:
            smtp.send_message(msg)
        except smtplib.SMTPResponseException:
            raise  # the server answered with an error: not delivered
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise DeliveryUncertain(f"{type(exc).__name__}: {exc}") from exc


# The outbox ledger's steps, shared by the mail and SMS outboxes (`model` is OutboxMail or OutboxSms: the same
# status, attempts, claimed_at and next_attempt_at columns).

def mark_stuck_uncertain(at: dt.datetime, model=OutboxMail, timeout_setting: str = "MAIL_SENDING_TIMEOUT_SECONDS",
                         note: str = UNCERTAIN_NOTE) -> int:
    """Rows claimed for sending longer ago than the timeout become uncertain (never resent by themselves)."""
    timeout = dt.timedelta(seconds=current_app.config.get(timeout_setting, SENDING_TIMEOUT_SECONDS))
    count = db.session.execute(
        sa.update(model).where(model.status == MailStatus.SENDING, model.claimed_at < at - timeout)
        .values(status=MailStatus.UNCERTAIN, last_error=note)).rowcount
    db.session.commit()
    return count


def claim(model, row_id: int, at: dt.datetime) -> bool:
    """Mark one queued row as being sent, committed on its own; True for the one claimer that won."""
    claimed = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.status == MailStatus.QUEUED, model.next_attempt_at <= at)
        .values(status=MailStatus.SENDING, claimed_at=at, attempts=model.attempts + 1)).rowcount
    db.session.commit()
    return claimed == 1


def claim_mail(mail_id: int, at: dt.datetime) -> bool:
    return claim(OutboxMail, mail_id, at)


def finish(model, row_id: int, **values) -> None:
    """Record the outcome of a claimed send. A row marked uncertain meanwhile (a very slow send) takes the
    outcome too: it is better known than guessed."""
    db.session.execute(sa.update(model).where(
        model.id == row_id, model.status.in_((MailStatus.SENDING, MailStatus.UNCERTAIN))).values(**values))
    db.session.commit()


def send_outbox(at: dt.datetime | None = None) -> MailResult:
    """Send every queued mail whose next attempt is due, each claimed first; commits per step."""
    result = MailResult()
    at = at or now()
    result.uncertain = mark_stuck_uncertain(at)
    if not current_app.config.get("MAIL_SERVER"):
        return result
    max_attempts = current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS)
    ids = db.session.scalars(
        sa.select(OutboxMail.id).where(OutboxMail.status == MailStatus.QUEUED, OutboxMail.next_attempt_at <= at)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(BATCH)).all()
    db.session.commit()
    for mail_id in ids:
        if not claim_mail(mail_id, at):
            continue  # another sender has it
        mail = db.session.get(OutboxMail, mail_id, populate_existing=True)
        try:
            _smtp_send(mail)
        except DeliveryUncertain as exc:
            finish(OutboxMail, mail_id, status=MailStatus.UNCERTAIN, last_error=f"{UNCERTAIN_NOTE}（{exc}）"[:500])
            result.uncertain += 1
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if mail.attempts >= max_attempts:
                finish(OutboxMail, mail_id, status=MailStatus.FAILED, last_error=error)
                result.failed += 1
            else:
                finish(OutboxMail, mail_id, status=MailStatus.QUEUED, last_error=error,
                        next_attempt_at=at + retry_delay(mail.attempts))
                result.retrying += 1
        else:
            finish(OutboxMail, mail_id, status=MailStatus.SENT, sent_at=at, last_error="")
            result.sent += 1
    return result
