"""Who may draft, approve and publish awards, handle objections and read feedback. Deny by default.

Officers act on calls of their unit's subtree (never a sibling's); auditors read there; an admin may
approve a draft (the four-eyes step) but takes no other award decision.
"""
from __future__ import annotations

from grants.accounts.models import Role
from grants.applications.models import ApplicationStatus
from grants.calls.models import CallStatus
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree
from grants.organizations.permissions import is_member


def _in_subtree(user, unit_id: int | None) -> bool:
    return is_authenticated(user) and in_unit_subtree(user, unit_id)


def _officer_of(user, call) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER) and _in_subtree(user, call.host_unit_id)


def can_list_awards(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR, Role.ADMIN)


def can_view_awards(user, call) -> bool:
    """The award draft, notice and objections of a call: its officers and auditors; admins (to approve)."""
    if not is_authenticated(user) or call.status in (CallStatus.DRAFT, CallStatus.PUBLISHED):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICER, Role.AUDITOR) and _in_subtree(user, call.host_unit_id)


def can_draft_awards(user, call) -> bool:
    return _officer_of(user, call) and call.status == CallStatus.REVIEWING


def can_approve_awards(user, call) -> bool:
    """Another officer of the unit subtree, or an admin (the service checks it is not the drafter)."""
    if not is_authenticated(user) or call.status != CallStatus.REVIEWING:
        return False
    return user.has_role(Role.ADMIN) or _officer_of(user, call)


def can_publish_notice(user, call) -> bool:
    return _officer_of(user, call) and call.status == CallStatus.REVIEWING


def can_handle_objection(user, objection) -> bool:
    call = objection.notice.call
    return _officer_of(user, call) and call.status == CallStatus.NOTICE


def can_finalize(user, call) -> bool:
    return _officer_of(user, call) and call.status == CallStatus.NOTICE


def can_export_summary(user, call) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and _in_subtree(user, call.host_unit_id) \
        and call.status in (CallStatus.REVIEWING, CallStatus.NOTICE, CallStatus.FINALIZED, CallStatus.ARCHIVED)


def can_view_feedback(user, application) -> bool:
    """Members of the organisation see their unfunded application's scores and comments after finalize."""
    return (is_authenticated(user) and is_member(user, application.organization)
            and application.status == ApplicationStatus.NOT_AWARDED
            and application.call.status in (CallStatus.FINALIZED, CallStatus.ARCHIVED))
