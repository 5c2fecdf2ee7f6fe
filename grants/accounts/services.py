"""Accounts: passwords, log-in with lock-out, revocable sessions, two-factor authentication, staff accounts."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from grants.accounts.models import (LoginThrottle, PasswordHistory, RecoveryCode, Role, TrustedDevice,
                                    TwoFactorPolicy, User, UserRole, UserSession)
from grants.core.audit import record
from grants.core.errors import DomainError
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


class AccountError(DomainError):
    """An account rule refused the action (the field names the form field it belongs next to)."""


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


PASSWORD_MIN_LENGTH = 10
PASSWORD_HISTORY = 3  # a new password may not repeat the current one or the two before it
PASSWORD_MIN_SCORE = 3  # zxcvbn's 0–4 scale: 3 = "safely unguessable" for an online attack


def _zxcvbn_warning(warning: str) -> str:
    """zxcvbn explains in English; the user reads Chinese."""
    w = warning.rstrip(".").lower()
    for key, text in (("straight rows of keys", _("键盘上相邻的一排按键很容易被猜到")),
                      ("keyboard pattern", _("简短的键盘图案很容易被猜到")),
                      ('repeats like "aaa"', _("“aaa”这样的重复字符很容易被猜到")),
                      ("repeats like", _("“abcabc”这样的重复并不比“abc”难猜多少")),
                      ("sequences like", _("“abc”“6543”这样的连续字符很容易被猜到")),
                      ("recent years", _("最近的年份很容易被猜到")),
                      ("dates", _("日期很容易被猜到")),
                      ("similar to a commonly used", _("与常用密码非常相似")),
                      ("common password", _("这是一个非常常见的密码")),
                      ("word by itself", _("单个单词很容易被猜到")),
                      ("names and surnames", _("姓名很容易被猜到"))):
        if key in w:
            return text
    return ""


def validate_new_password(password: str, *, username: str | None = None, mobile: str | None = None,
                          user: User | None = None, field: str = "new_password") -> None:
    """The password policy: 10+ characters, hard to guess (zxcvbn), not the user name or mobile number, and not
    one of the user's last three passwords. Raises AccountError with a Chinese message."""
    from zxcvbn import zxcvbn

    username = username or (user.username if user else None)
    mobile = mobile or (user.mobile if user else None)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(_("密码至少 %(n)s 位", n=PASSWORD_MIN_LENGTH), field=field)
    if len(password) > 128:
        raise AccountError(_("密码最多 128 位"), field=field)
    lowered = password.strip().lower()
    if (username and lowered == username.strip().lower()) or (mobile and lowered == mobile.strip()):
        raise AccountError(_("密码不能与用户名或手机号相同"), field=field)
    result = zxcvbn(password[:100], user_inputs=[x for x in (username, mobile) if x])
    if result["score"] < PASSWORD_MIN_SCORE:
        reason = _zxcvbn_warning(result["feedback"].get("warning") or "")
        raise AccountError(
            _("密码太容易被猜到") + (f"（{reason}）" if reason else "") + "，"
            + _("请加长密码，混合使用不常见的词语、数字和符号"), field=field)
    if user is not None and _used_recently(user, password):
        raise AccountError(_("新密码不能与最近 %(n)s 次使用过的密码相同", n=PASSWORD_HISTORY), field=field)


def _used_recently(user: User, password: str) -> bool:
    if user.password_hash and check_password(user, password):
        return True
    earlier = db.session.scalars(sa.select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                                 .order_by(PasswordHistory.id.desc()).limit(PASSWORD_HISTORY - 1)).all()
    return any(_verify_hash(h, password) for h in earlier)


def _verify_hash(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str, *, must_change: bool) -> None:
    """Store a new password; the old hash goes to the history the policy checks."""
    if user.password_hash and user.id is not None:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    user.password_hash = hash_password(password)
    user.must_change_password = must_change


def find_login_user(login: str) -> User | None:
    """A user by username or mobile number."""
    login = login.strip()
    return db.session.scalar(sa.select(User).where(sa.or_(User.username == login, User.mobile == login)))


