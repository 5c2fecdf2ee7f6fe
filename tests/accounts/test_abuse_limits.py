"""Anti-automation: lock-out keyed by account *and* source, a CAPTCHA after failures from one address and on the
public forms, Flask-Limiter limits with a Chinese 429 page that keeps what was typed, no account enumeration."""
import datetime as dt

import pytest
import sqlalchemy as sa

from grants.awards.models import Objection
from grants.core import captcha
from grants.core.timeutil import UTC
from grants.extensions import limiter
from tests import factories

STRANGER = {"REMOTE_ADDR": "203.0.113.66"}
OFFICE = {"REMOTE_ADDR": "198.51.100.10"}


@pytest.fixture()
def limits_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture()
def captcha_on(app, monkeypatch):
    """The CAPTCHA switched on, with a text the test knows (the picture is still drawn)."""
    monkeypatch.setitem(app.config, "CAPTCHA_ENABLED", True)
    monkeypatch.setattr(captcha, "_random_text", lambda: "K7PX")


def _login(client, login, password, env, **extra):
    return client.post("/login", data={"login": login, "password": password, **extra}, environ_base=env)


def test_a_stranger_cannot_lock_the_real_user_out(client, app, db, clock):
    clock.set(dt.datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    user = factories.user(roles=("officer",))
    db.session.commit()
    attacker = app.test_client()
    for _ in range(4):
        assert "用户名或密码错误" in _login(attacker, user.username, "guess", STRANGER).get_data(as_text=True)
    assert "账号已锁定 15 分钟" in _login(attacker, user.username, "guess", STRANGER).get_data(as_text=True)
    # the attacker is locked out even with the right password …
    assert "已锁定" in _login(attacker, user.username, factories.PASSWORD, STRANGER).get_data(as_text=True)
    # … the user at the office is not
    assert _login(client, user.username, factories.PASSWORD, OFFICE).status_code == 302


def test_unknown_names_lock_like_real_ones(client, db):
    """Five failures lock a name that is no account exactly as a real one: nothing tells which exist."""
    user = factories.user()
    db.session.commit()
    answers = {}
    for name in (user.username, "no-such-user"):
        pages = [_login(client, name, "guess", STRANGER).get_data(as_text=True) for _ in range(6)]
        answers[name] = ["用户名或密码错误" in p for p in pages], ["已锁定" in p for p in pages]
    assert answers[user.username] == answers["no-such-user"]


def test_admin_unlock_lifts_every_source(client, app, db, login_as):
    user = factories.user()
    db.session.commit()
    attacker = app.test_client()
    for _ in range(5):
        _login(attacker, user.username, "guess", STRANGER)
    login_as("admin")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "锁定至" in page
    client.post(f"/admin/users/{user.id}/unlock")
    assert _login(app.test_client(), user.username, factories.PASSWORD, STRANGER).status_code == 302


def test_login_needs_a_captcha_after_three_failures_from_one_address(client, app, db, captcha_on):
    user = factories.user()
    db.session.commit()
    assert 'id="captcha-image"' not in client.get("/login").get_data(as_text=True)
    for name in ("a", "b", "c"):  # any names, even made-up ones
        _login(client, name, "guess", STRANGER)
    page = client.get("/login", environ_base=STRANGER).get_data(as_text=True)
    assert 'id="captcha-image"' in page and 'src="data:image/png;base64,' in page
    assert "图形验证码不正确" in _login(client, user.username, factories.PASSWORD, STRANGER).get_data(as_text=True)
    client.get("/login", environ_base=STRANGER)
    assert _login(client, user.username, factories.PASSWORD, STRANGER, captcha="k7px").status_code == 302
    # another address is not asked
    assert 'id="captcha-image"' not in app.test_client().get("/login", environ_base=OFFICE).get_data(as_text=True)


def test_captcha_answer_is_not_in_the_cookie(client, db, captcha_on):
    from flask import session

    with client:
        client.get("/register")
        stored = dict(session["captcha"])
    assert "K7PX" not in str(stored) and "k7px" not in str(stored)


def _registration(**over):
    data = {
        "name": "南通市崇川区新希望社工服务中心", "legal_form": "service_institution", "uscc": factories.uscc(4243),
        "registered_on": "2019-05-20", "registration_authority": "崇川区民政局", "rating": "3",
        "annual_inspection": "qualified", "district": "崇川区", "street": "和平桥街道", "community": "桃坞路社区",
        "address": "人民路 1 号", "contact_name": "王五", "contact_phone": "0513-85000000",
        "bank_account_name": "新希望社工服务中心", "bank_name": "江苏银行", "bank_account_number": "6228480012345678",
        "admin_name": "王五", "admin_username": "xinxiwang2", "admin_mobile": "13900000043",
        "password": "Qinghe-Shuiyun-88", "confirm": "Qinghe-Shuiyun-88", "agree": "y",
        "host_unit_id": str(factories.host_unit(level="city").id),  # the unit it is registered with
    }
    data.update(over)
    return data


def test_registration_tells_about_taken_names_only_after_the_captcha(client, db, captcha_on):
    from grants.organizations.models import Organization

    factories.organization(name="已注册的组织")
    taken = factories.user(username="takenname")
    db.session.commit()
    client.get("/register")
    page = client.post("/register", data=_registration(name="已注册的组织", admin_username=taken.username,
                                                       captcha="WRONG")).get_data(as_text=True)
    assert "图形验证码不正确" in page and "该组织名称已注册" not in page and "已被使用" not in page
    assert "已注册的组织" in page  # what was typed stays
    client.get("/register")
    page = client.post("/register", data=_registration(name="已注册的组织", captcha="K7PX")).get_data(as_text=True)
    assert "该组织名称已注册" in page
    client.get("/register")
    assert client.post("/register", data=_registration(captcha="K7PX")).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 2


def _open_notice(clock):
    """An award list on public notice (公示) that accepts objections now."""
    from grants.applications.models import ApplicationStatus
    from grants.awards.models import Award, PublicNotice
    from grants.calls.models import CallStatus
    from grants.core.timeutil import now
    from tests.awards.factories import scored_application, scored_call
    from grants.extensions import db

    clock.set(dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    call = scored_call(status=CallStatus.NOTICE)
    org = factories.organization()
    app = scored_application(call, org=org, status=ApplicationStatus.AWARDED, requested_fen=50_000_00)
    approver = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.add(Award(call_id=call.id, application_id=app.id, organization_id=org.id,
                         category_id=app.category_id, amount_fen=50_000_00, status="approved", rank=1,
                         adjustment_reason="", cancelled_reason="", proposed_by_id=approver.id,
                         approved_by_id=approver.id, approved_at=now()))
    db.session.add(PublicNotice(call_id=call.id, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 9),
                                published_at=now(), show_panel_names=False))
    db.session.commit()
    return call, app


def test_thirty_objections_from_one_client_get_429_after_the_limit(client, db, clock, limits_on):
    call, application = _open_notice(clock)
    codes = []
    for i in range(30):
        resp = client.post(f"/public/notices/{call.id}/objection", data={
            "application_id": application.id, "objector_name": f"张三{i}", "contact": "13812345678",
            "content": f"第 {i} 条异议：该项目申报的服务人次与实际情况不符。"}, environ_base=STRANGER)
        codes.append(resp.status_code)
        if resp.status_code == 429:
            last = resp
    assert codes[:10] == [200] * 10 and codes[10:] == [429] * 20
    saved = db.session.scalars(sa.select(Objection.objector_name).order_by(Objection.id)).all()
    assert saved == [f"张三{i}" for i in range(10)]  # nothing lost for the first ones
    page = last.get_data(as_text=True)
    assert "操作过于频繁" in page and "张三29" in page and "第 29 条异议" in page  # what was typed is kept
    assert 'id="resubmit-form"' in page
    # another client is not affected
    resp = client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": application.id, "objector_name": "李四", "contact": "13812345679",
        "content": "另一个人的异议，内容足够长。"}, environ_base=OFFICE)
    assert resp.status_code == 200


