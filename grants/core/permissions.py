"""Permissions for the cross-cutting pieces: the audit log and stored files."""
from grants.accounts.models import Role
from grants.core.units import in_unit_subtree  # noqa: F401  (re-exported: the one scope check)


def is_authenticated(user) -> bool:
    """A logged-in user (anonymous users and None are not): the first line of every permission function."""
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_browse_audit(user) -> bool:
    """Officers and auditors read their units' audit rows; admins read every row."""
    if not (user and user.is_authenticated):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_download_file(user, stored) -> bool:
    """The generic download: only the uploader and members of the file's organisation.

    Staff read files through their domain's routes (application attachments, report evidence, call
    documents), which check the unit, the conflict of interest and the object's state first; this route
    must not let an officer of one unit fetch another unit's files by guessing ids.
    """
    if not (user and user.is_authenticated):
        return False
    if stored.uploaded_by_id == user.id:
        return True
    return (stored.organization_id is not None and user.membership is not None
            and user.membership.organization_id == stored.organization_id)