def _throttle_key(kind: str, *parts: str) -> str:
    # Addresses and typed names can be long or odd: the key stores a short digest of them ("acct:<user id>:…"
    # keeps the account readable so an admin's unlock finds its rows).
    return f"{kind}:" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def _account_key(user: User | None, login: str, source: str) -> str:
    if user is None:
        return _throttle_key("name", login.strip().lower(), source)
    return f"acct:{user.id}:" + _throttle_key("src", source)


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def _count_failure(key: str, at: dt.datetime) -> LoginThrottle:
    row = db.session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, first_failed_at=at)
        db.session.add(row)
    elif row.first_failed_at + _window() < at and not (row.locked_until and row.locked_until > at):
        row.failures, row.first_failed_at, row.locked_until = 0, at, None  # an old streak no longer counts
    row.failures += 1
    return row


def login_captcha_needed(source: str) -> bool:
    """After a few failed log-ins from one address (any account, real or not) its log-ins need a CAPTCHA."""
    row = db.session.get(LoginThrottle, _throttle_key("ip", source))
    return bool(row and row.failures >= current_app.config["LOGIN_CAPTCHA_AFTER"]
                and row.first_failed_at + _window() > now())


def authenticate(login: str, password: str, source: str = "") -> User:
    """Check credentials. Five failures within 15 minutes lock the account *from that source address* for 15
    minutes, so a stranger elsewhere cannot lock the real user out. Names that are no account lock the same way,
    so the answers never tell whether an account exists. Raises AccountError."""
    user = find_login_user(login)
    at = now()
    generic = _("用户名或密码错误")
    account_key = _account_key(user, login, source)
    lock = db.session.get(LoginThrottle, account_key)
    if lock is not None and lock.locked_until and lock.locked_until > at:
        minutes = max(1, int((lock.locked_until - at).total_seconds() // 60) + 1)
        raise AccountError(_("登录失败次数过多，账号已锁定，请 %(m)s 分钟后再试", m=minutes))
    if user is None or not check_password(user, password):
        if user is None:
            _hasher().hash(password)  # same work as a real check, so timing does not reveal accounts
        _count_failure(_throttle_key("ip", source), at)
        row = _count_failure(account_key, at)
        if row.failures >= current_app.config["LOGIN_MAX_FAILURES"]:
            row.locked_until = at + _window()
            row.failures, row.first_failed_at = 0, at
            if user is not None:
                user.locked_until = row.locked_until  # shown to admins, who can lift every lock at once
                record(None, "user.lock", user, after={"locked_until": row.locked_until, "source": source})
            raise AccountError(_("连续 %(n)s 次密码错误，账号已锁定 %(m)s 分钟",
                                 n=current_app.config["LOGIN_MAX_FAILURES"],
                                 m=current_app.config["LOGIN_LOCK_MINUTES"]))
        raise AccountError(generic)
    if not user.is_active_account:
        raise AccountError(_("账号已停用，请联系管理员"))
    if lock is not None:
        db.session.delete(lock)
    user.failed_logins = 0
    user.last_login_at = at
    return user


def change_password(user: User, old: str, new: str, *, current_session: UserSession | None = None) -> None:
    """The user changes their own password; every other session of theirs ends."""
    if not check_password(user, old):
        raise AccountError(_("原密码不正确"), field="old_password")
    validate_new_password(new, user=user)
    set_password(user, new, must_change=False)
    end_sessions(user, except_current=current_session)
    record(user, "user.change_password", user)


# --- sessions (登录设备) -------------------------------------------------------------------------------------------

def wall_now() -> dt.datetime:
    """Sessions and device tokens live in real time, as the cookies that carry them do; the app's clock (which
    tests move to reach business deadlines) does not shorten or lengthen them."""
    return dt.datetime.now(dt.timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remember: bool, ip: str | None, user_agent: str | None,
                  ) -> tuple[UserSession, str, str | None]:
    """A new server-side session for a log-in: returns it, the random session id for the cookie session and, with
    "记住我", a random remember token for its own cookie (both stored only as hashes)."""
    at = wall_now()
    sid = secrets.token_urlsafe(32)
    token = secrets.token_urlsafe(32) if remember else None
    lifetime = (dt.timedelta(days=current_app.config["REMEMBER_DAYS"]) if remember
                else current_app.config["PERMANENT_SESSION_LIFETIME"])
    row = UserSession(user_id=user.id, sid_hash=_digest(sid), remember_hash=_digest(token) if token else None,
                      expires_at=at + lifetime, created_at=at, last_seen_at=at, ip=(ip or "")[:45] or None,
                      user_agent=(user_agent or "")[:255] or None)
    db.session.add(row)
    db.session.flush()
    return row, sid, token


def find_session(user_id: int, sid: str | None) -> UserSession | None:
    """The live session a cookie's id names, or None when it was ended or has expired."""
    if not sid:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.sid_hash == _digest(sid)))
    if row is None or row.user_id != user_id or row.expires_at <= wall_now():
        return None
    return row


