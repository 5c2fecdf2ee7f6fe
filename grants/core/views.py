"""Audit-log browsing and permission-checked file downloads."""
import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.models import Role, User
from grants.core.models import AuditLog, StoredFile
from grants.extensions import db
from grants.organizations.models import HostUnit, Organization, OrganizationMember
from grants.core.permissions import can_browse_audit, can_download_file
from grants.core.storage import send_stored
from grants.core.web import ensure, get_or_404, paginate
from grants.organizations.services import unit_subtree_ids

bp = Blueprint("core", __name__)


AUDIT_PER_PAGE = 50
AUDIT_EXPORT_MAX = 20000


def _audit_scope(stmt):
    """Rows the viewer may read: admins all; unit staff their subtree's rows (a row of two units shows to
    both); unit-less (platform-wide) rows only admins and auditors of a top (city-level) unit."""
    if current_user.has_role(Role.ADMIN) and not current_user.host_unit_id:
        return stmt
    subtree = unit_subtree_ids(current_user.host_unit_id)
    visible = sa.or_(AuditLog.unit_id.in_(subtree), AuditLog.unit2_id.in_(subtree))
    city_auditor = (current_user.has_role(Role.AUDITOR) and current_user.host_unit is not None
                    and current_user.host_unit.parent_id is None)
    if city_auditor:
        visible = sa.or_(visible, AuditLog.unit_id.is_(None))
    return stmt.where(visible)


def _audit_filters():
    """The page's filters, cleaned: anything malformed is dropped with a note rather than failing."""
    args = request.args
    f = {k: (args.get(k) or "").strip()[:80] for k in ("action", "object_type", "object_id", "actor_id",
                                                        "unit_id", "date_from", "date_to")}
    problems = []
    for key in ("date_from", "date_to"):
        if f[key]:
            try:
                day = dt.date.fromisoformat(f[key])
                if day.year < 2000:
                    raise ValueError
            except ValueError:
                problems.append(_("日期“%(d)s”无法识别，请按 年-月-日 填写", d=f[key]))
                f[key] = ""
    for key in ("actor_id", "unit_id"):
        if f[key] and not (f[key].isdigit() or (key == "actor_id" and f[key] == "system")):
            f[key] = ""
        if f[key].isdigit() and int(f[key]) > 2**31:
            f[key] = ""
    return f, problems


def _filtered(f):
    from grants.core.timeutil import local_to_utc

    def day_start(text):
        return local_to_utc(dt.datetime.combine(dt.date.fromisoformat(text), dt.time.min))

    stmt = _audit_scope(sa.select(AuditLog))
    if f["action"]:
        stmt = stmt.where(AuditLog.action == f["action"])
    if f["object_type"]:
        stmt = stmt.where(AuditLog.object_type == f["object_type"])
    if f["object_id"]:
        stmt = stmt.where(AuditLog.object_id == f["object_id"])
    if f["actor_id"] == "system":
        stmt = stmt.where(AuditLog.actor_id.is_(None))
    elif f["actor_id"]:
        stmt = stmt.where(AuditLog.actor_id == int(f["actor_id"]))
    if f["unit_id"]:
        unit_ids = unit_subtree_ids(int(f["unit_id"]))
        stmt = stmt.where(sa.or_(AuditLog.unit_id.in_(unit_ids), AuditLog.unit2_id.in_(unit_ids)))
    if f["date_from"]:
        stmt = stmt.where(AuditLog.at >= day_start(f["date_from"]))
    if f["date_to"]:
        stmt = stmt.where(AuditLog.at < day_start(f["date_to"]) + dt.timedelta(days=1))
    return stmt


def _actor_units(rows) -> dict[int, str]:
    """Each actor's unit name (one query for the page's actors)."""
    ids = {r.actor_id for r in rows if r.actor_id}
    if not ids:
        return {}
    out = {}
    for uid, unit_name, org_name in db.session.execute(
            sa.select(User.id, HostUnit.short_name, Organization.name)
            .outerjoin(HostUnit, HostUnit.id == User.host_unit_id)
            .outerjoin(OrganizationMember, OrganizationMember.user_id == User.id)
            .outerjoin(Organization, Organization.id == OrganizationMember.organization_id)
            .where(User.id.in_(ids))):
        out[uid] = unit_name or org_name or ""
    return out


