"""Finance's payment system over the API: list approved payments, mark one released with the bank reference
exactly once; Idempotency-Key replays the first answer."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.finance import services
from grants.finance.models import Payment
from tests import factories
from tests.finance.factories import active_contract, finance_user, first_payment, funded_call


def _approved(db, app):
    call = funded_call()
    payment = first_payment(active_contract(call))
    with app.test_request_context():
        services.approve_payment(payment, finance_user(call))
    releaser = finance_user(call)
    db.session.commit()
    return call, payment, releaser


def test_list_approved_and_release_once_with_idempotency(app, db, api, make_token):
    call, payment, releaser = _approved(db, app)
    caller = api(make_token(releaser, scopes=["payments:write"]))
    listed = caller.get("/api/v1/payments?status=approved").get_json()["items"]
    assert [p["id"] for p in listed] == [payment.id]
    assert listed[0]["amount"]["fen"] == payment.amount_fen and listed[0]["payee_account_number"]
    assert caller.get("/api/v1/payments?status=released").get_json()["items"] == []

    body = {"bank_reference": "BANK-2026-0001", "released_on": "2026-11-30"}
    first = caller.post(f"/api/v1/payments/{payment.id}/release", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "released" and first.get_json()["bank_reference"] == "BANK-2026-0001"
    again = caller.post(f"/api/v1/payments/{payment.id}/release", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    # without the key a repeat is refused, never paid twice
    plain = caller.post(f"/api/v1/payments/{payment.id}/release", json=body)
    assert plain.status_code == 409 and plain.get_json()["code"] == "already_done"
    # the same key with another request is an error, not a replay
    other = caller.post(f"/api/v1/payments/{payment.id}/release", json={**body, "bank_reference": "X"},
                        headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    releases = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "payment.release")).all()
    assert len(releases) == 1 and releases[0].actor_id == releaser.id
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).release_by_id == releaser.id


def test_release_rules_come_from_the_finance_service(app, db, api, make_token):
    call, payment, _releaser = _approved(db, app)
    approver = db.session.get(Payment, payment.id).approved_by
    resp = api(make_token(approver, scopes=["payments:write"])).post(
        f"/api/v1/payments/{payment.id}/release", json={"bank_reference": "B-1", "released_on": "2026-11-30"})
    assert resp.status_code == 422 and resp.get_json()["code"] == "payment_rule"  # approver ≠ releaser
    releaser = finance_user(call)
    db.session.commit()
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    resp = api(make_token(releaser, scopes=["payments:write"])).post(
        f"/api/v1/payments/{payment.id}/release", json={"bank_reference": "B-1", "released_on": future})
    assert resp.status_code == 422 and resp.get_json()["field"] == "released_on"
    resp = api(make_token(releaser, scopes=["payments:write"])).post(
        f"/api/v1/payments/{payment.id}/release", json={"bank_reference": "B\x00", "released_on": "2026-11-30"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "bank_reference"


def test_other_units_and_roles_cannot_touch_payments(app, db, api, make_token):
    _call, payment, _releaser = _approved(db, app)
    sibling = factories.user_with_role("finance")
    officer = factories.user(roles=("officer",), unit=payment.call.host_unit)
    db.session.commit()
    assert api(make_token(sibling)).get(f"/api/v1/payments/{payment.id}").status_code == 404
    assert api(make_token(sibling)).get("/api/v1/payments").get_json()["items"] == []
    resp = api(make_token(officer)).post(f"/api/v1/payments/{payment.id}/release",
                                         json={"bank_reference": "B-2", "released_on": "2026-11-30"})
    assert resp.status_code == 403
