"""Scheduled reminders and notifications: in-app inbox, mail outbox, the scheduler process.

`flask --app wsgi scheduler run [--once]` runs the scheduler (see scheduler.py).
"""
from flask import Blueprint, request
from flask_login import current_user

bp = Blueprint("reminders", __name__, cli_group="scheduler")
bp.cli.help = "定时提醒调度器"


@bp.app_context_processor
def inject_unread_count():
    """`unread_notifications()` for the navbar bell: one COUNT query per page, only when rendered."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        # Cached on the request (not on g: an app context can outlive one request).
        cached = getattr(request, "_unread_notifications", None)
        if cached is None:
            from grants.reminders.services import unread_count

            cached = request._unread_notifications = unread_count(current_user)
        return cached

    return {"unread_notifications": unread_notifications}


from grants.reminders import cli, notices, views  # noqa: E402,F401