def test_objection_needs_the_captcha(client, db, clock, captcha_on):
    call, application = _open_notice(clock)
    page = client.get(f"/public/notices/{call.id}/objection").get_data(as_text=True)
    assert 'id="captcha-image"' in page
    data = {"application_id": application.id, "objector_name": "张三", "contact": "13812345678",
            "content": "该项目申报的服务人次与实际情况不符。"}
    resp = client.post(f"/public/notices/{call.id}/objection", data={**data, "captcha": "AAAA"})
    assert resp.status_code == 422 and "图形验证码不正确" in resp.get_data(as_text=True)
    assert "该项目申报的服务人次与实际情况不符。" in resp.get_data(as_text=True)
    resp = client.post(f"/public/notices/{call.id}/objection", data={**data, "captcha": "K7PX"})
    assert resp.status_code == 200 and db.session.scalar(sa.select(sa.func.count()).select_from(Objection)) == 1


def test_login_is_limited_per_address_with_a_chinese_page(client, app, db, limits_on):
    user = factories.user()
    db.session.commit()
    codes = [_login(client, f"guess{i}", "x", STRANGER).status_code for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    page = _login(client, user.username, factories.PASSWORD, STRANGER).get_data(as_text=True)
    assert "操作过于频繁" in page and user.username in page and factories.PASSWORD not in page
    assert _login(app.test_client(), user.username, factories.PASSWORD, OFFICE).status_code == 302


def test_registrations_are_limited_per_address(client, db, limits_on):
    codes = [client.post("/register", data=_registration(admin_username=f"u{i}x", name=f"组织{i}"),
                         environ_base=STRANGER).status_code for i in range(6)]
    assert codes[5] == 429 and 429 not in codes[:5]
