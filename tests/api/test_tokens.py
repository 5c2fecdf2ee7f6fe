"""Tokens: shown once and stored hashed, scopes, unit scope, expiry, revocation, the rate limit, the audit row
of every call, cookies that never authenticate, and the token page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from grants.api.models import ApiToken
from grants.api.services import TokenError, create_token, hash_secret
from grants.core.models import AuditLog
from grants.core.timeutil import now
from tests import factories


def test_secret_is_stored_only_as_its_hash(db, make_token):
    user = factories.user_with_role("finance")
    secret = make_token(user)
    token = db.session.scalar(sa.select(ApiToken))
    assert secret.startswith("gt_") and len(secret) > 40
    assert token.token_hash == hash_secret(secret) and secret not in (token.token_hash, token.prefix)
    assert secret.startswith(token.prefix)


def test_no_token_and_bad_tokens_are_refused(db, api, make_token, clock):
    user = factories.user_with_role("finance")
    secret = make_token(user, days=1)
    assert api(None).get("/api/v1/me").status_code == 401
    assert api("gt_nonsense").get("/api/v1/me").get_json()["code"] == "invalid_token"
    assert api(secret).get("/api/v1/me").status_code == 200
    clock.set(now() + dt.timedelta(days=1, seconds=1))
    resp = api(secret).get("/api/v1/me")
    assert resp.status_code == 401 and resp.get_json()["code"] == "invalid_token"


def test_revoked_token_is_refused_at_once(db, api, make_token):
    from grants.api.services import revoke_token

    user = factories.user_with_role("finance")
    secret = make_token(user)
    assert api(secret).get("/api/v1/me").status_code == 200
    revoke_token(db.session.scalar(sa.select(ApiToken)), user)
    db.session.commit()
    assert api(secret).get("/api/v1/me").status_code == 401
    with pytest.raises(TokenError):
        revoke_token(db.session.scalar(sa.select(ApiToken)), user)


def test_inactive_user_token_is_refused(db, api, make_token):
    user = factories.user_with_role("finance")
    secret = make_token(user)
    user.is_active_account = False
    db.session.commit()
    assert api(secret).get("/api/v1/me").status_code == 401


def test_session_cookie_never_authenticates(app, db, login_as, client):
    login_as("finance")
    resp = client.get("/api/v1/payments")
    assert resp.status_code == 401 and resp.get_json()["code"] == "unauthenticated"
    resp = client.post("/api/v1/notifications/1/read")
    assert resp.status_code == 401


def test_scope_read_write(db, api, make_token):
    user = factories.user_with_role("finance")
    read_only = make_token(user, scopes=["payments:read"])
    other = make_token(user, scopes=["notifications:read"])
    write = make_token(user, scopes=["payments:write"])
    assert api(read_only).get("/api/v1/payments").status_code == 200
    assert api(write).get("/api/v1/payments").status_code == 200  # write covers read
    resp = api(other).get("/api/v1/payments")
    assert resp.status_code == 403 and resp.get_json()["code"] == "insufficient_scope"
    resp = api(read_only).post("/api/v1/payments/1/release", json={"bank_reference": "x", "released_on": "2026-01-01"})
    assert resp.status_code == 403 and resp.get_json()["code"] == "insufficient_scope"


def test_token_checks(db):
    parent = factories.host_unit(name="市民政局")
    child = factories.host_unit(name="区民政局", parent=parent, level="district")
    sibling = factories.host_unit(name="别市民政局")
    officer = factories.user(roles=("officer",), unit=parent)
    applicant = factories.user_with_role("applicant")
    with pytest.raises(TokenError) as e:
        create_token(officer, name=" ", scopes=["payments:read"], days=30, host_unit_id=None, actor=officer)
    assert e.value.field == "name"
    with pytest.raises(TokenError) as e:
        create_token(officer, name="x", scopes=["payments:admin"], days=30, host_unit_id=None, actor=officer)
    assert e.value.field == "scopes"
    with pytest.raises(TokenError) as e:
        create_token(officer, name="x", scopes=["payments:read"], days=10 ** 9, host_unit_id=None, actor=officer)
    assert e.value.field == "expires_in_days"
    with pytest.raises(TokenError) as e:
        create_token(officer, name="x", scopes=["payments:read"], days=30, host_unit_id=sibling.id, actor=officer)
    assert e.value.field == "host_unit_id"
    with pytest.raises(TokenError):
        create_token(applicant, name="x", scopes=["payments:read"], days=30, host_unit_id=child.id, actor=applicant)
    token, _secret = create_token(officer, name="区级", scopes=["payments:read"], days=30, host_unit_id=child.id,
                                  actor=officer)
    assert token.host_unit_id == child.id
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_token.create")) is not None


def test_unit_scope_narrows_the_permission_functions(db, api, make_token):
    from tests.finance.factories import active_contract, first_payment, funded_call

    parent = factories.host_unit(name="市民政局")
    child = factories.host_unit(name="区民政局", parent=parent, level="district")
    finance = factories.user(roles=("finance",), unit=parent)
    payment = first_payment(active_contract(funded_call(parent)))
    db.session.commit()
    whole = make_token(finance, scopes=["payments:read"])
    narrow = make_token(finance, scopes=["payments:read"], unit=child)
    assert api(whole).get(f"/api/v1/payments/{payment.id}").status_code == 200
    assert [p["id"] for p in api(whole).get("/api/v1/payments").get_json()["items"]] == [payment.id]
    assert api(narrow).get(f"/api/v1/payments/{payment.id}").status_code == 404
    assert api(narrow).get("/api/v1/payments").get_json()["items"] == []
    assert api(narrow).get("/api/v1/me").get_json()["host_unit_id"] == child.id


def test_every_call_is_audited_with_its_token(db, api, make_token):
    user = factories.user_with_role("finance")
    secret = make_token(user)
    token = db.session.scalar(sa.select(ApiToken))
    api(secret).get("/api/v1/me")
    api(secret).get("/api/v1/payments/999999")
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "api.call").order_by(AuditLog.id)).all()
    assert [(r.actor_id, r.object_id, r.after["status"], r.after["token"]) for r in rows] == [
        (user.id, str(token.id), 200, token.prefix), (user.id, str(token.id), 404, token.prefix)]
    from grants.core.audit import verify_chain

    assert verify_chain()[0]


def test_rate_limit_per_token(app, db, api, make_token, clock):
    clock.set(dt.datetime(2026, 12, 1, 8, 0, 5, tzinfo=dt.timezone.utc))
    user = factories.user_with_role("finance")
    one, two = make_token(user), make_token(user)
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 3
    try:
        codes = [api(one).get("/api/v1/me").status_code for _ in range(4)]
        other = api(two).get("/api/v1/me")
    finally:
        app.config["API_RATE_LIMIT_PER_MINUTE"] = 600
    assert codes == [200, 200, 200, 429]
    assert other.status_code == 200
    clock.advance(dt.timedelta(minutes=1))
    assert api(one).get("/api/v1/me").status_code == 200


def test_rate_limited_answer(app, db, api, make_token):
    user = factories.user_with_role("finance")
    secret = make_token(user)
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 0
    try:
        resp = api(secret).get("/api/v1/me")
    finally:
        app.config["API_RATE_LIMIT_PER_MINUTE"] = 600
    assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


def test_errors_speak_the_users_language(db, api, make_token):
    user = factories.user_with_role("finance")
    user.locale = "en"
    secret = make_token(user)
    resp = api(secret).get("/api/v1/payments/999999")
    assert resp.status_code == 404 and resp.get_json() == {
        "code": "not_found", "message": "Not found, or you may not see it.", "field": None}
    resp = api(secret).get("/api/v1/payments?limit=0")
    assert resp.get_json()["field"] == "limit" and "between 1 and 100" in resp.get_json()["message"]
    chinese = make_token(factories.user_with_role("finance"))
    assert api(chinese).get("/api/v1/payments/999999").get_json()["message"] == "找不到该对象，或您无权查看。"


def test_etag_and_not_modified(db, api, make_token):
    user = factories.user_with_role("finance")
    secret = make_token(user)
    first = api(secret).get("/api/v1/me")
    etag = first.headers["ETag"]
    again = api(secret).get("/api/v1/me", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


# --- the token page ---------------------------------------------------------------------------------

def test_token_page_creates_shows_once_lists_and_revokes(client, db, login_as):
    user = login_as("officer")
    resp = client.get("/account/tokens")
    assert resp.status_code == 200 and "创建令牌" in resp.text
    resp = client.post("/account/tokens", data={"name": "微信小程序", "scopes": ["applications:read", "payments:read"],
                                                "expires_in_days": "30", "host_unit_id": "0"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token-secret">(gt_[^<]+)<', resp.text).group(1)
    token = db.session.scalar(sa.select(ApiToken))
    assert token.user_id == user.id and token.token_hash == hash_secret(secret)
    again = client.get("/account/tokens")
    assert secret not in again.text and token.prefix in again.text and "微信小程序" in again.text
    client.post(f"/account/tokens/{token.id}/revoke")
    db.session.refresh(token)
    assert token.revoked_at is not None and token.revoked_by_id == user.id


def test_token_page_reports_bad_input_without_500(client, db, login_as):
    login_as("applicant")
    resp = client.post("/account/tokens", data={"name": "x\x00", "scopes": ["nope"], "expires_in_days": "99999999999"})
    assert resp.status_code == 200 and db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_others_cannot_revoke(client, db, login_as, make_token):
    owner = factories.user_with_role("finance")
    make_token(owner)
    token = db.session.scalar(sa.select(ApiToken))
    login_as("finance")
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 403


def test_two_factor_users_create_tokens_only_after_2fa(app, db):
    """A finance user (whose role must use 2FA) creates tokens only once enrolled; an officer (not required)
    may at once, and an enrolled officer too (their session passed the code step to exist)."""
    from grants.api.permissions import can_create_token

    with app.test_request_context():
        officer = factories.user(roles=("officer",), two_factor=False)
        finance = factories.user(roles=("finance",), two_factor=False)
        enrolled = factories.user(roles=("finance",), two_factor=True)
        assert can_create_token(officer)
        assert not can_create_token(finance)
        assert can_create_token(enrolled)


def test_admin_creates_service_account_and_its_token(client, db, login_as):
    admin = login_as("admin")
    unit = factories.host_unit(name="财政局对接单位")
    db.session.commit()
    resp = client.post("/admin/service-accounts", data={"account-name": "财政支付系统", "account-description": "国库集中支付",
                                                        "account-roles": ["finance"], "account-host_unit_id": str(unit.id)})
    assert resp.status_code == 302
    from grants.api.models import ServiceAccount

    account = db.session.scalar(sa.select(ServiceAccount))
    assert account.user.role_names == {"finance"} and account.user.host_unit_id == unit.id
    resp = client.post(f"/admin/service-accounts/{account.id}/tokens",
                       data={f"svc{account.id}-name": "导出与回写", f"svc{account.id}-scopes": ["payments:write"],
                             f"svc{account.id}-expires_in_days": "365", f"svc{account.id}-host_unit_id": "0"})
    assert resp.status_code == 200
    secret = re.search(r'id="new-token-secret">(gt_[^<]+)<', resp.text).group(1)
    token = db.session.scalar(sa.select(ApiToken))
    assert token.kind == "service" and token.user_id == account.user_id and token.created_by_id == admin.id
    page = client.get("/account/tokens").text
    assert "财政支付系统" in page and token.prefix in page and secret not in page


def test_service_accounts_are_admin_only(client, db, login_as):
    login_as("officer")
    assert client.post("/admin/service-accounts", data={}).status_code == 403


def test_huge_ids_in_the_url_are_404_not_500(db, api, make_token):
    secret = make_token(factories.user_with_role("finance"))
    for path in ("/api/v1/payments/99999999999999999999", "/api/v1/calls/2147483648", "/api/v1/payments/0"):
        resp = api(secret).get(path)
        assert resp.status_code == 404 and resp.get_json()["code"] == "not_found", path
