"""The outbox: kept (not sent) without MAIL_SERVER; sent over SMTP with it; failures retried with
exponential back-off and then shown as failed."""
from __future__ import annotations

import datetime as dt
import smtplib

import pytest
import sqlalchemy as sa

from grants.reminders.mail import send_outbox
from grants.reminders.models import OutboxMail

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)


class FakeSMTP:
    """Stands in for smtplib.SMTP; `fail` makes every connection raise."""

    sent: list = []
    fail = False
    connections = 0

    def __init__(self, host, port, timeout=None):
        type(self).connections += 1
        if type(self).fail:
            raise smtplib.SMTPConnectError(421, b"service not available")
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, msg):
        type(self).sent.append(msg)


@pytest.fixture()
def smtp(app, monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail, FakeSMTP.connections = [], False, 0
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_RETRY_BASE_SECONDS", 60)
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 4)
    return FakeSMTP


def _mail(db, **kw):
    m = OutboxMail(to_address="a@example.org", subject="测试邮件", body="正文", **kw)
    db.session.add(m)
    db.session.commit()
    return m


def test_without_mail_server_mail_stays_in_the_outbox(app, db, clock, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    clock.set(T0)
    m = _mail(db)
    result = send_outbox()
    assert (result.sent, result.failed) == (0, 0)
    db.session.refresh(m)
    assert m.status == "queued" and m.attempts == 0


def test_sent_over_smtp(db, clock, smtp):
    clock.set(T0)
    m = _mail(db)
    assert send_outbox().sent == 1
    db.session.refresh(m)
    assert m.status == "sent" and m.sent_at == T0 and m.attempts == 1
    assert smtp.sent[0]["To"] == "a@example.org" and smtp.sent[0]["Subject"] == "测试邮件"
    assert send_outbox().sent == 0  # never twice


def test_failed_smtp_is_retried_with_back_off_then_failed(db, clock, smtp):
    smtp.fail = True
    clock.set(T0)
    m = _mail(db)
    attempts_at = []
    # Try every 10 seconds for an hour: attempts happen only when the back-off has run out.
    for step in range(0, 3600, 10):
        clock.set(T0 + dt.timedelta(seconds=step))
        before = smtp.connections
        send_outbox()
        if smtp.connections > before:
            attempts_at.append(step)
    # 1st at 0 s, then after 60, 120, 240 s: 0, 60, 180, 420; the 4th failure is final.
    assert attempts_at == [0, 60, 180, 420]
    db.session.refresh(m)
    assert m.status == "failed" and m.attempts == 4
    assert "SMTPConnectError" in m.last_error


def test_recovers_when_the_server_comes_back(db, clock, smtp):
    smtp.fail = True
    clock.set(T0)
    m = _mail(db)
    send_outbox()
    smtp.fail = False
    clock.advance(dt.timedelta(seconds=59))
    assert send_outbox().sent == 0
    clock.advance(dt.timedelta(seconds=1))
    assert send_outbox().sent == 1
    db.session.refresh(m)
    assert m.status == "sent" and m.attempts == 2 and m.last_error == ""


def test_scheduler_pass_sends_the_reminder_mail(db, clock, smtp):
    from grants.reminders.jobs import run_pass
    from tests import factories
    from tests.reminders import factories as rf

    close = T0 + dt.timedelta(days=3)
    org = factories.organization()
    factories.member(org, email="boss@example.org")
    rf.application(rf.call(close_at=close), org)
    db.session.commit()
    clock.set(T0 + dt.timedelta(minutes=1))
    result = run_pass()
    assert result.delivered == 1 and result.mail.sent == 1
    assert smtp.sent[0]["To"] == "boss@example.org"
    assert db.session.scalar(sa.select(OutboxMail.status)) == "sent"