@bp.route("/audit")
@login_required
def audit_log():
    """审计日志: newest first, a page at a time."""
    from grants.core.auditview import action_label, all_action_choices, field_rows, object_label, object_link

    ensure(can_browse_audit(current_user))
    f, problems = _audit_filters()
    for p in problems:
        flash(p, "warning")
    before_id = request.args.get("before", type=int)
    stmt = _filtered(f)
    if before_id and 0 < before_id < 2**31:
        # Keyset on (time, id): page 2,000 costs what page 1 does, and a date range reads only its own days.
        before_at = db.session.scalar(sa.select(AuditLog.at).where(AuditLog.id == before_id))
        if before_at is not None:
            stmt = stmt.where(sa.tuple_(AuditLog.at, AuditLog.id) < sa.tuple_(sa.literal(before_at, AuditLog.at.type),
                                                                           sa.literal(before_id)))
    rows = db.session.scalars(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(AUDIT_PER_PAGE + 1)).all()
    has_more = len(rows) > AUDIT_PER_PAGE
    rows = rows[:AUDIT_PER_PAGE]
    units = {u.id: u for u in db.session.scalars(sa.select(HostUnit))}
    actor_units = _actor_units(rows)
    entries = [{
        "row": r, "action": action_label(r.action), "object": object_label(r.object_type),
        "link": object_link(r.object_type, r.object_id), "actor_unit": actor_units.get(r.actor_id, ""),
        "units": [units[u].short_name for u in (r.unit_id, r.unit2_id) if u in units],
        "fields": field_rows(r.before, r.after)} for r in rows]
    scope_units = _scope_units(units)
    args = {k: v for k, v in f.items() if v}
    return render_template(
        "core/audit.html", entries=entries, filters=f, has_more=has_more, args=args,
        next_before=rows[-1].id if has_more and rows else None, first_page=not before_id,
        actions=all_action_choices(), scope_units=scope_units, actors=_actor_choices(scope_units),
        object_types=sorted((k, object_label(k)) for k in _object_types()))


def _object_types():
    from grants.core.auditview import OBJECT_LABELS

    return OBJECT_LABELS.keys()


def _scope_units(units: dict) -> list:
    """The units the viewer may pick: their subtree (everything for an admin), each under its parent."""
    from grants.organizations.services import unit_choices

    if current_user.has_role(Role.ADMIN) and not current_user.host_unit_id:
        return unit_choices()
    subtree = unit_subtree_ids(current_user.host_unit_id)
    return [(uid, name) for uid, name in unit_choices() if uid in subtree]


def _actor_choices(scope_units) -> list[tuple[str, str]]:
    """Staff of the viewer's units (by unit) and the system, for the actor picker."""
    unit_ids = [uid for uid, _name in scope_units]
    staff = db.session.execute(
        sa.select(User.id, User.display_name, HostUnit.short_name).join(HostUnit, HostUnit.id == User.host_unit_id)
        .where(User.host_unit_id.in_(unit_ids)).order_by(HostUnit.id, User.display_name).limit(500)).all()
    return [("system", _("系统（自动）"))] + [(str(uid), f"{name}（{unit}）") for uid, name, unit in staff]


@bp.route("/audit.xlsx")
@login_required
def audit_export():
    """The audit page's rows as an Excel workbook, with the same filters and the same readable columns."""
    from grants.core.auditview import action_label, field_rows, object_label
    from grants.core.excel import new_workbook, workbook_bytes, xlsx_response
    from grants.core.timeutil import format_local

    ensure(can_browse_audit(current_user))
    f, _problems = _audit_filters()
    rows = db.session.scalars(_filtered(f).order_by(AuditLog.at.desc(), AuditLog.id.desc())
                              .limit(AUDIT_EXPORT_MAX)).all()
    units = {u.id: u for u in db.session.scalars(sa.select(HostUnit))}
    actor_units = _actor_units(rows)
    wb = new_workbook()
    ws = wb.active
    ws.title = "审计日志"
    ws.append(["编号", "时间", "操作人", "操作人单位", "操作", "对象", "对象编号", "所属单位", "变更内容"])
    for r in rows:
        changes = "\n".join(
            f"{fr['label']}：{fr['before']} → {fr['after']}" if fr["before"] and fr["after"]
            else f"{fr['label']}：{fr['after'] or fr['before']}" for fr in field_rows(r.before, r.after))
        ws.append([r.id, format_local(r.at), _cell(r.actor_name), _cell(actor_units.get(r.actor_id, "")),
                   action_label(r.action), object_label(r.object_type), _cell(r.object_id),
                   "、".join(units[u].short_name for u in (r.unit_id, r.unit2_id) if u in units), _cell(changes)])
    for col, width in zip("ABCDEFGHI", (8, 18, 12, 16, 20, 12, 10, 16, 60)):
        ws.column_dimensions[col].width = width
    if len(rows) == AUDIT_EXPORT_MAX:
        ws.append([f"仅导出最新的 {AUDIT_EXPORT_MAX} 条，请缩小日期范围后分批导出"])
    return xlsx_response(workbook_bytes(wb), f"审计日志-{dt.date.today().isoformat()}.xlsx")


def _cell(text) -> str:
    """A leading = + - @ would start a formula in Excel."""
    text = str(text or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@bp.route("/files/<int:file_id>")
@login_required
def download(file_id: int):
    stored = get_or_404(StoredFile, file_id)
    ensure(can_download_file(current_user, stored))
    return send_stored(stored, inline=request.args.get("inline") == "1")
