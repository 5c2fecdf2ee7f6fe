"""Webhooks: events taken from the audit log, signed deliveries retried by the scheduler.

Where events come from: every state change already writes an audit row (record(), workflow
transitions). A listener on that insert writes the event and one delivery row per subscribed endpoint
with the same connection, so the event exists exactly when the change is committed and vanishes with a
rollback (an outbox); no domain had to learn about webhooks.

Delivery: the scheduler pass runs the step below. Each due delivery is claimed with a conditional
UPDATE (attempts = the value read), so two passes never send it at the same moment; it is sent with
an HMAC-SHA256 signature and retried with exponential backoff until a 2xx, at most MAX_ATTEMPTS times.
A receiver can still see an event twice (a crash between its 2xx and our commit), so the payload carries
a stable event_id and receivers keep the ids they have processed: exactly once on the receiver's side.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from grants.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.models import AuditLog
from grants.core.timeutil import now, to_local
from grants.extensions import db
from grants.reminders.registry import step

log = logging.getLogger(__name__)

# event type → the audit action that announces it
EVENTS = {
    "application.submitted": ("application.submit", _l("申报书已提交")),
    "application.screened": ("application.mark_eligible", _l("形式审查通过")),
    "award.confirmed": ("application.confirm", _l("资助已确认（立项）")),
    "contract.signed": ("contract.sign", _l("乙方已签署协议")),
    "report.submitted": ("report.submit", _l("项目报告已提交")),
    "payment.approved": ("payment.approve", _l("拨款已审核")),
    "payment.released": ("payment.release", _l("拨款已支付")),
}
_BY_ACTION = {action: kind for kind, (action, _label) in EVENTS.items()}
MAX_ATTEMPTS = 8
SIGNATURE_HEADER = "X-Grants-Signature"


class WebhookError(DomainError):
    """A webhook endpoint setting was refused."""


def event_label(kind: str) -> str:
    return str(EVENTS[kind][1]) if kind in EVENTS else kind


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, … minutes after each failed attempt, at most 12 hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 720))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>; the time lets a receiver refuse a captured
    request replayed later."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (and what the tests' receiver does)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = sign(secret, int(parts["t"]), body)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(expected, header)


def payload(ev: WebhookEvent) -> dict:
    return {"event_id": ev.event_id, "type": ev.kind,
            "occurred_at": to_local(ev.occurred_at).isoformat(timespec="seconds"),
            "object": {"type": ev.object_type, "id": ev.object_id}, "data": ev.data}


# --- the outbox listener ----------------------------------------------------------------------------

@event.listens_for(AuditLog, "after_insert")
def _audit_to_event(mapper, connection, target: AuditLog):
    kind = _BY_ACTION.get(target.action)
    if kind is None:
        return
    endpoints = [row.id for row in connection.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.is_active.is_(True)))
        if kind in (row.events or [])]
    if not endpoints:
        return
    at = target.at or now()
    result = connection.execute(sa.insert(WebhookEvent).values(
        event_id=str(uuid.uuid4()), kind=kind, object_type=target.object_type, object_id=target.object_id,
        data=target.after or {}, occurred_at=at))
    event_pk = result.inserted_primary_key[0]
    connection.execute(sa.insert(WebhookDelivery), [
        {"endpoint_id": e, "event_id": event_pk, "status": str(DeliveryStatus.PENDING), "attempts": 0,
         "next_attempt_at": at, "last_error": ""} for e in endpoints])


# --- endpoints (admin) --------------------------------------------------------------------------------

def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise WebhookError(_("请填写以 http:// 或 https:// 开头的完整地址"), "url")
    return url


def create_endpoint(*, url: str, description: str, events, actor) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; returns it with its signing secret (shown to the admin once)."""
    url = _check_url(url)
    chosen = sorted({e for e in events or [] if e in EVENTS})
    if not chosen:
        raise WebhookError(_("请至少选择一种事件"), "events")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(url=url, description=(description or "").strip()[:200], secret=secret,
                               events=chosen, is_active=True, created_by_id=actor.id, created_at=now())
    db.session.add(endpoint)
    record(actor, "webhook.create", endpoint, after={"url": url, "events": chosen})
    return endpoint, secret


def set_endpoint_active(endpoint: WebhookEndpoint, active: bool, actor) -> None:
    """Pause or resume an endpoint; while paused, new events are not queued for it."""
    endpoint.is_active = active
    record(actor, "webhook.activate" if active else "webhook.pause", endpoint, after={"url": endpoint.url})


def retry_delivery(delivery: WebhookDelivery, actor) -> None:
    """Send a given-up (or waiting) delivery again at the next pass."""
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now()
    record(actor, "webhook.retry", delivery, after={"event_id": delivery.event.event_id})


# --- the scheduler step -------------------------------------------------------------------------------

def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    # No proxy: a receiver is addressed directly, never through whatever the environment configures.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def deliver_one(delivery_id: int, at: dt.datetime) -> bool | None:
    """Claim, send and record one delivery. True delivered, False failed this time, None claimed elsewhere."""
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != DeliveryStatus.PENDING:
        return None
    attempts = row.attempts
    claimed = db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempts,
               WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(attempts=attempts + 1, last_attempt_at=at, next_attempt_at=at + backoff(attempts + 1))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    db.session.refresh(row)
    body = json.dumps(payload(row.event), ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "grants-webhooks/1",
               "X-Grants-Event": row.event.kind, "X-Grants-Event-Id": row.event.event_id,
               "X-Grants-Delivery": str(row.id), SIGNATURE_HEADER: sign(row.endpoint.secret, int(at.timestamp()), body)}
    status, error = None, ""
    try:
        status = _post(row.endpoint.url, body, headers, current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 5))
    except Exception as exc:  # noqa: BLE001  (any network failure is a failed attempt, retried later)
        error = f"{type(exc).__name__}: {exc}"[:300]
    ok = status is not None and 200 <= status < 300
    row.last_status_code = status
    row.last_error = "" if ok else (error or f"HTTP {status}")
    if ok:
        row.status, row.delivered_at = DeliveryStatus.DELIVERED, at
    elif row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.FAILED
    db.session.commit()
    return ok


@step("webhook_deliveries")
def deliver_due(at: dt.datetime) -> int:
    """Send every delivery that is due; returns how many were delivered."""
    due = list(db.session.scalars(
        sa.select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.PENDING,
                                            WebhookDelivery.next_attempt_at <= at)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(200)))
    delivered = 0
    for delivery_id in due:
        delivered += bool(deliver_one(delivery_id, at))
    return delivered


IDEMPOTENCY_KEEP_DAYS = 30
DELIVERY_KEEP_DAYS = 90


@step("api_housekeeping")
def forget_old_records(at: dt.datetime) -> int:
    """Idempotency answers are kept 30 days (a client retries within minutes, not months) and delivered
    webhooks 90 days (the log an admin reads); returns how many rows went."""
    from grants.api.models import IdempotencyRecord

    gone = db.session.execute(sa.delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < at - dt.timedelta(days=IDEMPOTENCY_KEEP_DAYS))).rowcount
    gone += db.session.execute(sa.delete(WebhookDelivery).where(
        WebhookDelivery.status == DeliveryStatus.DELIVERED,
        WebhookDelivery.delivered_at < at - dt.timedelta(days=DELIVERY_KEEP_DAYS))).rowcount
    db.session.commit()
    return 0 if gone < 0 else gone


def recent_deliveries(limit: int = 100) -> list[WebhookDelivery]:
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)))


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(200)))
