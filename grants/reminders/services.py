"""Notifications for other domains, inbox actions, preferences and reminder settings. No commits here."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.extensions import db
from grants.reminders.channels import EmailChannel, Message, SmsChannel, active_channels
from grants.reminders.kinds import GENERAL, KINDS, is_critical
from grants.reminders.models import (
    RESENDABLE_MAIL_STATUSES, CallReminderSetting, MailStatus, Notification, NotificationPreference, OutboxMail,
    ReminderRule,
)
from grants.reminders.registry import RULES


class ReminderError(DomainError):
    """A reminder setting was refused."""


def preference_set(rows) -> set[str]:
    """(kind, email_enabled, sms_enabled) rows → the channels' choice set (see channels.py)."""
    prefs = set()
    for kind, email_enabled, sms_enabled in rows:
        if email_enabled is False:
            prefs.add(kind)
        if sms_enabled is not None:
            prefs.add(f"sms{'+' if sms_enabled else '-'}{kind}")
    return prefs


def notify(user, title: str, body: str = "", *, link: str = "", kind: str = GENERAL.key, sms: str = "",
           sms_params: dict | None = None) -> None:
    """Tell one user about something that just happened (inbox, plus e-mail unless muted).

    For events inside a request: the caller's commit sends it along with the change it reports.
    """
    prefs = preference_set(db.session.execute(sa.select(
        NotificationPreference.kind, NotificationPreference.email_enabled, NotificationPreference.sms_enabled)
        .where(NotificationPreference.user_id == user.id)))
    message = Message(kind=kind, title=title[:200], body=body, link=link[:300], sms=sms, sms_params=sms_params)
    for channel in active_channels():
        if channel.accepts(user, message, prefs):
            channel.send(user, message)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


@dataclass(frozen=True)
class Addressee:
    """Someone without an account (e.g. an objector), reached at the address they typed into a public form."""

    email: str = ""
    mobile: str = ""


def notify_contact(contact: str, title: str, body: str = "", *, link: str = "") -> str | None:
    """Send a message to a contact typed into a public form: an e-mail address through the mail outbox, a
    mainland mobile number through the SMS outbox. Returns the channel used, or None (a landline): the caller
    still shows the message on the page."""
    contact = (contact or "").strip()
    message = Message(kind=GENERAL.key, title=title[:200], body=body, link=link[:300])
    if _EMAIL.match(contact) and len(contact) <= 120:
        EmailChannel().send(Addressee(email=contact), message)
        return "email"
    mobile = _MOBILE.match(re.sub(r"[\s-]", "", contact))
    if mobile:
        SmsChannel().send(Addressee(mobile=mobile.group(1)), message)
        return "sms"
    return None


def unread_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(notification: Notification, actor) -> None:
    """Mark one notification read (idempotent)."""
    if notification.read_at is None:
        notification.read_at = now()


def mark_all_read(actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return db.session.execute(sa.update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).values(read_at=now())).rowcount


def kinds_for(user) -> list:
    """The kinds a user can receive, for the preferences page: the general kinds, the notices to
    organisations for their members, the notices to staff for staff."""
    from grants.reminders.notices import APPLICANT, NOTICES

    roles = set(getattr(user, "role_names", ()) or ())
    is_applicant = "applicant" in roles or getattr(user, "membership", None) is not None
    is_staff = bool(roles - {"applicant"})
    wanted = []
    for key, kind in KINDS.items():
        notice = NOTICES.get(key)
        if notice is None or (is_applicant if notice.audience == APPLICANT else is_staff):
            wanted.append(kind)
    return wanted


def email_preferences(user) -> dict[str, bool]:
    """kind → e-mail on, for every kind (critical kinds always on)."""
    stored = dict(db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.email_enabled)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {k: True if kind.critical else stored.get(k, True) for k, kind in KINDS.items()}


