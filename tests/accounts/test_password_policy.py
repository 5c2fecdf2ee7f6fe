"""The password policy (10+ characters, zxcvbn in Chinese, not the user name or mobile, not the last three) and
the forced change that blocks every page."""
import pytest

from grants.accounts.services import AccountError, validate_new_password
from tests import factories

STRONG = ["Lantern-river-2026", "Qinghe-Shuiyun-88", "Harbour-kite-7731"]


@pytest.mark.parametrize("password,message", [
    ("Ab1!xyz", "密码至少 10 位"),
    ("password1", "密码至少 10 位"),
    ("password12", "密码太容易被猜到（这是一个非常常见的密码）"),
    ("aaaaaaaaa1", "密码太容易被猜到"),
    ("qwertyuiop", "密码太容易被猜到"),
    ("1234567890", "密码太容易被猜到"),
])
def test_weak_passwords_are_refused_in_chinese(app, password, message):
    with app.test_request_context():
        with pytest.raises(AccountError) as exc:
            validate_new_password(password)
        assert message in exc.value.message


def test_not_the_user_name_or_mobile(app):
    with app.test_request_context():
        with pytest.raises(AccountError, match="不能与用户名或手机号相同"):
            validate_new_password("13905130000", username="zhang", mobile="13905130000")
        with pytest.raises(AccountError, match="不能与用户名或手机号相同"):
            validate_new_password("Zhangsanfeng1980", username="zhangsanfeng1980")
        validate_new_password(STRONG[0], username="zhang", mobile="13905130000")


def test_not_one_of_the_last_three(client, login_as, db):
    user = login_as("officer")
    current = factories.PASSWORD
    for new in STRONG:
        resp = client.post("/account/password", data={"old_password": current, "new_password": new, "confirm": new})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        current = new
    # the current one and the two before it are refused; the one before those is allowed again
    for old in STRONG:
        resp = client.post("/account/password", data={"old_password": current, "new_password": old, "confirm": old})
        assert "不能与最近 3 次使用过的密码相同" in resp.get_data(as_text=True), old
    resp = client.post("/account/password", data={"old_password": current, "new_password": "Passw0rd!-again-9",
                                                   "confirm": "Passw0rd!-again-9"})
    assert resp.status_code == 302
    assert user.username


def test_forced_change_blocks_every_page_until_done(client, db):
    user = factories.user()
    user.must_change_password = True
    db.session.commit()
    client.post("/login", data={"login": user.username, "password": factories.PASSWORD})
    for path in ("/workbench", "/organizations", "/notifications", "/account/sessions", "/calls"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password"), path
    assert client.post("/notifications/read-all").headers["Location"].endswith("/account/password")
    page = client.get("/account/password").get_data(as_text=True)
    assert "完成后才能使用其他功能" in page
    same = client.post("/account/password", data={"old_password": factories.PASSWORD,
                                                  "new_password": factories.PASSWORD, "confirm": factories.PASSWORD})
    assert "密码至少 10 位" in same.get_data(as_text=True)
    client.post("/account/password", data={"old_password": factories.PASSWORD, "new_password": STRONG[0],
                                           "confirm": STRONG[0]})
    assert client.get("/workbench").status_code == 200


def test_admin_sets_strong_initial_passwords_only(client, login_as, db):
    login_as("admin")
    unit = factories.host_unit()
    db.session.commit()
    resp = client.post("/admin/users/new", data={
        "username": "weakling", "display_name": "弱密码", "mobile": "13800000077", "host_unit_id": unit.id, "roles": ["officer"],
        "password": "Temp1234x", "is_active": "y"})
    assert "密码至少 10 位" in resp.get_data(as_text=True)
