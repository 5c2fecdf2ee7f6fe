"""Who may do what in a 品牌项目评选. Deny by default.

Officers of the selection's unit subtree run it, auditors read it; panel experts declare and score the
nominations they are free of; an organisation's administrator may put its own finished projects forward."""
from __future__ import annotations

from grants.accounts.models import Role
from grants.brand.models import NominationStatus, SelectionStatus
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree


def _in_scope(user, selection) -> bool:
    return in_unit_subtree(user, selection.host_unit_id)


def can_list_selections(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_create_selection(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER) and user.host_unit_id is not None


def can_view_selection(user, selection) -> bool:
    """Officers and auditors of the unit subtree."""
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and _in_scope(user, selection)


def can_manage_selection(user, selection) -> bool:
    """Officers of the subtree, until the result is published or the selection cancelled."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and _in_scope(user, selection)
            and selection.status not in (SelectionStatus.PUBLISHED, SelectionStatus.CANCELLED))


def can_edit_selection(user, selection) -> bool:
    return can_manage_selection(user, selection) and selection.status in (
        SelectionStatus.DRAFT, SelectionStatus.NOMINATING, SelectionStatus.SCORING)


def can_list_tasks(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.EXPERT)


def can_score(user, nomination) -> bool:
    """Open the declaration / score page: a panel expert of a selection in scoring, accepted nomination.
    Whether the content is shown then depends on the conflict declaration (services.may_score)."""
    from grants.brand.services import is_panel_member

    return (is_authenticated(user) and user.has_role(Role.EXPERT)
            and nomination.selection.status == SelectionStatus.SCORING
            and nomination.status == NominationStatus.ACCEPTED and is_panel_member(nomination.selection, user))


def can_put_forward(user) -> bool:
    """组织自荐: administrators of a verified organisation."""
    return (is_authenticated(user) and user.has_role(Role.APPLICANT) and user.membership is not None
            and user.membership.is_admin)


def can_list_own(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.APPLICANT) and user.organization is not None
