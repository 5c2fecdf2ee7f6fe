"""Two-factor authentication (TOTP): required for finance and admin, enrolment with a locally drawn QR code,
codes used once, recovery codes, trusted devices, the admin's policy and reset."""
import datetime as dt

import pyotp
import sqlalchemy as sa

from grants.accounts.models import RecoveryCode, User
from grants.accounts.sessions import DEVICE_COOKIE
from grants.core.models import AuditLog
from grants.core.timeutil import UTC, now
from tests import factories


def _password_step(client, user):
    return client.post("/login", data={"login": user.username, "password": factories.PASSWORD})


def _signed_in(client) -> bool:
    return client.get("/workbench").status_code == 200


def test_finance_needs_the_code_after_the_password(client, db):
    user = factories.user(roles=("finance",))
    db.session.commit()
    resp = _password_step(client, user)
    assert resp.headers["Location"].endswith("/login/2fa")
    assert not _signed_in(client)  # the password alone opens nothing
    page = client.post("/login/2fa", data={"code": "000000"})
    assert page.status_code == 422 and "验证码不正确" in page.get_data(as_text=True)
    db.session.refresh(user)
    assert client.post("/login/2fa", data={"code": factories.totp_code(user)}).status_code == 302
    assert _signed_in(client)


def test_a_code_opens_one_log_in_only(app, client, db, clock):
    clock.set(dt.datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC))
    user = factories.user(roles=("admin",))
    db.session.commit()
    code = pyotp.TOTP(user.totp_secret).at(now())
    _password_step(client, user)
    assert client.post("/login/2fa", data={"code": code}).status_code == 302
    other = app.test_client()
    _password_step(other, user)
    assert other.post("/login/2fa", data={"code": code}).status_code == 422  # replayed