def set_email_preference(user, kind: str, enabled: bool) -> None:
    """Switch e-mail for one kind on or off; critical kinds cannot be switched off."""
    if kind not in KINDS:
        raise ReminderError(_("未知的通知类型。"))
    if is_critical(kind) and not enabled:
        raise ReminderError(_("“%(kind)s”是您负责事项的截止提醒，邮件不可关闭。", kind=KINDS[kind].label), field=kind)
    pref = db.session.scalar(sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    if pref is None:
        pref = NotificationPreference(user_id=user.id, kind=kind)
        db.session.add(pref)
    pref.email_enabled = enabled


def sms_preferences(user) -> dict[str, bool]:
    """kind → SMS on, for every kind (the person's choice, else the kind's default; critical kinds on)."""
    from grants.reminders.kinds import sms_default

    stored = dict(db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.sms_enabled)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {k: True if kind.critical else (stored[k] if stored.get(k) is not None else sms_default(k))
            for k, kind in KINDS.items()}


def set_sms_preference(user, kind: str, enabled: bool) -> None:
    """Switch SMS for one kind on or off (critical kinds stay on)."""
    if kind not in KINDS:
        raise ReminderError(_("未知的通知类型。"))
    if is_critical(kind):
        return
    pref = db.session.scalar(sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    if pref is None:
        pref = NotificationPreference(user_id=user.id, kind=kind, email_enabled=True)
        db.session.add(pref)
    pref.sms_enabled = enabled


def parse_offsets(text: str, *, allow_overdue: bool, after: bool = False) -> list[int]:
    """'7, 3, 1' → [7, 3, 1] (days before the deadline; negative = after it, only for overdue rules)."""
    values: list[int] = []
    for part in text.replace("，", ",").replace("、", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise ReminderError(_("提前天数须为整数，用逗号分隔，例如 7,3,1。")) from None
        if not -60 <= value <= 90:
            raise ReminderError(_("提前天数须在 -60 到 90 之间。"))
        if after and value <= 0:
            raise ReminderError(_("天数须大于 0。"))
        if value <= 0 and not allow_overdue:
            raise ReminderError(_("此提醒只在截止前发送，提前天数须大于 0。"))
        if value not in values:
            values.append(value)
    if not values:
        raise ReminderError(_("请至少填写一个提前天数；不需要提醒时请关闭此提醒。"))
    return sorted(values, reverse=True)


def _rule(key: str):
    if key not in RULES:
        raise ReminderError(_("未知的提醒规则。"))
    return RULES[key]


def call_reminder_settings(call) -> list[dict]:
    """Every per-call rule with its effective setting: the call's override, else the platform default."""
    defaults = {r.rule: r for r in db.session.scalars(sa.select(ReminderRule))}
    overrides = {s.rule: s for s in db.session.scalars(
        sa.select(CallReminderSetting).where(CallReminderSetting.call_id == call.id))}
    rows = []
    for key, r in RULES.items():
        if not r.per_call:
            continue
        d = defaults.get(key)
        d_enabled, d_offsets = (d.enabled, list(d.offsets)) if d else (True, list(r.default_offsets))
        o = overrides.get(key)
        rows.append(dict(rule=r, platform_enabled=d_enabled, default_offsets=d_offsets, overridden=o is not None,
                         enabled=o.enabled if o else d_enabled, offsets=list(o.offsets) if o else d_offsets))
    return rows


def set_call_reminder(call, key: str, *, enabled: bool, offsets_text: str, actor) -> None:
    """An officer switches a rule off for a call or changes its offsets (audited)."""
    r = _rule(key)
    offsets = parse_offsets(offsets_text, allow_overdue=r.allow_overdue, after=r.after)
    setting = db.session.scalar(sa.select(CallReminderSetting).where(
        CallReminderSetting.call_id == call.id, CallReminderSetting.rule == key))
    before = {"enabled": setting.enabled, "offsets": list(setting.offsets)} if setting else None
    if setting is None:
        setting = CallReminderSetting(call_id=call.id, rule=key)
        db.session.add(setting)
    setting.enabled = enabled
    setting.offsets = offsets
    setting.updated_by_id = actor.id
    db.session.flush()
    record(actor, "reminder.call_setting", call, before=before,
           after={"rule": key, "enabled": enabled, "offsets": offsets})


def reset_call_reminder(call, key: str, actor) -> None:
    """Back to the platform default for this rule."""
    _rule(key)
    setting = db.session.scalar(sa.select(CallReminderSetting).where(
        CallReminderSetting.call_id == call.id, CallReminderSetting.rule == key))
    if setting is not None:
        before = {"rule": key, "enabled": setting.enabled, "offsets": list(setting.offsets)}
        db.session.delete(setting)
        record(actor, "reminder.call_setting_reset", call, before=before, after=None)


def set_platform_rule(key: str, *, enabled: bool, offsets_text: str, actor) -> None:
    """The platform-wide default of a rule (admin)."""
    r = _rule(key)
    offsets = parse_offsets(offsets_text, allow_overdue=r.allow_overdue, after=r.after)
    row = db.session.scalar(sa.select(ReminderRule).where(ReminderRule.rule == key))
    if row is None:
        row = ReminderRule(rule=key)
        db.session.add(row)
    before = {"enabled": row.enabled, "offsets": list(row.offsets or [])} if row.id else None
    row.enabled = enabled
    row.offsets = offsets
    db.session.flush()
    record(actor, "reminder.platform_rule", row, before=before, after={"rule": key, "enabled": enabled,
                                                                       "offsets": offsets})


def resend_mail(mail: OutboxMail, actor) -> None:
    """An admin queues a failed or uncertain mail again (after checking it did not arrive): it gets a fresh
    round of attempts from now. Audited, since an uncertain mail may then arrive twice."""
    if mail.status not in RESENDABLE_MAIL_STATUSES:
        raise ReminderError(_("只有发送失败或结果不明的邮件可以重发。"))
    before = {"status": mail.status, "attempts": mail.attempts, "last_error": mail.last_error}
    mail.status = MailStatus.QUEUED
    mail.attempts = 0
    mail.next_attempt_at = now()
    mail.claimed_at = None
    record(actor, "mail.resend", mail, before=before, after={"status": str(MailStatus.QUEUED)},
           object_type="outbox_mail")
