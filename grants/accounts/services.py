"""Accounts: passwords, log-in with lock-out, staff accounts and roles."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from grants.accounts.models import Role, User, UserRole
from grants.core.audit import record
from grants.core.timeutil import now
from grants.extensions import db

_HASHERS: dict[bool, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults; tests use cheap parameters to stay fast."""
    fast = bool(current_app and current_app.config.get("PASSWORD_HASH_FAST"))
    if fast not in _HASHERS:
        _HASHERS[fast] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
    return _HASHERS[fast]
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field  # the form field the message belongs next to


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_password(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise AccountError(_("密码至少 8 位，且须同时包含字母和数字"), field="new_password")


def find_login_user(login: str) -> User | None:
    """A user by username or mobile number."""
    login = login.strip()
    return db.session.scalar(sa.select(User).where(sa.or_(User.username == login, User.mobile == login)))


def authenticate(login: str, password: str) -> User:
    """Check credentials; five failures lock the account for 15 minutes. Raises AccountError."""
    user = find_login_user(login)
    generic = _("用户名或密码错误")
    if user is None:
        _hasher().hash(password)  # same work as a real check, so timing does not reveal accounts
        raise AccountError(generic)
    at = now()
    if user.is_locked(at):
        minutes = max(1, int((user.locked_until - at).total_seconds() // 60) + 1)
        raise AccountError(_("登录失败次数过多，账号已锁定，请 %(m)s 分钟后再试", m=minutes))
    if not check_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = at + dt.timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record(None, "user.lock", user, after={"locked_until": user.locked_until})
            raise AccountError(_("连续 %(n)s 次密码错误，账号已锁定 %(m)s 分钟",
                                 n=current_app.config["LOGIN_MAX_FAILURES"],
                                 m=current_app.config["LOGIN_LOCK_MINUTES"]))
        raise AccountError(generic)
    if not user.is_active_account:
        raise AccountError(_("账号已停用，请联系管理员"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = at
    return user


def change_password(user: User, old: str, new: str) -> None:
    """The user changes their own password."""
    if not check_password(user, old):
        raise AccountError(_("原密码不正确"), field="old_password")
    validate_new_password(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    record(user, "user.change_password", user)


def _check_unique(username: str, mobile: str | None, exclude_id: int | None = None) -> None:
    q = sa.select(User.id).where(User.username == username)
    if exclude_id:
        q = q.where(User.id != exclude_id)
    if db.session.scalar(q):
        raise AccountError(_("用户名“%(u)s”已被使用", u=username))
    if mobile:
        q = sa.select(User.id).where(User.mobile == mobile)
        if exclude_id:
            q = q.where(User.id != exclude_id)
        if db.session.scalar(q):
            raise AccountError(_("手机号“%(m)s”已被使用", m=mobile))


def create_user(*, username: str, display_name: str, password: str, roles: list[str] | set[str],
                mobile: str | None = None, email: str | None = None, host_unit_id: int | None = None,
                affiliation: str | None = None, actor=None, must_change_password: bool = False,
                check_password_strength: bool = True) -> User:
    """Create an account with roles; officers, finance and auditors must belong to a host unit."""
    username = username.strip()
    mobile = (mobile or "").strip() or None
    if mobile and not MOBILE_RE.match(mobile):
        raise AccountError(_("手机号格式不正确"))
    _check_unique(username, mobile)
    if check_password_strength:
        validate_new_password(password)
    _check_unit_roles(roles, host_unit_id)
    user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                mobile=mobile, email=(email or "").strip() or None, host_unit_id=host_unit_id,
                affiliation=affiliation, must_change_password=must_change_password)
    user.roles = [UserRole(role=str(Role(r))) for r in sorted(set(roles))]
    db.session.add(user)
    if Role.EXPERT in set(roles):
        _expert_profile_for(user, actor)
    record(actor, "user.create", user, after={"username": username, "roles": sorted(set(roles)),
                                              "host_unit_id": host_unit_id})
    return user


def _expert_profile_for(user: User, actor) -> None:
    """An expert account gets its pool profile when it gets the role (never later, on a page view); the
    expert belongs to the unit that recruited them: the account's unit, else the creating officer's."""
    from grants.reviews.services import ensure_profile

    db.session.flush()
    ensure_profile(user, host_unit_id=user.host_unit_id or getattr(actor, "host_unit_id", None))


def _check_unit_roles(roles, host_unit_id) -> None:
    from grants.accounts.models import UNIT_ROLES

    if set(roles) & {str(r) for r in UNIT_ROLES} and not host_unit_id:
        raise AccountError(_("项目主管、财务人员和监督审计人员必须隶属于一个主办单位"))


def update_user(user: User, *, display_name: str, mobile: str | None, email: str | None,
                host_unit_id: int | None, affiliation: str | None, roles: list[str] | set[str],
                is_active: bool, actor) -> None:
    """An admin edits a staff account, its roles and unit."""
    mobile = (mobile or "").strip() or None
    if mobile and not MOBILE_RE.match(mobile):
        raise AccountError(_("手机号格式不正确"))
    _check_unique(user.username, mobile, exclude_id=user.id)
    roles = set(roles)
    if user.membership is not None:
        roles.add(Role.APPLICANT)  # members of an organisation keep their applicant role
    _check_unit_roles(roles, host_unit_id)
    if user.id == getattr(actor, "id", None) and Role.ADMIN not in roles:
        raise AccountError(_("不能撤销自己的管理员角色"))
    before = {"roles": sorted(user.role_names), "host_unit_id": user.host_unit_id, "active": user.is_active_account,
              "display_name": user.display_name, "mobile": user.mobile}
    user.display_name = display_name.strip()
    user.mobile = mobile
    user.email = (email or "").strip() or None
    user.host_unit_id = host_unit_id
    user.affiliation = affiliation
    user.is_active_account = is_active
    current = {r.role: r for r in user.roles}
    user.roles = [current.get(str(r)) or UserRole(role=str(Role(r))) for r in sorted(roles)]
    if Role.EXPERT in roles:
        _expert_profile_for(user, actor)
    record(actor, "user.update", user, before=before,
           after={"roles": sorted(str(r) for r in roles), "host_unit_id": host_unit_id, "active": is_active,
                  "display_name": user.display_name, "mobile": mobile})


def reset_password(user: User, new_password: str, actor) -> None:
    """An admin sets a temporary password and unlocks the account; the user must change it."""
    validate_new_password(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    record(actor, "user.reset_password", user)


def unlock_user(user: User, actor) -> None:
    user.failed_logins = 0
    user.locked_until = None
    record(actor, "user.unlock", user)


def unit_officers(host_unit_id: int) -> list[User]:
    """The active officers (项目主管) of one host unit, for notices that need one of them to act."""
    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.host_unit_id == host_unit_id, UserRole.role == Role.OFFICER, User.is_active_account.is_(True))
        .order_by(User.id)).unique())
