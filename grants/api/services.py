"""Token rules: create (shown once, stored hashed), revoke, look up; service accounts. Services never commit."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.accounts.models import UNIT_ROLES, Role, User
from grants.api.models import ApiToken, ServiceAccount, TokenKind
from grants.api.scopes import ALL_SCOPES, normalise
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.extensions import db

TOKEN_PREFIX = "gt_"
MAX_DAYS = 366
SERVICE_ROLES = (Role.FINANCE, Role.OFFICER, Role.AUDITOR)


class TokenError(DomainError):
    """An API token action was refused."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check(name: str, scopes, days: int | None, host_unit_id: int | None, holder: User) -> tuple[str, list[str]]:
    from grants.organizations.services import unit_subtree_ids

    name = (name or "").strip()
    if not name:
        raise TokenError(_("请填写令牌名称"), "name")
    if len(name) > 100:
        raise TokenError(_("名称不超过 100 字"), "name")
    clean = normalise(scopes)
    if not clean or len(clean) != len(set(scopes or [])):
        raise TokenError(_("请至少选择一项有效的权限范围"), "scopes")
    if days is None or not 1 <= days <= MAX_DAYS:
        raise TokenError(_("有效期须在 1 至 %(n)s 天之间", n=MAX_DAYS), "expires_in_days")
    if host_unit_id is not None:
        if not holder.has_role(*UNIT_ROLES) or host_unit_id not in unit_subtree_ids(holder.host_unit_id):
            raise TokenError(_("单位范围须是您所在单位或其下级单位"), "host_unit_id")
    return name, clean


def create_token(holder: User, *, name: str, scopes, days: int | None, host_unit_id: int | None,
                 actor, kind: str = TokenKind.PERSONAL) -> tuple[ApiToken, str]:
    """Create a token for `holder`; returns it with its secret, which is never stored nor shown again."""
    name, clean = _check(name, scopes, days, host_unit_id, holder)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=holder.id, kind=str(kind), name=name, prefix=secret[:11], token_hash=hash_secret(secret),
                     scopes=clean, host_unit_id=host_unit_id, expires_at=now() + dt.timedelta(days=days),
                     created_by_id=getattr(actor, "id", None), created_at=now())
    db.session.add(token)
    record(actor, "api_token.create", token, object_type="api_token",
           after={"user_id": holder.id, "kind": str(kind), "name": name, "scopes": clean,
                  "host_unit_id": host_unit_id, "expires_at": token.expires_at, "prefix": token.prefix},
           host_unit_id=host_unit_id or holder.host_unit_id)
    return token, secret


def revoke_token(token: ApiToken, actor) -> None:
    """Revoke now; the next call with the token is refused."""
    if token.revoked_at is not None:
        raise TokenError(_("该令牌已撤销"))
    token.revoked_at, token.revoked_by_id = now(), actor.id
    record(actor, "api_token.revoke", token, object_type="api_token", after={"prefix": token.prefix},
           host_unit_id=token.host_unit_id or token.user.host_unit_id)


def find_token(secret: str) -> ApiToken | None:
    """The token with this secret, whatever its state (the caller checks is_usable)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(200)))


def service_accounts() -> list[ServiceAccount]:
    return list(db.session.scalars(sa.select(ServiceAccount).order_by(ServiceAccount.id).limit(200)))


def service_tokens() -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.kind == TokenKind.SERVICE)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(200)))


def create_service_account(*, name: str, description: str, roles, host_unit_id: int | None, actor) -> ServiceAccount:
    """A user for a system, not a person (no usable password); its roles and unit work like anyone's."""
    from grants.accounts.services import AccountError, create_user

    name = (name or "").strip()
    if not name or len(name) > 50:
        raise TokenError(_("请填写服务账号名称（不超过 50 字）"), "name")
    roles = {str(r) for r in roles or []}
    if not roles or not roles <= {str(r) for r in SERVICE_ROLES}:
        raise TokenError(_("服务账号的角色只能是项目主管、财务人员或监督审计"), "roles")
    try:
        user = create_user(username=f"svc-{secrets.token_hex(6)}", display_name=name,
                           password=secrets.token_urlsafe(32), roles=roles, host_unit_id=host_unit_id,
                           actor=actor, check_password_strength=False)
    except AccountError as exc:
        raise TokenError(exc.message, "host_unit_id") from exc
    account = ServiceAccount(user=user, description=(description or "").strip()[:200],
                             created_by_id=getattr(actor, "id", None))
    db.session.add(account)
    record(actor, "api_service_account.create", account, object_type="api_service_account",
           after={"user_id": user.id, "roles": sorted(roles)}, host_unit_id=host_unit_id)
    return account


__all__ = ["ALL_SCOPES", "TokenError", "create_token", "revoke_token", "find_token", "create_service_account"]
