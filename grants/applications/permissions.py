"""Who may see and change applications. Deny by default.

Applicants: only their own organisation's applications. Officers and auditors: applications of calls
whose host unit is in their unit's subtree (never a sibling unit's). Experts come later, per assignment.
"""
from __future__ import annotations

from grants.accounts.models import Role
from grants.applications.models import EDITABLE_STATES, ApplicationStatus
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree
from grants.organizations.permissions import is_member


def in_unit_scope(user, call) -> bool:
    """The call's host unit is the user's unit or one below it."""
    return in_unit_subtree(user, call.host_unit_id)


def can_apply(user, call) -> bool:
    """A member of an organisation may start an application while the call is published and open
    (the eligibility rules are checked, and explained, on submit)."""
    return (is_authenticated(user) and user.has_role(Role.APPLICANT) and user.organization is not None
            and str(call.status) == "published" and call.is_open)


def is_own(user, application) -> bool:
    return is_authenticated(user) and user.has_role(Role.APPLICANT) and is_member(user, application.organization)


def can_view_application(user, application) -> bool:
    """The organisation's members; officers and auditors of the call's unit subtree (drafts stay private)."""
    if not is_authenticated(user):
        return False
    if is_own(user, application):
        return True
    if application.status == ApplicationStatus.DRAFT:
        return False
    return user.has_role(Role.OFFICER, Role.AUDITOR) and in_unit_scope(user, application.call)


def can_edit_application(user, application) -> bool:
    """Members edit drafts and returned applications (the deadline is checked by the service)."""
    return is_own(user, application) and application.status in EDITABLE_STATES


def can_withdraw_application(user, application) -> bool:
    return is_own(user, application) and application.status in (
        ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED)


def can_delete_draft(user, application) -> bool:
    """删除草稿: a draft was never submitted, so its organisation's members may delete it outright."""
    return is_own(user, application) and application.status == ApplicationStatus.DRAFT


def can_download_application(user, application) -> bool:
    """The PDF 申报书 and the attachments: whoever may view the application; an expert only an application
    assigned to them with "无利益冲突" declared and no conflict found (grants.reviews.permissions)."""
    if can_view_application(user, application):
        return True
    from grants.reviews.permissions import expert_may_open_files

    return expert_may_open_files(user, application)


def can_list_call_applications(user, call) -> bool:
    """The screening list and its Excel export: officers and auditors of the call's unit subtree."""
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and in_unit_scope(user, call)


def can_screen_application(user, application) -> bool:
    """Officers of the call's unit subtree screen submitted applications (形式审查)."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, application.call)
            and application.status == ApplicationStatus.SUBMITTED)


def can_batch_screen(user, call) -> bool:
    """对所选项形式审查 on a call's list: officers of the call's unit subtree (each item is then screened only
    while submitted, as screen_application's transition allows)."""
    return is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, call)


def can_decide_duplicate(user, application) -> bool:
    """重复申报认定: officers of the call's unit subtree, from screening until the award list is final."""
    from grants.calls.models import CallStatus

    return (is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, application.call)
            and application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)
            and application.call.status not in (CallStatus.FINALIZED, CallStatus.ARCHIVED))


def can_browse_screening(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_list_own_applications(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.APPLICANT) and user.organization is not None