def resume_remembered(token: str | None) -> tuple[UserSession, str] | None:
    """A browser comes back with its remember token: the same device session continues under a new session id."""
    if not token:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.remember_hash == _digest(token)))
    if row is None or row.expires_at <= wall_now():
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active_account:
        return None
    sid = secrets.token_urlsafe(32)
    row.sid_hash = _digest(sid)
    row.last_seen_at = wall_now()
    return row, sid


def active_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id,
                                                                UserSession.expires_at > wall_now())
                                   .order_by(UserSession.last_seen_at.desc()).limit(100)))


def end_session(row: UserSession) -> None:
    db.session.delete(row)


def end_sessions(user: User, except_current: UserSession | None = None) -> int:
    """End every session of a user at once (their remember tokens with them), but the one given. Call it after a
    password change or reset, a deactivation, a role change or a 2FA reset. Returns how many ended."""
    q = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if except_current is not None:
        q = q.where(UserSession.id != except_current.id)
    return db.session.execute(q).rowcount or 0


# --- two-factor authentication (两步验证, TOTP) -----------------------------------------------------------------

RECOVERY_CODES = 10
TOTP_STEP = 30


def two_factor_required_roles() -> set[str]:
    """Roles that must use 2FA: the admin's choices, else the TWO_FACTOR_ROLES setting."""
    required = {str(r) for r in current_app.config["TWO_FACTOR_ROLES"]}
    for row in db.session.scalars(sa.select(TwoFactorPolicy)):
        (required.add if row.required else required.discard)(row.role)
    return required


def two_factor_required(user: User) -> bool:
    return bool(user.role_names & two_factor_required_roles())


def set_two_factor_policy(required_roles: set[str], actor) -> None:
    """The admin sets which roles must use 2FA (one row per role, overriding the setting)."""
    before = sorted(two_factor_required_roles())
    rows = {r.role: r for r in db.session.scalars(sa.select(TwoFactorPolicy))}
    for role in Role:
        row = rows.get(str(role)) or TwoFactorPolicy(role=str(role))
        row.required = str(role) in required_roles
        row.updated_at = now()
        db.session.add(row)
    db.session.flush()
    record(actor, "two_factor.policy", object_type="two_factor_policy", object_id="-", before={"roles": before}, after={"roles": sorted(required_roles)})


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=current_app.config["PLATFORM_NAME"])


