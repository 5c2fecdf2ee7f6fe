"""Sending the outbox over SMTP, with retries and exponential back-off; then the mail shows as failed.

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
BATCH = 200


@dataclass
class MailResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


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
        smtp.send_message(msg)


def send_outbox(at: dt.datetime | None = None) -> MailResult:
    """Send every queued mail whose next attempt is due; commits per mail."""
    result = MailResult()
    if not current_app.config.get("MAIL_SERVER"):
        return result
    at = at or now()
    max_attempts = current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS)
    ids = db.session.scalars(
        sa.select(OutboxMail.id).where(OutboxMail.status == MailStatus.QUEUED, OutboxMail.next_attempt_at <= at)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(BATCH)).all()
    for mail_id in ids:
        # Claim the row first (pushes its next attempt out), so a second sender skips it.
        claimed = db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.QUEUED, OutboxMail.next_attempt_at <= at)
            .values(next_attempt_at=at + dt.timedelta(minutes=10))).rowcount
        db.session.commit()
        if not claimed:
            continue
        mail = db.session.get(OutboxMail, mail_id)
        mail.attempts += 1
        try:
            _smtp_send(mail)
        except (smtplib.SMTPException, OSError) as exc:
            mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if mail.attempts >= max_attempts:
                mail.status = MailStatus.FAILED
                result.failed += 1
            else:
                mail.next_attempt_at = at + retry_delay(mail.attempts)
                result.retrying += 1
        else:
            mail.status = MailStatus.SENT
            mail.sent_at = at
            mail.last_error = ""
            result.sent += 1
        db.session.commit()
    return result
