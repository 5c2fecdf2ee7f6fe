"""Who may do what in expert review. Deny by default.

Experts see an application only when it is assigned to them, they declared "无利益冲突", and no conflict
is recorded or detectable (works for / belongs to / is a member of the applicant organisation). That one
rule, expert_may_see(), also guards the application pages, PDF and attachments of grants/applications.
Officers of the call's unit subtree run the review; auditors read it."""
from __future__ import annotations

import sqlalchemy as sa

from grants.accounts.models import Role
from grants.calls.models import CallStatus
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree
from grants.extensions import db


def _in_scope(user, call) -> bool:
    return in_unit_subtree(user, call.host_unit_id)


def expert_may_see(user, application) -> bool:
    """The expert has an assignment for this application, declared no conflict, and is not conflicted."""
    if not is_authenticated(user) or not user.has_role(Role.EXPERT):
        return False
    from grants.reviews.models import Conflict, ReviewAssignment
    from grants.reviews.services import auto_conflict_reason, expert_facts

    assigned = db.session.scalar(sa.select(ReviewAssignment.id).where(
        ReviewAssignment.application_id == application.id, ReviewAssignment.expert_id == user.id).limit(1))
    if assigned is None:
        return False
    row = db.session.scalar(sa.select(Conflict).where(Conflict.application_id == application.id,
                                                      Conflict.expert_id == user.id))
    if row is None or row.has_conflict:
        return False
    facts = expert_facts([user.id])[user.id]
    return auto_conflict_reason(facts, application.organization_id, application.organization.name) is None


def expert_may_open_files(user, application) -> bool:
    """The 申报书 PDF and the attachments carry the organisation's identity: not for blind review."""
    return expert_may_see(user, application) and not application.call.blind_review


def can_review(user, assignment) -> bool:
    """Open the scoring page of one's own assignment (content shown only after the declaration)."""
    return (is_authenticated(user) and user.has_role(Role.EXPERT) and assignment.expert_id == user.id
            and assignment.application.call.status in (CallStatus.REVIEWING, CallStatus.NOTICE,
                                                       CallStatus.FINALIZED, CallStatus.ARCHIVED))


def can_list_tasks(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.EXPERT)


def can_manage_pool(user) -> bool:
    """Officers recruit experts into the pool (专家库) for their own unit."""
    return is_authenticated(user) and user.has_role(Role.OFFICER) and user.host_unit_id is not None


def can_edit_expert(user, profile) -> bool:
    """Only officers of the unit that recruited the expert, or of a unit above it, edit the entry; other units
    use the expert read-only in their panels."""
    from grants.organizations.permissions import unit_governs

    return can_manage_pool(user) and unit_governs(user, profile.host_unit_id)


def can_view_pool(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_manage_review(user, call) -> bool:
    """Panel, conflicts, assignment, reopening, shortlist: officers of the call's unit subtree."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and _in_scope(user, call)
            and call.status in (CallStatus.PUBLISHED, CallStatus.REVIEWING))


def can_view_review(user, call) -> bool:
    """Progress, ranking and the score sheet: officers and auditors of the subtree (not drafts)."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and _in_scope(user, call)
            and call.status != CallStatus.DRAFT)


def can_reopen_review(user, review) -> bool:
    call = review.assignment.application.call
    return can_manage_review(user, call) and review.is_submitted
