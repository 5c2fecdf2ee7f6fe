import datetime as dt

import sqlalchemy as sa

from grants.accounts.models import User
from grants.core.models import AuditLog
from grants.core.timeutil import UTC
from tests import factories


NEW = "Lantern-river-2026"


def _login(client, login, password):
    return client.post("/login", data={"login": login, "password": password})


def test_login_by_username_and_by_mobile(client, db):
    user = factories.user(mobile="13905130000")
    db.session.commit()
    assert _login(client, user.username, factories.PASSWORD).status_code == 302
    client.post("/logout")
    resp = _login(client, "13905130000", factories.PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")
    assert client.get("/workbench").status_code == 200


def test_password_is_hashed_with_argon2(db):
    user = factories.user()
    assert user.password_hash.startswith("$argon2id$") and factories.PASSWORD not in user.password_hash


def test_wrong_password_message_is_chinese_and_generic(client, db):
    user = factories.user()
    db.session.commit()
    for login in (user.username, "nobody"):
        page = _login(client, login, "wrong").get_data(as_text=True)
        assert "用户名或密码错误" in page


def test_five_failures_lock_for_fifteen_minutes(client, db, clock):
    start = clock.set(dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    user = factories.user()
    db.session.commit()
    for _ in range(4):
        assert "用户名或密码错误" in _login(client, user.username, "wrong").get_data(as_text=True)
    assert "账号已锁定 15 分钟" in _login(client, user.username, "wrong").get_data(as_text=True)
    # Even the right password is refused while locked.
    clock.set(start + dt.timedelta(minutes=14, seconds=59))
    page = _login(client, user.username, factories.PASSWORD).get_data(as_text=True)
    assert "已锁定" in page
    clock.set(start + dt.timedelta(minutes=15, seconds=1))
    assert _login(client, user.username, factories.PASSWORD).status_code == 302
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.object_id == str(user.id))).all()
    assert "user.lock" in actions and "user.login" in actions


def test_success_resets_failure_count(client, db):
    user = factories.user()
    db.session.commit()
    for _ in range(4):
        _login(client, user.username, "wrong")
    assert _login(client, user.username, factories.PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        _login(client, user.username, "wrong")
    assert _login(client, user.username, factories.PASSWORD).status_code == 302


def test_inactive_account_cannot_log_in(client, db):
    user = factories.user()
    user.is_active_account = False
    db.session.commit()
    assert "账号已停用" in _login(client, user.username, factories.PASSWORD).get_data(as_text=True)


def test_logout_requires_post_and_ends_session(client, login_as):
    login_as("officer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/workbench").status_code == 302


def test_open_redirect_is_refused(client, db):
    user = factories.user()
    db.session.commit()
    resp = client.post("/login?next=https://evil.example/", data={"login": user.username,
                                                                   "password": factories.PASSWORD})
    assert resp.headers["Location"] == "/"
    client.post("/logout")
    resp = client.post("/login?next=/organizations", data={"login": user.username, "password": factories.PASSWORD})
    assert resp.headers["Location"] == "/organizations"


def test_change_password(client, login_as, db):
    user = login_as("officer")
    resp = client.post("/account/password", data={"old_password": "bad", "new_password": "NewPassw0rd",
                                                   "confirm": "NewPassw0rd"})
    assert "原密码不正确" in resp.get_data(as_text=True)
    resp = client.post("/account/password", data={"old_password": factories.PASSWORD, "new_password": "abcdefgh",
                                                   "confirm": "abcdefgh"})
    assert "密码至少 10 位" in resp.get_data(as_text=True)
    resp = client.post("/account/password", data={"old_password": factories.PASSWORD,
                                                   "new_password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    client.post("/logout")
    assert _login(client, user.username, NEW).status_code == 302


def test_must_change_password_after_reset(client, db):
    user = factories.user()
    user.must_change_password = True
    db.session.commit()
    resp = _login(client, user.username, factories.PASSWORD)
    assert resp.headers["Location"].endswith("/account/password")
    assert db.session.get(User, user.id).must_change_password
