"""Permissions for the cross-cutting pieces: the audit log and stored files."""
from grants.accounts.models import Role


def can_browse_audit(user) -> bool:
    """Officers and auditors read the audit log."""
    return bool(user and user.is_authenticated and user.has_role(Role.OFFICER, Role.AUDITOR))


def can_download_file(user, stored) -> bool:
    """A file belongs to an organisation: its members, and staff who handle its work, may read it.

    Domains that attach files to their objects (applications, reports) check their own, stricter
    permission before calling send_stored(); this is the fallback for the generic download route.
    """
    if not (user and user.is_authenticated):
        return False
    if stored.uploaded_by_id == user.id:
        return True
    if stored.organization_id is not None and user.membership is not None:
        return user.membership.organization_id == stored.organization_id
    return user.has_role(Role.OFFICER, Role.AUDITOR)
