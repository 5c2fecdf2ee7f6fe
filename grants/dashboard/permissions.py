"""Who may read the dashboards: officers and auditors (leaders read as auditors), within their unit's
subtree. Deny by default."""
from __future__ import annotations

from grants.accounts.models import Role


def can_view_dashboard(user) -> bool:
    """Officers and auditors attached to a host unit; the figures cover that unit and the units below it."""
    return bool(user and getattr(user, "is_authenticated", False) and user.has_role(Role.OFFICER, Role.AUDITOR)
                and user.host_unit_id is not None)
