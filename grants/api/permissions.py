"""Who may hold API tokens and keep webhooks. Deny by default."""
from __future__ import annotations

from flask import has_request_context, session

from grants.accounts.models import Role


def _authed(user) -> bool:
    return bool(user and user.is_authenticated)


def two_factor_satisfied(user) -> bool:
    """The hook for two-factor log-in: a user who has turned 2FA on creates tokens only in a session
    that passed it. Today's accounts have no 2FA, so this is true for them; the 2FA feature only has to
    give the user a true `two_factor_enabled` (or `totp_enabled`) and set `session["2fa_verified"]`."""
    enabled = bool(getattr(user, "two_factor_enabled", False) or getattr(user, "totp_enabled", False))
    if not enabled:
        return True
    return has_request_context() and bool(session.get("2fa_verified"))


def can_list_tokens(user) -> bool:
    """Every signed-in user sees their own tokens (the page also lists service accounts to admins)."""
    return _authed(user)


def can_create_token(user) -> bool:
    """Any signed-in person may create a personal token, after 2FA when they use it."""
    return _authed(user) and two_factor_satisfied(user)


def can_revoke_token(user, token) -> bool:
    """The token's holder; admins revoke any token (a leaked service-account token first of all)."""
    if not _authed(user):
        return False
    return token.user_id == user.id or user.has_role(Role.ADMIN)


def can_manage_service_accounts(user) -> bool:
    """Admins create service accounts and their tokens (after 2FA when they use it)."""
    return _authed(user) and user.has_role(Role.ADMIN) and two_factor_satisfied(user)


def can_manage_webhooks(user) -> bool:
    """Admins register webhook endpoints and read the delivery log."""
    return _authed(user) and user.has_role(Role.ADMIN)