def _totp_step_matching(secret: str, code: str, last_step: int | None) -> int | None:
    import hmac

    import pyotp

    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now().timestamp()) // TOTP_STEP
    for step in (current, current - 1, current + 1):  # one step either way: phone clocks drift
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def verify_totp(user: User, code: str) -> bool:
    """A code from the user's authenticator app; each code opens one log-in only (no replay)."""
    if not user.totp_secret:
        return False
    step = _totp_step_matching(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


def enable_two_factor(user: User, secret: str, code: str) -> list[str]:
    """Switch 2FA on once the user proved their app holds the secret; returns the recovery codes (shown once)."""
    step = _totp_step_matching(secret, code, None)
    if step is None:
        raise AccountError(_("验证码不正确，请核对手机时间后输入应用中当前显示的 6 位数字"), field="code")
    user.totp_secret = secret
    user.totp_enabled_at = now()
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    record(user, "user.enable_2fa", user)
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    record(user, "user.recovery_codes", user)
    return codes


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def use_recovery_code(user: User, code: str) -> bool:
    """A recovery code opens one log-in and is then spent."""
    raw = re.sub(r"[\s-]", "", (code or "").lower())
    if not raw:
        return False
    row = db.session.scalar(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.code_hash == _digest(raw),
                                                          RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = now()
    record(user, "user.use_recovery_code", user)
    return True


def disable_two_factor(user: User, password: str) -> None:
    """A user whose roles do not require 2FA may switch it off (with their password)."""
    if two_factor_required(user):
        raise AccountError(_("您的角色必须使用两步验证，不能关闭"))
    if not check_password(user, password):
        raise AccountError(_("密码不正确"), field="password")
    _clear_two_factor(user)
    record(user, "user.disable_2fa", user)


def _clear_two_factor(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(sa.delete(TrustedDevice).where(TrustedDevice.user_id == user.id))


def reset_two_factor(user: User, actor) -> None:
    """An admin clears a user's 2FA (lost phone and codes): they enrol again at their next log-in; every session
    of theirs ends."""
    _clear_two_factor(user)
    end_sessions(user)
    record(actor, "user.reset_2fa", user)


def trust_device(user: User) -> str:
    """"Remember this device for 30 days": a random token for a cookie; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(TrustedDevice(user_id=user.id, token_hash=_digest(token),
                                 expires_at=wall_now() + dt.timedelta(days=current_app.config["TRUSTED_DEVICE_DAYS"])))
    return token


def device_trusted(user: User, token: str | None) -> bool:
    if not token or not user.has_two_factor:
        return False
    row = db.session.scalar(sa.select(TrustedDevice).where(TrustedDevice.token_hash == _digest(token)))
    return row is not None and row.user_id == user.id and row.expires_at > wall_now()


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
        validate_new_password(password, username=username, mobile=mobile, field="password")
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
    set_contacts(user, mobile=mobile, email=email)
    user.host_unit_id = host_unit_id
    user.affiliation = affiliation
    user.is_active_account = is_active
    current = {r.role: r for r in user.roles}
    user.roles = [current.get(str(r)) or UserRole(role=str(Role(r))) for r in sorted(roles)]
    if not is_active or set(before["roles"]) != {str(r) for r in roles}:
        end_sessions(user)  # a deactivated user, or one whose powers changed, signs in afresh
    if Role.EXPERT in roles:
        _expert_profile_for(user, actor)
    record(actor, "user.update", user, before=before,
           after={"roles": sorted(str(r) for r in roles), "host_unit_id": host_unit_id, "active": is_active,
                  "display_name": user.display_name, "mobile": mobile})


def set_contacts(user: User, *, mobile: str | None, email: str | None) -> set[str]:
    """Change a person's mobile and e-mail; a changed contact is unverified until a new code proves it.
    Returns which contacts changed ({"mobile", "email"}). The caller has checked the format and uniqueness."""
    mobile = (mobile or "").strip() or None
    email = (email or "").strip() or None
    changed = set()
    if mobile != user.mobile:
        user.mobile, user.mobile_verified_at = mobile, None
        changed.add("mobile")
    if email != user.email:
        user.email, user.email_verified_at = email, None
        changed.add("email")
    return changed


def change_contacts(user: User, *, mobile: str | None, email: str | None, actor) -> set[str]:
    """A person changes their own contacts: mobile required, e-mail optional; a change needs a new code."""
    mobile = (mobile or "").strip()
    if not MOBILE_RE.match(mobile):
        raise AccountError(_("手机号格式不正确"), "mobile")
    _check_unique(user.username, mobile, exclude_id=user.id)
    before = {"mobile": user.mobile, "email": user.email}
    changed = set_contacts(user, mobile=mobile, email=email)
    if changed:
        record(actor, "user.change_contacts", user, before=before, after={"mobile": user.mobile, "email": user.email})
    return changed


def reset_password(user: User, new_password: str, actor) -> None:
    """An admin sets a temporary password and unlocks the account; the user must change it; their sessions end."""
    validate_new_password(new_password, user=user)
    set_password(user, new_password, must_change=True)
    _unlock(user)
    end_sessions(user)
    record(actor, "user.reset_password", user)


def _unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.like(f"acct:{user.id}:%")))


def unlock_user(user: User, actor) -> None:
    """Lift the lock-outs (every source) of an account."""
    _unlock(user)
    record(actor, "user.unlock", user)


def unit_officers(host_unit_id: int) -> list[User]:
    """The active officers (项目主管) of one host unit, for notices that need one of them to act."""
    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.host_unit_id == host_unit_id, UserRole.role == Role.OFFICER, User.is_active_account.is_(True))
        .order_by(User.id)).unique())
