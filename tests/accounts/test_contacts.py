"""Contacts: mobile (required) and e-mail (optional) at registration, on the join form and by admins; verified
by one-time codes (SMS / e-mail), single-use, expiring, rate-limited per contact and per IP (counted in the
database), wrong guesses limited; a changed contact is verified again."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from grants.accounts.models import User, VerificationCode
from grants.core.timeutil import UTC
from grants.reminders.models import OutboxMail, OutboxSms
from tests import factories
from tests.organizations.test_organizations import registration


def _last_code(db, *, mobile=None, email=None) -> str:
    if mobile:
        text = db.session.scalar(sa.select(OutboxSms.text).where(OutboxSms.to_mobile == mobile,
                                                                 OutboxSms.kind == "verification_code")
                                 .order_by(OutboxSms.id.desc()).limit(1))
    else:
        text = db.session.scalar(sa.select(OutboxMail.body).where(OutboxMail.to_address == email)
                                 .order_by(OutboxMail.id.desc()).limit(1))
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_registration_asks_for_both_and_texts_a_code_that_verifies_the_mobile(client, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    data = registration(admin_email="Wang@Example.org")
    resp = client.post("/register", data=data, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "验证码已通过短信发送至" in page and "手机号尚未验证" in page
    user = db.session.scalar(sa.select(User).where(User.username == data["admin_username"]))
    assert user.email == "Wang@Example.org" and user.mobile_verified_at is None
    sms = db.session.scalar(sa.select(OutboxSms).where(OutboxSms.kind == "verification_code"))
    assert sms.to_mobile == data["admin_mobile"] and sms.status == "queued" and sms.params["code"] in sms.text
    code = _last_code(db, mobile=data["admin_mobile"])
    assert client.post("/account/contacts/confirm", data={"which": "mobile", "code": "000000" if code != "000000"
                                                          else "111111"}).status_code == 302
    assert db.session.get(User, user.id).mobile_verified_at is None
    client.post("/account/contacts/confirm", data={"which": "mobile", "code": code})
    assert db.session.get(User, user.id).mobile_verified_at is not None
    # Used once: the same code does not verify again (after a change of number, for instance).
    row = db.session.scalar(sa.select(VerificationCode).where(VerificationCode.purpose == "verify_mobile"))
    assert row.used_at is not None and code not in row.code_hash
    page = client.get("/account/contacts").get_data(as_text=True)
    assert 'id="mobile-verified"' in page and "手机号尚未验证" not in page
    # E-mail: a code by mail.
    client.post("/account/contacts/send", data={"which": "email"})
    client.post("/account/contacts/confirm", data={"which": "email", "code": _last_code(db, email="wang@example.org")})
    assert db.session.get(User, user.id).email_verified_at is not None


def test_registration_refuses_a_missing_mobile_and_a_bad_email(client, db):
    page = client.post("/register", data=registration(admin_mobile="")).get_data(as_text=True)
    assert "请填写手机号" in page
    page = client.post("/register", data=registration(admin_email="not-an-address")).get_data(as_text=True)
    assert "邮箱格式不正确" in page
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_codes_expire_and_wrong_guesses_burn_them(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    user = login_as(factories.member(factories.organization(), mobile="13700000001"))
    client.post("/account/contacts/send", data={"which": "mobile"})
    code = _last_code(db, mobile="13700000001")
    clock.advance(dt.timedelta(minutes=11))
    client.post("/account/contacts/confirm", data={"which": "mobile", "code": code})
    assert db.session.get(User, user.id).mobile_verified_at is None  # expired after 10 minutes
    clock.advance(dt.timedelta(minutes=1))
    client.post("/account/contacts/send", data={"which": "mobile"})
    code = _last_code(db, mobile="13700000001")
    wrong = "123456" if code != "123456" else "654321"
    for _ in range(5):
        client.post("/account/contacts/confirm", data={"which": "mobile", "code": wrong})
    client.post("/account/contacts/confirm", data={"which": "mobile", "code": code})
    assert db.session.get(User, user.id).mobile_verified_at is None  # five wrong guesses burnt it


def test_sending_is_limited_per_contact_and_per_ip_in_the_database(client, db, login_as, clock, app, monkeypatch):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    login_as(factories.member(factories.organization(), mobile="13700000002"))
    page = client.post("/account/contacts/send", data={"which": "mobile"}, follow_redirects=True).get_data(as_text=True)
    assert "验证码已发送" in page
    page = client.post("/account/contacts/send", data={"which": "mobile"}, follow_redirects=True).get_data(as_text=True)
    assert "请稍后再试" in page  # within 60 seconds
    for _ in range(4):
        clock.advance(dt.timedelta(seconds=61))
        client.post("/account/contacts/send", data={"which": "mobile"})
    clock.advance(dt.timedelta(seconds=61))
    page = client.post("/account/contacts/send", data={"which": "mobile"}, follow_redirects=True).get_data(as_text=True)
    assert "一小时内获取验证码次数过多" in page
    assert db.session.scalar(sa.select(sa.func.count(OutboxSms.id))) == 5
    # Per IP: many contacts from one client.
    monkeypatch.setitem(app.config, "CODE_PER_IP_PER_HOUR", 5)
    login_as(factories.member(factories.organization(), mobile="13700000003"))
    page = client.post("/account/contacts/send", data={"which": "mobile"}, follow_redirects=True).get_data(as_text=True)
    assert "当前网络获取验证码次数过多" in page
    clock.advance(dt.timedelta(hours=1, minutes=1))
    page = client.post("/account/contacts/send", data={"which": "mobile"}, follow_redirects=True).get_data(as_text=True)
    assert "验证码已发送" in page


def test_a_changed_contact_must_be_verified_again(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    user = login_as(factories.member(factories.organization(), mobile="13700000004", email="a@example.org"))
    user = db.session.get(User, user.id)
    user.mobile_verified_at = user.email_verified_at = dt.datetime(2026, 11, 1, tzinfo=UTC)
    db.session.commit()
    client.post("/account/contacts", data={"mobile": "13700000004", "email": "b@example.org"})
    user = db.session.get(User, user.id)
    assert user.mobile_verified_at is not None and user.email_verified_at is None
    client.post("/account/contacts", data={"mobile": "13700000005", "email": "b@example.org"})
    user = db.session.get(User, user.id)
    assert user.mobile == "13700000005" and user.mobile_verified_at is None
    assert _last_code(db, mobile="13700000005")  # a code went to the new number at once
    other = factories.member(factories.organization(), mobile="13700000006")
    db.session.commit()
    page = client.post("/account/contacts", data={"mobile": other.mobile, "email": ""}).get_data(as_text=True)
    assert "已被使用" in page
    page = client.post("/account/contacts", data={"mobile": "1370000\x00007", "email": ""}).get_data(as_text=True)
    assert "11 位手机号" in page


def test_admin_forms_require_a_mobile_and_unverify_a_changed_one(client, db, login_as):
    admin = login_as("admin")
    unit = factories.host_unit()
    db.session.commit()
    page = client.post("/admin/users/new", data={
        "username": "new_officer", "display_name": "新主管", "mobile": "", "roles": ["officer"],
        "host_unit_id": unit.id, "password": "Str0ngPass!2026", "is_active": "y"}).get_data(as_text=True)
    assert "请填写手机号" in page
    officer = factories.user(unit=unit, mobile="13700000008")
    officer.mobile_verified_at = dt.datetime(2026, 11, 1, tzinfo=UTC)
    db.session.commit()
    client.post(f"/admin/users/{officer.id}", data={"display_name": officer.display_name, "mobile": "13700000009",
                                                    "roles": ["officer"], "host_unit_id": unit.id, "is_active": "y"})
    officer = db.session.get(User, officer.id)
    assert officer.mobile == "13700000009" and officer.mobile_verified_at is None
    assert admin.id != officer.id