def test_five_wrong_codes_send_back_to_the_password(client, db):
    user = factories.user(roles=("finance",))
    db.session.commit()
    _password_step(client, user)
    for _ in range(4):
        client.post("/login/2fa", data={"code": "123456"})
    resp = client.post("/login/2fa", data={"code": "123456"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    db.session.refresh(user)
    assert client.post("/login/2fa", data={"code": factories.totp_code(user)}).headers["Location"].endswith("/login")


def test_required_role_without_2fa_must_enrol_before_any_page(client, db):
    user = factories.user(roles=("finance",), two_factor=False)
    db.session.commit()
    resp = _password_step(client, user)
    assert resp.headers["Location"].endswith("/account/2fa")
    for path in ("/workbench", "/payments", "/account/sessions", "/notifications"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/2fa"), path
    page = client.get("/account/2fa").get_data(as_text=True)
    assert "<svg" in page and "设置两步验证" in page and "http" not in page.split("<svg")[1].split("</svg>")[0][:0]
    with client.session_transaction() as s:
        secret = s["2fa_setup_secret"]
    assert secret in page  # for typing in by hand
    bad = client.post("/account/2fa/enable", data={"code": "000000"})
    assert bad.status_code == 422 and "验证码不正确" in bad.get_data(as_text=True)
    done = client.post("/account/2fa/enable", data={"code": pyotp.TOTP(secret).now()})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "请保存您的恢复码" in text and text.count("-") >= 10
    assert _signed_in(client)
    db.session.refresh(user)
    assert user.has_two_factor and user.totp_secret == secret
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 10


def test_qr_code_is_drawn_locally_as_svg(client, db):
    user = factories.user(roles=("officer",))
    db.session.commit()
    _password_step(client, user)
    page = client.get("/account/2fa").get_data(as_text=True)
    svg = page.split('id="totp-qr">')[1].split("</div>")[0]
    assert svg.lstrip().startswith("<svg") and "<img" not in svg and "<script" not in svg


def test_recovery_code_works_once(client, app, db):
    user = factories.user(roles=("finance",), two_factor=False)
    db.session.commit()
    _password_step(client, user)
    client.get("/account/2fa")
    with client.session_transaction() as s:
        secret = s["2fa_setup_secret"]
    page = client.post("/account/2fa/enable", data={"code": pyotp.TOTP(secret).now()}).get_data(as_text=True)
    codes = page.split('id="recovery-codes">')[1].split("</ul>")[0].replace("<li>", " ").replace("</li>", " ").split()
    assert len(codes) == 10
    client.post("/logout")
    _password_step(client, user)
    resp = client.post("/login/2fa", data={"recovery_code": codes[0].upper()}, follow_redirects=True)
    assert "还剩 9 个" in resp.get_data(as_text=True) and _signed_in(client)
    client.post("/logout")
    _password_step(client, user)
    assert client.post("/login/2fa", data={"recovery_code": codes[0]}).status_code == 422


def test_trusted_device_skips_the_code_for_30_days(app, client, db):
    from grants.accounts.models import TrustedDevice

    user = factories.user(roles=("finance",))
    db.session.commit()
    _password_step(client, user)
    resp = client.post("/login/2fa", data={"code": factories.totp_code(user), "trust_device": "y"})
    assert resp.status_code == 302 and DEVICE_COOKIE in resp.headers.get("Set-Cookie", "")
    client.post("/logout")
    factories.age_tokens(TrustedDevice, dt.timedelta(days=29))
    assert _password_step(client, user).headers["Location"].endswith("/")
    client.post("/logout")
    factories.age_tokens(TrustedDevice, dt.timedelta(days=1, minutes=1))
    assert _password_step(client, user).headers["Location"].endswith("/login/2fa")
    # Another browser without the cookie always needs the code.
    assert _password_step(app.test_client(), user).headers["Location"].endswith("/login/2fa")


def test_required_role_cannot_switch_2fa_off_but_others_can(client, login_as, db):
    login_as("finance")
    resp = client.post("/account/2fa/disable", data={"password": factories.PASSWORD}, follow_redirects=True)
    assert "不能关闭" in resp.get_data(as_text=True)
    officer = factories.user(roles=("officer",), two_factor=True)
    login_as(officer)
    client.post("/account/2fa/disable", data={"password": factories.PASSWORD})
    db.session.refresh(officer)
    assert not officer.has_two_factor


def test_admin_resets_2fa_audited_and_sessions_end(app, client, login_as, db):
    target = factories.user(roles=("finance",))
    db.session.commit()
    phone = app.test_client()
    _password_step(phone, target)
    phone.post("/login/2fa", data={"code": factories.totp_code(target)})
    assert _signed_in(phone)
    login_as("admin")
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "重置两步验证" in page
    client.post(f"/admin/users/{target.id}/reset-2fa")
    db.session.expire_all()
    target = db.session.get(User, target.id)
    assert not target.has_two_factor and not _signed_in(phone)
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "user.reset_2fa"))
    # At the next log-in they enrol again.
    assert _password_step(phone, target).headers["Location"].endswith("/account/2fa")


def test_admin_policy_makes_a_role_require_2fa(app, client, login_as, db):
    login_as("admin")
    page = client.get("/admin/two-factor").get_data(as_text=True)
    assert 'value="finance" id="role-finance" checked' in page and 'value="officer" id="role-officer">' in page
    client.post("/admin/two-factor", data={"roles": ["finance", "admin", "officer"]})
    officer = factories.user(roles=("officer",))
    db.session.commit()
    other = app.test_client()
    assert _password_step(other, officer).headers["Location"].endswith("/account/2fa")
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "two_factor.policy"))
    client.post("/admin/two-factor", data={"roles": ["admin"]})
    fin = factories.user(roles=("finance",), two_factor=False)
    db.session.commit()
    assert _password_step(app.test_client(), fin).headers["Location"].endswith("/")


def test_environment_default_sets_the_required_roles(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_ROLES", frozenset({"expert"}))
    expert = factories.user(roles=("expert",))
    fin = factories.user(roles=("finance",), two_factor=False)
    db.session.commit()
    assert _password_step(client, expert).headers["Location"].endswith("/account/2fa")
    assert _password_step(app.test_client(), fin).headers["Location"].endswith("/")
