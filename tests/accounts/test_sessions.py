"""Revocable sessions: a cookie captured before logout, a password change, a deactivation or a role change is
refused afterwards; remember-me is a random hashed per-device token that expires; 登录设备 and 退出其他设备."""
import datetime as dt

import sqlalchemy as sa
from werkzeug.http import parse_cookie

from grants.accounts.models import User, UserSession
from grants.accounts.services import end_sessions, wall_now
from grants.accounts.sessions import REMEMBER_COOKIE
from tests import factories

NEW = "Lantern-river-2026"


def _login(client, user, remember=False, ip="198.51.100.7"):
    data = {"login": user.username, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    resp = client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


def _cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values()}


def _browser(app, cookies: dict[str, str]):
    """Another browser holding copies of the given cookies (as an attacker who captured them would)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _signed_in(client) -> bool:
    return client.get("/workbench").status_code == 200


def test_session_cookie_captured_before_logout_is_refused_after(app, client, db):
    user = factories.user()
    db.session.commit()
    _login(client, user)
    stolen = _cookies(client)
    assert _signed_in(_browser(app, stolen))
    client.post("/logout")
    assert not _signed_in(_browser(app, stolen))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_remember_cookie_survives_the_session_but_not_logout(app, client, db):
    user = factories.user()
    db.session.commit()
    _login(client, user, remember=True)
    token = _cookies(client)[REMEMBER_COOKIE]
    assert len(token) >= 40 and str(user.id) not in token.split("-")[0][:2]
    row = db.session.scalar(sa.select(UserSession))
    assert row.remember_hash and token not in row.remember_hash  # stored hashed only
    # The browser comes back next week with only the remember cookie (its session cookie expired): signed in …
    returning = _browser(app, {REMEMBER_COOKIE: token})
    assert _signed_in(returning)
    # … until the user logs out there: the token dies with the device's session.
    returning.post("/logout")
    assert not _signed_in(_browser(app, {REMEMBER_COOKIE: token}))
    assert not _signed_in(returning)


def test_remember_cookie_captured_before_logout_is_refused_after(app, client, db):
    user = factories.user()
    db.session.commit()
    _login(client, user, remember=True)
    stolen = _cookies(client)
    client.post("/logout")
    assert not _signed_in(_browser(app, {REMEMBER_COOKIE: stolen[REMEMBER_COOKIE]}))
    assert not _signed_in(_browser(app, stolen))


def test_remember_token_is_new_at_every_log_in_and_expires_after_30_days(app, client, db):
    user = factories.user()
    db.session.commit()
    _login(client, user, remember=True)
    first = _cookies(client)[REMEMBER_COOKIE]
    other = app.test_client()
    _login(other, user, remember=True)
    assert _cookies(other)[REMEMBER_COOKIE] != first  # one token per device, random each time
    row = db.session.scalars(sa.select(UserSession).order_by(UserSession.id)).first()
    assert abs(row.expires_at - wall_now() - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    factories.age_tokens(UserSession, dt.timedelta(days=29, hours=23))
    assert _signed_in(_browser(app, {REMEMBER_COOKIE: first}))
    factories.age_tokens(UserSession, dt.timedelta(hours=1, minutes=1))
    assert not _signed_in(_browser(app, {REMEMBER_COOKIE: first}))


def test_password_change_ends_every_other_session_and_remember_token(app, client, db):
    user = factories.user()
    db.session.commit()
    other = app.test_client()
    _login(other, user, remember=True)
    stolen = _cookies(other)
    _login(client, user)
    resp = client.post("/account/password", data={"old_password": factories.PASSWORD, "new_password": NEW,
                                                   "confirm": NEW})
    assert resp.status_code == 302
    assert _signed_in(client)  # the browser that changed it stays in
    assert not _signed_in(other)
    assert not _signed_in(_browser(app, stolen))
    assert not _signed_in(_browser(app, {REMEMBER_COOKIE: stolen[REMEMBER_COOKIE]}))


def test_deactivation_and_role_change_end_sessions(app, client, db, login_as):
    target = factories.user()
    db.session.commit()
    victim_browser = app.test_client()
    _login(victim_browser, target, remember=True)
    stolen = _cookies(victim_browser)
    admin = login_as("admin")
    form = {"display_name": target.display_name, "mobile": "13800000088", "host_unit_id": target.host_unit_id, "roles": ["officer", "auditor"],
            "is_active": "y"}
    assert client.post(f"/admin/users/{target.id}", data=form).status_code == 302
    assert not _signed_in(victim_browser)  # role change
    _login(victim_browser, target, remember=True)
    stolen = _cookies(victim_browser)
    form.pop("is_active")
    assert client.post(f"/admin/users/{target.id}", data=form).status_code == 302
    assert not _signed_in(_browser(app, stolen))  # deactivated
    assert not _signed_in(_browser(app, {REMEMBER_COOKIE: stolen[REMEMBER_COOKIE]}))
    assert admin.id != target.id


def test_admin_password_reset_ends_sessions(app, client, db, login_as):
    target = factories.user()
    db.session.commit()
    victim = app.test_client()
    _login(victim, target)
    login_as("admin")
    client.post(f"/admin/users/{target.id}/reset-password", data={"new_password": "Reset-2026-qidong"})
    assert not _signed_in(victim)


def test_forged_flask_login_remember_cookie_is_not_accepted(app, db):
    """The old remember cookie was user_id|HMAC(secret, user_id): even a correct one opens nothing now."""
    from flask_login.utils import encode_cookie

    user = factories.user(roles=("admin",))
    db.session.commit()
    with app.test_request_context():
        forged = encode_cookie(str(user.id))
    assert not _signed_in(_browser(app, {"remember_token": forged}))


def test_session_id_rotates_at_log_in(app, client, db):
    user = factories.user()
    db.session.commit()
    client.get("/login")
    before = _cookies(client).get("session")
    _login(client, user)
    first_sid = db.session.scalar(sa.select(UserSession.sid_hash))
    assert _cookies(client)["session"] != before
    client.post("/logout")
    _login(client, user)
    assert db.session.scalar(sa.select(UserSession.sid_hash)) != first_sid


def test_devices_page_and_end_other_devices(app, client, db):
    user = factories.user()
    db.session.commit()
    phone = app.test_client()
    phone.post("/login", data={"login": user.username, "password": factories.PASSWORD},
               headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile"},
               environ_base={"REMOTE_ADDR": "203.0.113.50"})
    client.post("/login", data={"login": user.username, "password": factories.PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"})
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "登录设备" in page and "Chrome · Android" in page and "Firefox · Windows" in page
    assert "203.0.113.50" in page and "本设备" in page
    resp = client.post("/account/sessions/end-others", follow_redirects=True)
    assert "已退出其他 1 个设备上的登录" in resp.get_data(as_text=True)
    assert not _signed_in(phone) and _signed_in(client)


def test_end_sessions_service_keeps_the_current_one(app, client, db):
    user = factories.user()
    db.session.commit()
    for _ in range(3):
        _login(app.test_client(), user)
    keep = db.session.scalars(sa.select(UserSession)).first()
    assert end_sessions(db.session.get(User, user.id), except_current=keep) == 2
    assert db.session.scalars(sa.select(UserSession.id)).all() == [keep.id]


def test_set_cookies_are_httponly(client, db):
    user = factories.user()
    db.session.commit()
    resp = _login(client, user, remember=True)
    headers = resp.headers.getlist("Set-Cookie")
    remember = next(h for h in headers if h.startswith(REMEMBER_COOKIE))
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    assert parse_cookie(remember)[REMEMBER_COOKIE]


def test_last_seen_and_address_are_kept_up_to_date(app, client, db, monkeypatch):
    user = factories.user()
    db.session.commit()
    _login(client, user)
    row = db.session.scalar(sa.select(UserSession))
    row.last_seen_at = row.last_seen_at - dt.timedelta(minutes=10)
    db.session.commit()
    monkeypatch.setitem(app.config, "SESSION_TOUCH_MINUTES", 5)
    client.get("/workbench", environ_base={"REMOTE_ADDR": "192.0.2.44"})
    db.session.expire_all()
    row = db.session.scalar(sa.select(UserSession))
    assert row.ip == "192.0.2.44" and wall_now() - row.last_seen_at < dt.timedelta(minutes=1)
