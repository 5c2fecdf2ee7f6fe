"""One-time codes: proving a mobile number (by SMS) or an e-mail address (by mail) is the person's, and
resetting a password. A code is six digits, stored only as a keyed hash, used once, valid for minutes.

Rate limits are counted in the database, from the codes themselves: per contact (a mobile or an address
cannot be flooded) and per IP address (one client cannot try many contacts), and wrong guesses per code.
Counting rows means the limits hold across processes and restarts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from grants.accounts.models import User, VerificationCode
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.extensions import db

CODE_MINUTES = {"verify_mobile": 10, "verify_email": 30, "reset": 15}
PER_CONTACT_PER_HOUR = 5
PER_IP_PER_HOUR = 20
RESEND_SECONDS = 60
MAX_WRONG = 5


class VerificationError(DomainError):
    """A verification code was refused."""


def _hash(purpose: str, contact: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{contact}:{code}".encode(), hashlib.sha256).hexdigest()


def _limit(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def check_send_limits(contact: str, ip: str) -> None:
    """Refuse a new code when the contact or the client asked too often (counted from the stored codes)."""
    at = now()
    hour_ago = at - dt.timedelta(hours=1)
    by_contact = db.session.execute(
        sa.select(sa.func.count(VerificationCode.id), sa.func.max(VerificationCode.created_at))
        .where(VerificationCode.contact == contact, VerificationCode.created_at > hour_ago)).one()
    if by_contact[1] is not None and at - by_contact[1] < dt.timedelta(seconds=_limit("CODE_RESEND_SECONDS",
                                                                                    RESEND_SECONDS)):
        raise VerificationError(_("验证码已发送，请稍后再试（%(s)s 秒内只能发送一次）。",
                                  s=_limit("CODE_RESEND_SECONDS", RESEND_SECONDS)))
    if by_contact[0] >= _limit("CODE_PER_CONTACT_PER_HOUR", PER_CONTACT_PER_HOUR):
        raise VerificationError(_("该号码或邮箱在一小时内获取验证码次数过多，请稍后再试。"))
    if ip and db.session.scalar(sa.select(sa.func.count(VerificationCode.id)).where(
            VerificationCode.ip == ip, VerificationCode.created_at > hour_ago)) >= _limit(
            "CODE_PER_IP_PER_HOUR", PER_IP_PER_HOUR):
        raise VerificationError(_("当前网络获取验证码次数过多，请一小时后再试。"))


def issue_code(*, purpose: str, channel: str, contact: str, user: User | None, ip: str, long: bool = False) -> str:
    """Store a new code (and invalidate the earlier unused ones for the same purpose and contact); returns the
    code for the caller to deliver (`long`: a token for a link instead of six digits). Limits are checked first."""
    check_send_limits(contact, ip)
    at = now()
    db.session.execute(sa.update(VerificationCode).where(
        VerificationCode.contact == contact, VerificationCode.purpose == purpose, VerificationCode.used_at.is_(None),
        VerificationCode.expires_at > at).values(expires_at=at))
    code = secrets.token_urlsafe(24) if long else f"{secrets.randbelow(1_000_000):06d}"
    db.session.add(VerificationCode(user_id=getattr(user, "id", None), purpose=purpose, channel=channel,
                                    contact=contact, code_hash=_hash(purpose, contact, code), ip=(ip or "")[:45],
                                    created_at=at, expires_at=at + dt.timedelta(minutes=CODE_MINUTES[purpose])))
    return code


def deliver_code(channel: str, contact: str, code: str, purpose: str) -> None:
    """Queue the code by SMS or e-mail (sent with the caller's commit, through the outboxes)."""
    minutes = CODE_MINUTES[purpose]
    what = _("重置密码") if purpose == "reset" else _("验证联系方式")
    if channel == "sms":
        from grants.reminders.sms import queue_sms

        queue_sms(contact, "verification_code",
                  _("您正在%(w)s，验证码 %(c)s，%(m)s 分钟内有效。如非本人操作请忽略。", w=what, c=code, m=minutes),
                  {"code": code})
    else:
        from grants.reminders.models import OutboxMail

        platform = current_app.config.get("PLATFORM_NAME", "")
        db.session.add(OutboxMail(to_address=contact, subject=f"[{platform}] " + _("验证码：%(c)s", c=code),
                                  body=_("您正在%(w)s，验证码为 %(c)s，%(m)s 分钟内有效。如非本人操作请忽略本邮件。",
                                         w=what, c=code, m=minutes) + f"\n\n—— {platform}"))


def send_contact_code(user: User, which: str, *, ip: str) -> None:
    """Send a code to the user's mobile (SMS) or e-mail address, to verify it."""
    if which == "mobile":
        if not user.mobile:
            raise VerificationError(_("请先填写手机号"), "mobile")
        contact, channel = user.mobile, "sms"
    elif which == "email":
        if not user.email:
            raise VerificationError(_("请先填写电子邮箱"), "email")
        contact, channel = user.email.lower(), "email"
    else:
        raise VerificationError(_("未知的联系方式"))
    purpose = f"verify_{which}"
    code = issue_code(purpose=purpose, channel=channel, contact=contact, user=user, ip=ip)
    deliver_code(channel, contact, code, purpose)
    record(user, f"user.send_code_{which}", user, after={"contact": _mask(contact)})


def consume_code(*, purpose: str, contact: str, code: str) -> VerificationCode | None:
    """The live code for this purpose and contact if `code` matches it (then used up); a wrong guess counts,
    and MAX_WRONG of them burn the code. None when nothing matches."""
    at = now()
    row = db.session.scalar(sa.select(VerificationCode).where(
        VerificationCode.contact == contact, VerificationCode.purpose == purpose, VerificationCode.used_at.is_(None),
        VerificationCode.expires_at > at).order_by(VerificationCode.id.desc()).limit(1).with_for_update())
    if row is None:
        return None
    code = (code or "").strip()[:64]
    if not (code and hmac.compare_digest(row.code_hash, _hash(purpose, contact, code))):
        row.failed_attempts += 1
        if row.failed_attempts >= _limit("CODE_MAX_WRONG", MAX_WRONG):
            row.expires_at = at  # burnt: a new code must be requested
        return None
    row.used_at = at
    return row


def confirm_contact(user: User, which: str, code: str) -> None:
    """Mark the mobile or e-mail verified when the code is right (single use)."""
    contact = user.mobile if which == "mobile" else (user.email or "").lower()
    if not contact:
        raise VerificationError(_("请先填写联系方式"))
    if consume_code(purpose=f"verify_{which}", contact=contact, code=code) is None:
        raise VerificationError(_("验证码不正确或已失效，请重新获取。"), "code")
    setattr(user, f"{which}_verified_at", now())
    record(user, f"user.verify_{which}", user, after={"contact": _mask(contact)})


def _mask(contact: str) -> str:
    """13912340001 → 139****0001; wang@example.org → w***@example.org (the audit keeps no full contact)."""
    if "@" in contact:
        name, _at, domain = contact.partition("@")
        return f"{name[:1]}***@{domain}"
    return contact[:3] + "****" + contact[-4:] if len(contact) >= 7 else "***"


# --- password reset (忘记密码) -------------------------------------------------------------

def reset_user_for(contact: str) -> User | None:
    """The one account a reset contact names: a mobile number, or an e-mail address held by exactly one person."""
    contact = (contact or "").strip()
    if "@" in contact:
        users = db.session.scalars(sa.select(User).where(sa.func.lower(User.email) == contact.lower())
                                   .limit(2)).all()
        return users[0] if len(users) == 1 and users[0].is_active_account else None
    user = db.session.scalar(sa.select(User).where(User.mobile == contact))
    return user if user is not None and user.is_active_account else None


def request_password_reset(contact: str, *, ip: str, link_for) -> None:
    """Send a reset code (mobile) or link (e-mail) if the contact belongs to an account. Whether it does is
    never told: an unknown contact gets the same answer, and is counted against the same limits."""
    contact = (contact or "").strip()
    email = "@" in contact
    if email:
        contact = contact.lower()
    user = reset_user_for(contact)
    code = issue_code(purpose="reset", channel="email" if email else "sms", contact=contact, user=user, ip=ip,
                      long=email)
    if user is None:
        return
    if email:
        from grants.reminders.models import OutboxMail

        platform = current_app.config.get("PLATFORM_NAME", "")
        db.session.add(OutboxMail(to_address=contact, subject=f"[{platform}] " + _("重置密码"),
                                  body=_("您正在重置 %(u)s 的密码。请在 %(m)s 分钟内打开以下链接设置新密码（只能使用一次）：",
                                         u=user.username, m=CODE_MINUTES["reset"]) + "\n\n" + link_for(contact, code)
                                  + "\n\n" + _("如非本人操作，请忽略本邮件，您的密码不会改变。") + f"\n\n—— {platform}"))
    else:
        deliver_code("sms", contact, code, "reset")
    record(None, "user.reset_requested", user, after={"contact": _mask(contact)})


def reset_password_with_code(contact: str, code: str, new_password: str) -> User:
    """Set a new password with a valid reset code or link token: single use; every other session of the user
    ends and the contact counts as verified (the code reached it)."""
    from grants.accounts.services import AccountError, end_sessions, set_password, validate_new_password

    contact = (contact or "").strip()
    if "@" in contact:
        contact = contact.lower()
    user = reset_user_for(contact)
    try:
        validate_new_password(new_password or "", user=user)
    except AccountError as exc:
        raise VerificationError(exc.message, "new_password") from exc
    if consume_code(purpose="reset", contact=contact, code=code) is None or user is None:
        raise VerificationError(_("验证码或链接不正确、已使用或已过期，请重新获取。"), "code")
    set_password(user, new_password, must_change=False)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user)
    setattr(user, "email_verified_at" if "@" in contact else "mobile_verified_at", now())
    record(user, "user.reset_password_self", user, after={"contact": _mask(contact)})
    return user
