"""Who may see and change organisations and host units. Deny by default."""
from grants.accounts.models import Role


def _authed(user) -> bool:
    return bool(user and user.is_authenticated)


def is_member(user, org) -> bool:
    return _authed(user) and user.membership is not None and user.membership.organization_id == org.id


def is_org_admin(user, org) -> bool:
    return is_member(user, org) and user.membership.is_admin


def can_view_organization(user, org) -> bool:
    """Members see their own organisation; staff who decide on applications see every organisation
    (organisations are platform-wide)."""
    if not _authed(user):
        return False
    return is_member(user, org) or user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE)


def can_view_record(user, org) -> bool:
    """组织履历: the organisation's own members, and staff of a unit (who see their unit subtree's calls)."""
    if not _authed(user):
        return False
    if is_member(user, org):
        return True
    return user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE) and user.host_unit_id is not None


def can_view_private_details(user, org) -> bool:
    """Bank account and contact details: the organisation itself, officers, finance and auditors."""
    return can_view_organization(user, org)


def can_edit_organization(user, org) -> bool:
    """Only the organisation's administrators edit its profile."""
    return is_org_admin(user, org)


def can_manage_members(user, org) -> bool:
    return is_org_admin(user, org)


def can_list_organizations(user) -> bool:
    return _authed(user) and user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE)


def can_verify_organization(user, org=None) -> bool:
    """Officers verify, suspend and blacklist organisations."""
    return _authed(user) and user.has_role(Role.OFFICER)
