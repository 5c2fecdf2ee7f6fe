"""Who reads and writes a thread. The organisation's members and the staff of the call's unit subtree;
internal notes only staff. Nobody else: other organisations and other units see nothing."""
from __future__ import annotations

from grants.accounts.models import Role
from grants.core.permissions import is_authenticated
from grants.messages.models import SubjectType


def _call(subject):
    return subject.call


def is_party(user, subject) -> bool:
    """A member of the subject's organisation (the other side of the officers)."""
    from grants.organizations.permissions import is_member

    return is_authenticated(user) and user.has_role(Role.APPLICANT) and is_member(user, subject.organization)


def _staff(user, subject, roles) -> bool:
    from grants.contracts.permissions import in_unit_scope

    return is_authenticated(user) and user.has_role(*roles) and in_unit_scope(user, _call(subject))


def _open(subject) -> bool:
    """Drafts are the organisation's own (an application) or internal (a contract): no thread yet."""
    return subject.status != "draft"


def can_view_thread(user, subject) -> bool:
    return _open(subject) and (is_party(user, subject) or _staff(user, subject, (Role.OFFICER, Role.AUDITOR)))


def can_post_message(user, subject) -> bool:
    """The organisation's members and the officers (auditors read only)."""
    return _open(subject) and (is_party(user, subject) or _staff(user, subject, (Role.OFFICER,)))


def can_post_internal(user, subject) -> bool:
    return _open(subject) and _staff(user, subject, (Role.OFFICER,))


def can_see_internal(user, subject) -> bool:
    return _open(subject) and _staff(user, subject, (Role.OFFICER, Role.AUDITOR))


def can_download_attachment(user, message, subject) -> bool:
    if not can_view_thread(user, subject):
        return False
    return not message.internal or can_see_internal(user, subject)


def subject_kind(subject) -> str:
    return SubjectType.CONTRACT if subject.__tablename__ == "contract" else SubjectType.APPLICATION
