"""Who may hold API tokens and keep webhooks. Deny by default."""
from __future__ import annotations

from grants.accounts.models import Role
from grants.core.permissions import is_authenticated


def two_factor_satisfied(user) -> bool:
    """A user who must use two-factor log-in creates tokens only once enrolled. A signed-in session of a user
    with 2FA has passed it (accounts.sessions.complete_login runs only after the code step), and a user whom
    the policy requires to enrol is held on the enrolment page until done."""
    from grants.accounts.services import two_factor_required

    return bool(user.has_two_factor or not two_factor_required(user))


def can_list_tokens(user) -> bool:
    """Every signed-in user sees their own tokens (the page also lists service accounts to admins)."""
    return is_authenticated(user)


def can_create_token(user) -> bool:
    """Any signed-in person may create a personal token, after 2FA when they use it."""
    return is_authenticated(user) and two_factor_satisfied(user)


def can_revoke_token(user, token) -> bool:
    """The token's holder; admins revoke any token (a leaked service-account token first of all)."""
    if not is_authenticated(user):
        return False
    return token.user_id == user.id or user.has_role(Role.ADMIN)


def can_manage_service_accounts(user) -> bool:
    """Admins create service accounts and their tokens (after 2FA when they use it)."""
    return is_authenticated(user) and user.has_role(Role.ADMIN) and two_factor_satisfied(user)


def can_manage_webhooks(user) -> bool:
    """Admins register webhook endpoints and read the delivery log."""
    return is_authenticated(user) and user.has_role(Role.ADMIN)
