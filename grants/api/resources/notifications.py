"""消息通知: the caller's own inbox."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from grants.api.core import (
    CursorArgs, LocalDateTime, cursor_page, forbidden, not_found, page_schema, scope, user, write,
)
from grants.extensions import db
from grants.reminders.models import Notification
from grants.reminders.permissions import can_read_notification, can_use_inbox
from grants.reminders.services import mark_read

blp = Blueprint("api_notifications", __name__, url_prefix="/api/v1/notifications", description="消息通知（本人）")


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    link = ma.fields.String(required=True)
    created_at = LocalDateTime(required=True)
    read_at = LocalDateTime(required=True, allow_none=True)


class NotificationFilter(CursorArgs):
    unread = ma.fields.Boolean(metadata={"description": "true：只列出未读"})


NotificationPage = page_schema(NotificationSchema, "NotificationPage")


@blp.route("")
@blp.arguments(NotificationFilter, location="query")
@blp.response(200, NotificationPage)
@scope("notifications:read")
def list_notifications(args):
    """The caller's notifications, newest first."""
    if not can_use_inbox(user()):
        raise forbidden()
    stmt = sa.select(Notification).where(Notification.user_id == user().id)
    if args.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    return cursor_page(stmt, Notification.id, args)


@blp.route("/<int:notification_id>/read", methods=["POST"])
@write
@blp.response(200, NotificationSchema)
@scope("notifications:write")
def read_notification(notification_id):
    """Mark one notification read (repeating it changes nothing)."""
    n = db.session.get(Notification, notification_id)
    if n is None or not can_read_notification(user(), n):
        raise not_found()
    mark_read(n, user())
    return n
