"""忘记密码: a reset by SMS code or e-mail link — single-use, 15 minutes, rate-limited in the database, ends the
user's other sessions, and never tells whether an account exists."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from grants.accounts.models import User
from grants.core.timeutil import UTC
from grants.reminders.models import OutboxMail, OutboxSms
from tests import factories


def _sms_code(db, mobile):
    text = db.session.scalar(sa.select(OutboxSms.text).where(OutboxSms.to_mobile == mobile)
                             .order_by(OutboxSms.id.desc()).limit(1))
    return re.search(r"\b(\d{6})\b", text).group(1)


def _login(client, login, password):
    return client.post("/login", data={"login": login, "password": password})


def _switch_device():
    """The test keeps one app context open, so Flask-Login's cached user (on g) would follow us from one test
    client to the other: forget it, as a real second browser would have nothing of it."""
    from flask import g

    g.pop("_login_user", None)


def test_reset_by_sms_code_ends_other_sessions(app, client, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    user = factories.member(factories.organization(), mobile="13900000021")
    db.session.commit()
    other_device = app.test_client()
    assert _login(other_device, user.username, factories.PASSWORD).status_code == 302
    assert other_device.get("/notifications").status_code == 200
    _switch_device()
    resp = client.post("/password/forgot", data={"contact": "13900000021"}, follow_redirects=True)
    assert "如果该手机号已登记" in resp.get_data(as_text=True)
    code = _sms_code(db, "13900000021")
    data = {"contact": "13900000021", "code": code, "new_password": "NewPass2026", "confirm": "NewPass2026"}
    resp = client.post("/password/reset", data=data)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # The other device's session is over; the old password no longer works; the new one does.
    _switch_device()
    assert other_device.get("/notifications").status_code == 302
    _switch_device()
    assert _login(client, user.username, factories.PASSWORD).status_code == 200
    assert _login(client, user.username, "NewPass2026").status_code == 302
    assert db.session.get(User, user.id).mobile_verified_at is not None
    # Single use.
    client.post("/logout")
    page = client.post("/password/reset", data={**data, "new_password": "Another-Pass-2026", "confirm": "Another-Pass-2026"})
    assert "不正确、已使用或已过期" in page.get_data(as_text=True)


def test_reset_by_email_link_within_15_minutes(app, client, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    user = factories.member(factories.organization(), email="Reset@Example.org")
    db.session.commit()
    client.post("/password/forgot", data={"contact": "reset@example.org"})
    body = db.session.scalar(sa.select(OutboxMail.body).where(OutboxMail.to_address == "reset@example.org"))
    link = re.search(r"(http\S+/password/reset\?\S+)", body).group(1)
    path = link.split("localhost", 1)[-1]
    assert "c=reset@example.org" in path and "&t=" in path
    page = client.get(path).get_data(as_text=True)
    assert 'type="hidden" name="code"' in page
    token = re.search(r"[?&]t=([^&\s]+)", path).group(1)
    clock.advance(dt.timedelta(minutes=16))
    data = {"contact": "reset@example.org", "code": token, "new_password": "MailPass2026", "confirm": "MailPass2026"}
    assert "已过期" in client.post("/password/reset", data=data).get_data(as_text=True)
    client.post("/password/forgot", data={"contact": "reset@example.org"})
    body = db.session.scalars(sa.select(OutboxMail.body).where(OutboxMail.to_address == "reset@example.org")
                              .order_by(OutboxMail.id.desc())).first()
    token = re.search(r"[?&]t=([^&\s]+)", body).group(1)
    assert client.post("/password/reset", data={**data, "code": token}).status_code == 302
    assert _login(client, user.username, "MailPass2026").status_code == 302


def test_the_answer_never_tells_whether_an_account_exists(client, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    factories.member(factories.organization(), mobile="13900000022", email="known@example.org")
    db.session.commit()
    pages = {}
    for contact in ("13900000022", "13900000023", "known@example.org", "nobody@example.org"):
        resp = client.post("/password/forgot", data={"contact": contact}, follow_redirects=True)
        pages[contact] = re.sub(r"1390000\d{4}|\w+@example\.org", "X", resp.get_data(as_text=True))
    assert pages["13900000022"] == pages["13900000023"]
    assert pages["known@example.org"] == pages["nobody@example.org"]
    # Only the real contacts got anything.
    assert db.session.scalar(sa.select(sa.func.count(OutboxSms.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 1


def test_requests_are_limited_per_contact_and_per_ip(client, db, clock, app, monkeypatch):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    factories.member(factories.organization(), mobile="13900000024")
    db.session.commit()
    client.post("/password/forgot", data={"contact": "13900000024"})
    page = client.post("/password/forgot", data={"contact": "13900000024"}).get_data(as_text=True)
    assert "请稍后再试" in page
    monkeypatch.setitem(app.config, "CODE_PER_IP_PER_HOUR", 3)
    for n in range(5, 7):  # unknown numbers count against the client's limit just the same
        client.post("/password/forgot", data={"contact": f"139000000{n:02d}"})
    page = client.post("/password/forgot", data={"contact": "13900000099"}).get_data(as_text=True)
    assert "当前网络获取验证码次数过多" in page


def test_wrong_codes_are_counted_and_burn_the_code(client, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    user = factories.member(factories.organization(), mobile="13900000025")
    db.session.commit()
    client.post("/password/forgot", data={"contact": "13900000025"})
    code = _sms_code(db, "13900000025")
    wrong = "000000" if code != "000000" else "111111"
    base = {"contact": "13900000025", "new_password": "NewPass2026", "confirm": "NewPass2026"}
    for _ in range(5):
        client.post("/password/reset", data={**base, "code": wrong})
    client.post("/password/reset", data={**base, "code": code})
    assert _login(client, user.username, factories.PASSWORD).status_code == 302  # unchanged
    page = client.post("/password/reset", data={**base, "code": code, "new_password": "short"})
    assert page.status_code == 200


def test_login_page_offers_forgot_password(client, db):
    assert 'id="forgot-link"' in client.get("/login").get_data(as_text=True)
