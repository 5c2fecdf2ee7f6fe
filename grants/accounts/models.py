"""Users and their roles."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    APPLICANT = "applicant"
    EXPERT = "expert"
    EVALUATOR = "evaluator"
    FINANCE = "finance"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.ADMIN: _l("系统管理员"),
    Role.OFFICER: _l("项目主管"),
    Role.APPLICANT: _l("申报单位"),
    Role.EXPERT: _l("评审专家"),
    Role.EVALUATOR: _l("评估人员"),
    Role.FINANCE: _l("财务人员"),
    Role.AUDITOR: _l("监督审计"),
}
# Roles that belong to a host unit and see its subtree.
UNIT_ROLES = {Role.OFFICER, Role.FINANCE, Role.AUDITOR}
STAFF_ROLES = {Role.ADMIN, Role.OFFICER, Role.EXPERT, Role.EVALUATOR, Role.FINANCE, Role.AUDITOR}


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    mobile: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(120))
    # Set when the person proved the contact is theirs with a one-time code; cleared when it changes.
    mobile_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active_account: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    # Affiliation (employer) of experts and evaluators, used for conflict checks later.
    affiliation: Mapped[str | None] = mapped_column(sa.String(120))
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Two-factor authentication (TOTP, RFC 6238): the base32 secret, when it was switched on, and the last time
    # step used, so one code opens one log-in only.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    host_unit = relationship("HostUnit", lazy="joined")
    membership = relationship("OrganizationMember", back_populates="user", uselist=False, lazy="selectin")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names & set(roles))

    @property
    def organization(self):
        return self.membership.organization if self.membership else None

    def is_locked(self, at: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (at or now())

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(db.Model):
    __tablename__ = "user_role"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20), index=True)
    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "role"),
        sa.CheckConstraint(
            "role IN ('admin','officer','applicant','expert','evaluator','finance','auditor')", name="role_known"
        ),
    )


class UserSession(db.Model):
    """One signed-in browser (登录设备). The session cookie carries a random id whose hash must match a row here, so
    deleting the row ends that session at once; with "记住我" the row also holds a hashed random remember token."""
    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sid_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))


class TrustedDevice(db.Model):
    """A browser on which the user ticked "30 天内在此设备上免验证": a hashed random token in a cookie of its own."""
    __tablename__ = "trusted_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class RecoveryCode(db.Model):
    """One-time codes (恢复码) for when the phone with the authenticator app is lost; stored hashed."""
    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PasswordHistory(db.Model):
    """Hashes of a user's earlier passwords, so a new one cannot repeat the last three."""
    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class LoginThrottle(db.Model):
    """Failed log-ins counted per key: "acct:<user id>:<address>" locks one account from one source only, so a
    stranger cannot lock a finance user out; "ip:<address>" counts every failure from one source (then CAPTCHA)."""
    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TwoFactorPolicy(db.Model):
    """An admin's choice whether a role must use two-factor authentication; roles without a row follow the
    TWO_FACTOR_ROLES setting."""
    __tablename__ = "two_factor_policy"
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    required: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
class VerificationCode(db.Model):
    """A one-time code sent to a mobile (SMS) or an e-mail address: to prove the contact is the person's, or to
    reset a password. Only its keyed hash is stored; it is single-use and expires. The rows are also the
    counters of the rate limits (per contact and per IP), so no limit is lost on a restart."""

    __tablename__ = "verification_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # verify_mobile | verify_email | reset
    channel: Mapped[str] = mapped_column(sa.String(10))  # sms | email
    contact: Mapped[str] = mapped_column(sa.String(120))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("purpose IN ('verify_mobile','verify_email','reset')", name="purpose_known"),
        sa.CheckConstraint("channel IN ('sms','email')", name="channel_known"),
        sa.CheckConstraint("failed_attempts >= 0", name="attempts_nonneg"),
        sa.Index("ix_verification_code_contact", "contact", "created_at"),
        sa.Index("ix_verification_code_ip", "ip", "created_at"),
    )
