"""Audit-log browsing and permission-checked file downloads."""
import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from grants.core.models import AuditLog, StoredFile
from grants.core.permissions import can_browse_audit, can_download_file
from grants.core.storage import send_stored
from grants.core.web import ensure, get_or_404, paginate
from grants.organizations.services import unit_subtree_ids

bp = Blueprint("core", __name__)


@bp.route("/audit")
@login_required
def audit_log():
    ensure(can_browse_audit(current_user))
    stmt = sa.select(AuditLog)
    if current_user.host_unit_id:
        # Unit staff see platform-wide rows and their own subtree's, never a sibling unit's work.
        subtree = unit_subtree_ids(current_user.host_unit_id)
        stmt = stmt.where(sa.or_(AuditLog.host_unit_id.is_(None), AuditLog.host_unit_id.in_(subtree)))
    filters = {k: request.args.get(k, "").strip() for k in ("object_type", "object_id", "action", "actor")}
    if filters["object_type"]:
        stmt = stmt.where(AuditLog.object_type == filters["object_type"])
    if filters["object_id"]:
        stmt = stmt.where(AuditLog.object_id == filters["object_id"])
    if filters["action"]:
        stmt = stmt.where(AuditLog.action.like(f"{filters['action']}%"))
    if filters["actor"]:
        stmt = stmt.where(AuditLog.actor_name.like(f"%{filters['actor']}%"))
    page = paginate(stmt.order_by(AuditLog.id.desc()), per_page=100)
    return render_template("core/audit.html", page=page, filters=filters)


@bp.route("/files/<int:file_id>")
@login_required
def download(file_id: int):
    stored = get_or_404(StoredFile, file_id)
    ensure(can_download_file(current_user, stored))
    return send_stored(stored, inline=request.args.get("inline") == "1")
