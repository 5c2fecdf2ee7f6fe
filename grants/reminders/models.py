"""Notifications (in-app inbox), the mail outbox, the delivery ledger that makes reminders exactly-once,
reminder settings (platform-wide and per call), e-mail preferences and the scheduler's heartbeat."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class Notification(db.Model):
    """One message in a user's in-app inbox."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    late: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # The navbar counts unread rows per user on every page: (user_id, read_at) answers it from the index.
    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at"),)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Claimed for sending but never marked sent or failed (the sender died mid-way): it may or may not have
    # gone out, so it is never resent automatically; an admin checks and resends it by hand.
    UNCERTAIN = "uncertain"


MAIL_STATUS_LABELS = {MailStatus.QUEUED: _l("待发送"), MailStatus.SENDING: _l("发送中"), MailStatus.SENT: _l("已发送"),
                      MailStatus.FAILED: _l("发送失败"), MailStatus.UNCERTAIN: _l("结果不明")}
# What an admin may put back in the queue by hand.
RESENDABLE_MAIL_STATUSES = (MailStatus.FAILED, MailStatus.UNCERTAIN)


class OutboxMail(db.Model):
    """An e-mail waiting to be sent. Without MAIL_SERVER (development, tests) it stays here, readable by admins."""

    __tablename__ = "outbox_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(10), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When a sender claimed it (status sending): past a timeout without an outcome it becomes uncertain.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)

    __table_args__ = (
        enum_check("status", MailStatus),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonneg"),
        sa.CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        sa.CheckConstraint("status <> 'sending' OR claimed_at IS NOT NULL", name="sending_has_claim"),
    )

    @property
    def status_label(self):
        return MAIL_STATUS_LABELS.get(self.status, self.status)


class OutboxSms(db.Model):
    """A text message waiting to be sent, like OutboxMail: the same claim → send → mark ledger, retries and
    "结果不明". Chinese SMS must match a template registered with the provider, so the row keeps the notice
    kind (which template) and its parameters besides the text itself. Without an SMS provider configured it
    stays here, readable by admins."""

    __tablename__ = "outbox_sms"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_mobile: Mapped[str] = mapped_column(sa.String(20), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.String(300), default="")
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    # The provider's id of the accepted message (Alibaba Cloud BizId), to look it up in its console.
    provider_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)

    __table_args__ = (
        enum_check("status", MailStatus),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonneg"),
        sa.CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        sa.CheckConstraint("status <> 'sending' OR claimed_at IS NOT NULL", name="sending_has_claim"),
    )

    @property
    def status_label(self):
        return MAIL_STATUS_LABELS.get(self.status, self.status)


class Delivery(db.Model):
    """The ledger of scheduled reminders: one row per (rule, subject, recipient, occurrence, channel).

    The row is inserted in the same transaction as the notification or outbox mail it records, and the
    unique key makes a second insert fail: a crash between sending and recording, or two passes at once,
    cannot deliver a reminder twice.
    """

    __tablename__ = "delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    occurrence: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[str] = mapped_column(sa.String(10))
    # When the reminder was due; `late` when it went out well after that (the scheduler was down).
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)

    __table_args__ = (
        sa.UniqueConstraint("rule", "subject_type", "subject_id", "recipient_id", "occurrence", "channel",
                            name="uq_delivery_once"),
        # A pass looks up what was already delivered for a rule's subjects.
        sa.Index("ix_delivery_subject", "rule", "subject_type", "subject_id"),
    )


class ReminderRule(db.Model):
    """Platform-wide setting of one reminder rule (seeded from the rule registry's defaults)."""

    __tablename__ = "reminder_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(40), unique=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    offsets: Mapped[list] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    # When a pass last evaluated this rule: a reminder due before then that goes out only now was not
    # missed by an outage (its data appeared later), so it is not marked late.
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CallReminderSetting(db.Model):
    """An officer's override of a rule for one call: switched off, or other offsets."""

    __tablename__ = "call_reminder_setting"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(40))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    offsets: Mapped[list] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    __table_args__ = (sa.UniqueConstraint("call_id", "rule", name="uq_call_reminder_setting"),)


class NotificationPreference(db.Model):
    """A user's choice to receive e-mail for one kind of notification (default: yes)."""

    __tablename__ = "notification_preference"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    email_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # None: the kind's default (SMS on for what organisations must act on, off for staff notices).
    sms_enabled: Mapped[bool | None] = mapped_column(sa.Boolean)

    __table_args__ = (sa.UniqueConstraint("user_id", "kind", name="uq_notification_preference"),)


class SchedulerInstance(db.Model):
    """Heartbeat of each scheduler process, active or standby, for the admin's scheduler page."""

    __tablename__ = "scheduler_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    hostname: Mapped[str] = mapped_column(sa.String(100))
    pid: Mapped[int] = mapped_column(sa.Integer)
    lock_kind: Mapped[str] = mapped_column(sa.String(20))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    last_pass_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_pass_ms: Mapped[int | None] = mapped_column(sa.Integer)
    last_pass_delivered: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_pass_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")


class NoticeTemplate(db.Model):
    """An admin's wording of one notice kind (platform-wide), replacing the default title, body and SMS text;
    an empty part keeps the default. A template that fails when a notice is sent falls back to the default
    and the failure is kept here for the admin to see."""

    __tablename__ = "notice_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    sms: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
