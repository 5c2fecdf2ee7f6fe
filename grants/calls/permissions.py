"""Who may see and change calls. Officers work on calls of their unit and the units below it, never a
sibling's; auditors read within their subtree; the public reads calls once published. Deny by default."""
from __future__ import annotations

from grants.accounts.models import Role
from grants.calls.models import PUBLIC_STATUSES, CallStatus
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree, unit_subtree_ids


def _in_subtree(user, unit_id: int | None) -> bool:
    return is_authenticated(user) and in_unit_subtree(user, unit_id)


def visible_unit_ids(user) -> set[int]:
    """Units whose calls the user may list (their unit's subtree), for officers and auditors."""
    if not is_authenticated(user) or not user.has_role(Role.OFFICER, Role.AUDITOR):
        return set()
    return unit_subtree_ids(user.host_unit_id)


def can_list_calls(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_create_call(user, unit=None) -> bool:
    """Officers create calls for their own unit or one below it."""
    if not is_authenticated(user) or not user.has_role(Role.OFFICER) or user.host_unit_id is None:
        return False
    return unit is None or _in_subtree(user, unit.id)


def can_view_call(user, call) -> bool:
    """The officer view (drafts included): officers and auditors within their subtree."""
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and _in_subtree(user, call.host_unit_id)


def can_edit_call(user, call) -> bool:
    """Officers of the subtree edit a draft fully, and a published call's deadline and wording."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and _in_subtree(user, call.host_unit_id)
            and call.status in (CallStatus.DRAFT, CallStatus.PUBLISHED))


def can_publish_call(user, call) -> bool:
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and _in_subtree(user, call.host_unit_id)
            and call.status == CallStatus.DRAFT)


def can_manage_call(user, call) -> bool:
    """Move the call along its workflow (close for review, archive) and copy it."""
    return is_authenticated(user) and user.has_role(Role.OFFICER) and _in_subtree(user, call.host_unit_id)


def can_manage_documents(user, call) -> bool:
    return can_edit_call(user, call)


def can_view_public_call(call) -> bool:
    """Anyone, once the call is published; drafts never."""
    return call is not None and call.status in PUBLIC_STATUSES


def can_download_call_document(user, doc) -> bool:
    """Documents of a published call are public; a draft's only for those who may view the call."""
    return can_view_public_call(doc.call) or can_view_call(user, doc.call)
