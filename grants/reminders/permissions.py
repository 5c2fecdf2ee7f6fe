"""Who may read which notifications and change which reminder settings. Deny by default."""
from __future__ import annotations

from grants.accounts.models import Role
from grants.core.permissions import is_authenticated


def can_read_notification(user, notification) -> bool:
    """Each inbox is private to its owner."""
    return is_authenticated(user) and notification.user_id == user.id


def can_use_inbox(user) -> bool:
    return is_authenticated(user)


def can_view_outbox(user) -> bool:
    """The mail outbox holds every user's mail: admins only."""
    return is_authenticated(user) and user.has_role(Role.ADMIN)


def can_resend_mail(user, mail) -> bool:
    """Admins put a failed or uncertain mail back in the queue, after checking it did not arrive."""
    from grants.reminders.models import RESENDABLE_MAIL_STATUSES

    return can_view_outbox(user) and mail.status in RESENDABLE_MAIL_STATUSES


def can_manage_scheduler(user) -> bool:
    """The scheduler page and the platform-wide rule defaults: admins."""
    return is_authenticated(user) and user.has_role(Role.ADMIN)


def can_list_call_reminders(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER) and user.host_unit_id is not None


def can_manage_call_reminders(user, call) -> bool:
    """Officers who run the call (their unit's subtree) switch its reminders off or change the offsets."""
    from grants.calls.permissions import can_manage_call

    return can_manage_call(user, call)
