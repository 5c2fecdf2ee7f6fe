"""Who may see and change organisations and host units. Deny by default."""
from grants.accounts.models import Role
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree, unit_subtree_ids


def is_member(user, org) -> bool:
    return is_authenticated(user) and user.membership is not None and user.membership.organization_id == org.id


def is_org_admin(user, org) -> bool:
    return is_member(user, org) and user.membership.is_admin


def can_view_organization(user, org) -> bool:
    """Members see their own organisation; staff who decide on applications see every organisation
    (organisations are platform-wide)."""
    if not is_authenticated(user):
        return False
    return is_member(user, org) or user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE)


def can_view_record(user, org) -> bool:
    """组织履历: the organisation's own members, and staff of a unit (who see their unit subtree's calls)."""
    if not is_authenticated(user):
        return False
    if is_member(user, org):
        return True
    return user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE) and user.host_unit_id is not None


def can_view_private_details(user, org) -> bool:
    """Contact details: the organisation itself, officers, finance and auditors."""
    return can_view_organization(user, org)


def unit_governs(user, unit_id: int | None) -> bool:
    """The user's unit is `unit_id` or a unit above it. An object of no unit is governed by top units only."""
    if not (is_authenticated(user) and user.host_unit_id):
        return False
    if unit_id is None:
        return user.host_unit is not None and user.host_unit.parent_id is None
    return in_unit_subtree(user, unit_id)


def funding_unit_ids(org) -> set[int]:
    """The host units of the calls that awarded the organisation a grant (the units that fund it)."""
    import sqlalchemy as sa

    from grants.awards.models import Award
    from grants.calls.models import Call
    from grants.extensions import db

    return set(db.session.scalars(sa.select(Call.host_unit_id).join(Award, Award.call_id == Call.id)
                                  .where(Award.organization_id == org.id).distinct()))


def can_view_bank_details(user, org) -> bool:
    """收款账户: the organisation itself; officers and finance of the units that fund it (and units above
    them); auditors whose unit governs a funding unit or the organisation's own unit. Nobody else."""
    if not is_authenticated(user):
        return False
    if is_member(user, org):
        return True
    if not user.host_unit_id:
        return False
    subtree = unit_subtree_ids(user.host_unit_id)
    funders = funding_unit_ids(org)
    if user.has_role(Role.OFFICER, Role.FINANCE) and funders & subtree:
        return True
    return user.has_role(Role.AUDITOR) and bool((funders | {org.host_unit_id}) & subtree)


def can_edit_organization(user, org) -> bool:
    """Only the organisation's administrators edit its profile (verified facts through a change request)."""
    return is_org_admin(user, org)


def can_review_change_request(user, change_request) -> bool:
    """Officers of the organisation's unit (or above) approve or reject its change requests."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER)
            and unit_governs(user, change_request.organization.host_unit_id))


def can_list_change_requests(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_view_change_request(user, change_request) -> bool:
    """The organisation's members, and officers and auditors of its unit or above."""
    if not is_authenticated(user):
        return False
    if is_member(user, change_request.organization):
        return True
    return user.has_role(Role.OFFICER, Role.AUDITOR) and unit_governs(user, change_request.organization.host_unit_id)


def can_manage_members(user, org) -> bool:
    return is_org_admin(user, org)


def can_list_organizations(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE)


def can_verify_organization(user, org=None) -> bool:
    """Officers of the unit the organisation is registered with, or of a unit above it, verify, suspend and
    blacklist it (a city delegates by registering organisations with its districts)."""
    if not (is_authenticated(user) and user.has_role(Role.OFFICER)):
        return False
    return org is None or unit_governs(user, org.host_unit_id)
