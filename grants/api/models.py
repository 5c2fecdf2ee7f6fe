"""The JSON API's own tables: access tokens, service accounts, idempotency records and webhooks.

Tokens are stored as a SHA-256 of the secret (the secret is 32 random bytes, so a slow hash adds nothing
and a fast one lets every request find its token by an index). Webhook events are written by a listener
on the audit log in the same transaction as the change they announce (an outbox), and each
(endpoint, event) delivery row is unique, so a change is delivered to an endpoint once at most.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class TokenKind(StrEnum):
    PERSONAL = "personal"
    SERVICE = "service"


TOKEN_KIND_LABELS = {TokenKind.PERSONAL: _l("个人令牌"), TokenKind.SERVICE: _l("服务账号令牌")}


class ApiToken(db.Model):
    """个人访问令牌 / 服务账号令牌: acts for `user` with at most `scopes`, optionally narrowed to one unit subtree."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default=TokenKind.PERSONAL)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The visible start of the token ("gt_" + 8 characters), shown in lists so a holder can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Unit scope: the token sees only this unit's subtree (which must lie inside the user's own).
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    user = relationship("User", foreign_keys=[user_id], lazy="joined", innerjoin=True)
    host_unit = relationship("HostUnit", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('personal','service')", name="kind_known"),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_by_id IS NOT NULL", name="revoked_has_actor"),
    )

    def is_usable(self, at: dt.datetime | None = None) -> bool:
        at = at or now()
        return self.revoked_at is None and self.expires_at > at

    @property
    def kind_label(self):
        return TOKEN_KIND_LABELS.get(self.kind, self.kind)


class ServiceAccount(db.Model):
    """A user that only the API uses (e.g. the finance bureau's payment system), kept by an admin.

    It has roles and a unit like a person, so every permission function applies to it unchanged; it has
    no usable password (a random one nobody sees), so it never logs in to the pages.
    """

    __tablename__ = "api_service_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    user = relationship("User", foreign_keys=[user_id], lazy="joined", innerjoin=True)


class IdempotencyRecord(db.Model):
    """The first answer to a write sent with an Idempotency-Key, replayed for every repeat of that key."""

    __tablename__ = "api_idempotency"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(100))
    # METHOD + path + a hash of the body: the same key with another request is refused, not replayed.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)


class WebhookEndpoint(db.Model):
    """An integration's receiver URL and the events it wants; deliveries are signed with its secret."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    secret: Mapped[str] = mapped_column(sa.String(100))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class WebhookEvent(db.Model):
    """Something that happened, once: its event_id is what receivers use to drop repeats."""

    __tablename__ = "webhook_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


DELIVERY_STATUS_LABELS = {DeliveryStatus.PENDING: _l("待发送"), DeliveryStatus.DELIVERED: _l("已送达"),
                          DeliveryStatus.FAILED: _l("已放弃")}


class WebhookDelivery(db.Model):
    """One event to one endpoint, retried with backoff until the receiver answers 2xx."""

    __tablename__ = "webhook_delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    endpoint = relationship("WebhookEndpoint", lazy="joined", innerjoin=True)
    event = relationship("WebhookEvent", lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        enum_check("status", DeliveryStatus),
        sa.CheckConstraint("status != 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_time"),
    )

    @property
    def status_label(self):
        return DELIVERY_STATUS_LABELS.get(self.status, self.status)


__all__ = ["TokenKind", "ApiToken", "ServiceAccount", "IdempotencyRecord", "WebhookEndpoint", "WebhookEvent",
           "DeliveryStatus", "WebhookDelivery"]
