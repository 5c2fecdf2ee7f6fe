"""Webhooks: events written with the change they announce, signed deliveries to a receiver on 127.0.0.1,
retried with backoff by the scheduler's pass, exactly once per event id on the receiver's side."""
from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa

from grants.api import webhooks as wh
from grants.api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from grants.core.timeutil import now
from grants.finance import services
from tests import factories
from tests.finance.factories import active_contract, finance_user, first_payment, funded_call


def _endpoint(db, receiver, events=("payment.approved", "payment.released")):
    admin = factories.user_with_role("admin")
    endpoint, secret = wh.create_endpoint(url=receiver.url, description="财政支付系统", events=list(events), actor=admin)
    db.session.commit()
    receiver.secret = secret
    return endpoint


def _approve(app, db):
    call = funded_call()
    payment = first_payment(active_contract(call))
    with app.test_request_context():
        services.approve_payment(payment, finance_user(call))
    db.session.commit()
    return call, payment


def _pass(app, at=None):
    """What the scheduler pass runs for webhooks (registered as the step webhook_deliveries)."""
    from grants.reminders.registry import STEPS

    with app.test_request_context():
        return STEPS["webhook_deliveries"].run(at or now())


def test_signed_delivery_once(app, db, receiver, clock):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    _endpoint(db, receiver)
    _call, payment = _approve(app, db)
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.kind == "payment.approved" and event.object_id == str(payment.id)
    assert _pass(app) == 1
    assert len(receiver.requests) == 1 and len(receiver.processed) == 1
    sent = receiver.processed[0]
    assert sent["event_id"] == event.event_id and sent["type"] == "payment.approved"
    assert sent["object"] == {"type": "payment", "id": str(payment.id)} and sent["data"]["status"] == "approved"
    assert sent["occurred_at"] == "2026-12-01T10:00:00+08:00"
    headers = receiver.requests[0]["headers"]
    assert headers["X-Grants-Event-Id"] == event.event_id
    assert wh.verify(receiver.secret, headers["X-Grants-Signature"], receiver.requests[0]["body"])
    assert not wh.verify("wrong", headers["X-Grants-Signature"], receiver.requests[0]["body"])
    assert _pass(app) == 0 and len(receiver.requests) == 1  # a second pass sends nothing
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 200


def test_failure_is_retried_with_backoff(app, db, receiver, clock):
    start = clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    _endpoint(db, receiver)
    _approve(app, db)
    receiver.fail_next = 2
    assert _pass(app) == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == start + dt.timedelta(minutes=1)
    assert _pass(app, start + dt.timedelta(seconds=59)) == 0 and len(receiver.requests) == 1  # not yet due
    assert _pass(app, start + dt.timedelta(minutes=1)) == 0
    db.session.refresh(delivery)
    assert delivery.attempts == 2 and delivery.next_attempt_at == start + dt.timedelta(minutes=1 + 2)
    assert _pass(app, start + dt.timedelta(minutes=3)) == 1
    db.session.refresh(delivery)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert len(receiver.requests) == 3 and len(receiver.processed) == 1
    # all three attempts carried the same event id
    assert len({json.loads(r["body"])["event_id"] for r in receiver.requests}) == 1


def test_gives_up_after_the_last_attempt_and_an_admin_can_retry(app, db, receiver):
    endpoint = _endpoint(db, receiver)
    _approve(app, db)
    receiver.fail_next = wh.MAX_ATTEMPTS
    at = now()
    for _ in range(wh.MAX_ATTEMPTS):
        _pass(app, at)
        at += dt.timedelta(days=1)
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status == "failed" and delivery.attempts == wh.MAX_ATTEMPTS
    from grants.accounts.models import User

    wh.retry_delivery(delivery, db.session.get(User, endpoint.created_by_id))
    db.session.commit()
    assert _pass(app, now()) == 1 and len(receiver.processed) == 1


def test_unreachable_receiver_is_a_failed_attempt(app, db, receiver):
    endpoint = _endpoint(db, receiver)
    endpoint.url = "http://127.0.0.1:9/closed"
    db.session.commit()
    _approve(app, db)
    assert _pass(app) == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error


def test_no_event_without_a_subscriber_and_none_after_a_rollback(app, db, receiver):
    _endpoint(db, receiver, events=("payment.released",))
    _approve(app, db)
    assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 0  # only releases were wanted
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    endpoint.events = ["payment.approved"]
    db.session.commit()
    call = funded_call()
    payment = first_payment(active_contract(call))
    with app.test_request_context():
        services.approve_payment(payment, finance_user(call))
    db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 0


def test_paused_endpoint_gets_nothing_new(app, db, receiver):
    endpoint = _endpoint(db, receiver)
    wh.set_endpoint_active(endpoint, False, factories.user_with_role("admin"))
    db.session.commit()
    _approve(app, db)
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


def test_admin_page_registers_shows_secret_once_and_logs(app, client, db, login_as, receiver):
    login_as("admin")
    resp = client.post("/admin/webhooks", data={"url": receiver.url, "description": "财政", "events": ["payment.approved"]})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r"(whsec_[A-Za-z0-9_-]+)", resp.text).group(1)
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    assert endpoint.secret == secret and endpoint.events == ["payment.approved"]
    assert secret not in client.get("/admin/webhooks").text
    receiver.secret = secret
    _approve(app, db)
    _pass(app)
    page = client.get("/admin/webhooks").text
    assert "拨款已审核" in page and "已送达" in page
    resp = client.post("/admin/webhooks", data={"url": "ftp://x", "events": []})
    assert "请填写以 http:// 或 https:// 开头的完整地址" in resp.text
    client.post(f"/admin/webhooks/{endpoint.id}/toggle")
    db.session.refresh(endpoint)
    assert endpoint.is_active is False


def test_webhooks_are_admin_only(client, db, login_as):
    login_as("officer")
    assert client.get("/admin/webhooks").status_code == 403


def test_old_idempotency_answers_and_deliveries_are_forgotten(app, db, receiver, clock):
    from grants.api.models import IdempotencyRecord

    start = clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    _endpoint(db, receiver)
    _approve(app, db)
    _pass(app)
    user = factories.user_with_role("finance")
    db.session.add(IdempotencyRecord(user_id=user.id, key="k", fingerprint="f", status_code=200, body={},
                                     created_at=start))
    db.session.commit()
    assert wh.forget_old_records(start + dt.timedelta(days=29)) == 0
    assert wh.forget_old_records(start + dt.timedelta(days=31)) == 1
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 1
    assert wh.forget_old_records(start + dt.timedelta(days=91)) == 1
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


def test_award_confirmation_is_an_event(app, db, receiver):
    from grants.applications.states import APPLICATION_WORKFLOW
    from tests.applications import factories as app_factories

    _endpoint(db, receiver, events=("award.confirmed",))
    call = app_factories.call()
    application = app_factories.application(call, status="awarded", complete=False)
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    with app.test_request_context():
        APPLICATION_WORKFLOW.transition(application, "confirm", officer)
    db.session.commit()
    assert _pass(app) == 1
    assert [(e["type"], e["object"]["id"], e["data"]["status"]) for e in receiver.processed] == [
        ("award.confirmed", str(application.id), "confirmed")]
