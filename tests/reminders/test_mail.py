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


# --- claim before send: never twice ------------------------------------------------------------

def test_a_claimed_mail_cannot_be_claimed_again(db, clock, smtp):
    from grants.reminders.mail import claim_mail

    clock.set(T0)
    m = _mail(db)
    assert claim_mail(m.id, T0) is True
    assert claim_mail(m.id, T0) is False  # a second sender loses
    db.session.refresh(m)
    assert (m.status, m.claimed_at, m.attempts) == ("sending", T0, 1)
    assert send_outbox().sent == 0 and smtp.connections == 0


def test_a_crash_between_claim_and_send_leaves_it_uncertain_never_resent(app, db, clock, smtp, monkeypatch):
    """The sender dies after claiming (the claim is committed on its own): no later pass sends it; past the
    timeout it shows as uncertain to the admin, who may resend it by hand, once."""
    from grants.reminders import mail as mail_module
    from grants.reminders.services import resend_mail
    from tests import factories

    monkeypatch.setitem(app.config, "MAIL_SENDING_TIMEOUT_SECONDS", 600)
    clock.set(T0)
    m = _mail(db)

    def crash(mail):
        raise SystemExit("killed")  # the process dies: nothing after the claim runs

    monkeypatch.setattr(mail_module, "_smtp_send", crash)
    with pytest.raises(SystemExit):
        send_outbox()
    db.session.rollback()
    monkeypatch.undo()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_SENDING_TIMEOUT_SECONDS", 600)
    db.session.refresh(m)
    assert m.status == "sending"
    clock.advance(dt.timedelta(minutes=5))
    assert send_outbox().sent == 0
    clock.advance(dt.timedelta(minutes=6))  # 11 minutes after the claim
    assert send_outbox().uncertain == 1
    db.session.refresh(m)
    assert m.status == "uncertain" and "手工重发" in m.last_error
    for _ in range(3):
        clock.advance(dt.timedelta(hours=1))
        assert send_outbox().sent == 0
    assert smtp.sent == []
    admin = factories.user(roles=("admin",))
    resend_mail(m, admin)
    db.session.commit()
    assert send_outbox().sent == 1 and len(smtp.sent) == 1
    db.session.refresh(m)
    assert m.status == "sent"


def test_a_connection_lost_while_handing_over_is_uncertain_not_retried(db, clock, smtp, monkeypatch):
    def broken(self, msg):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(FakeSMTP, "send_message", broken)
    clock.set(T0)
    m = _mail(db)
    result = send_outbox()
    assert (result.sent, result.retrying, result.uncertain) == (0, 0, 1)
    clock.advance(dt.timedelta(hours=1))
    send_outbox()
    db.session.refresh(m)
    assert m.status == "uncertain" and m.attempts == 1


def test_a_refusal_by_the_server_is_retried(db, clock, smtp, monkeypatch):
    def refused(self, msg):
        raise smtplib.SMTPDataError(451, b"try again later")

    monkeypatch.setattr(FakeSMTP, "send_message", refused)
    clock.set(T0)
    m = _mail(db)
    assert send_outbox().retrying == 1
    db.session.refresh(m)
    assert m.status == "queued" and m.next_attempt_at == T0 + dt.timedelta(minutes=1)


def test_admin_sees_uncertain_mail_and_resends_it(app, client, login_as, db, clock):
    from grants.core.models import AuditLog

    app.config["WTF_CSRF_ENABLED"] = False
    clock.set(T0)
    m = _mail(db, status="uncertain", attempts=1, last_error="发送过程中断")
    queued = _mail(db)
    admin = login_as("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert 'id="uncertain-mail"' in page and "结果不明" in page
    assert 'id="uncertain-count"' in client.get("/admin/scheduler").get_data(as_text=True)
    assert 'id="resend-button"' in client.get(f"/admin/outbox/{m.id}").get_data(as_text=True)
    assert 'id="resend-button"' not in client.get(f"/admin/outbox/{queued.id}").get_data(as_text=True)
    assert client.post(f"/admin/outbox/{m.id}/resend").status_code == 302
    db.session.refresh(m)
    assert (m.status, m.attempts) == ("queued", 0)
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "mail.resend")).one()
    assert audit.actor_id == admin.id and audit.before["status"] == "uncertain"
    client.post(f"/admin/outbox/{m.id}/resend")  # a second click: already queued, nothing more
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "mail.resend")) == 1


@pytest.mark.postgres_only
def test_two_senders_at_once_send_each_mail_once(app, db, clock, smtp):
    """Two passes in two threads (own sessions and connections) over the same 30 mails, lined up by a barrier."""
    import threading

    from grants.extensions import db as _db

    clock.set(T0)
    for i in range(30):
        db.session.add(OutboxMail(to_address=f"u{i}@example.org", subject=f"邮件{i}", body=""))
    db.session.commit()
    barrier = threading.Barrier(2, timeout=20)
    results: list = [None, None]

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = send_outbox(T0)
            except Exception as exc:  # noqa: BLE001 - checked below
                results[i] = exc
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.sent for r in results) == 30
    to = sorted(msg["To"] for msg in smtp.sent)
    assert to == sorted(f"u{i}@example.org" for i in range(30))  # each exactly once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.status == "sent", OutboxMail.attempts == 1)) == 30
