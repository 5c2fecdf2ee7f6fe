"""Who may manage accounts and platform settings."""
from grants.accounts.models import Role


def can_manage_users(user) -> bool:
    """Admins create staff accounts and assign roles."""
    return bool(user and user.is_authenticated and user.has_role(Role.ADMIN))


def can_manage_settings(user) -> bool:
    """Admins keep host units and the holiday calendar."""
    return can_manage_users(user)
