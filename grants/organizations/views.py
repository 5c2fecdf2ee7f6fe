"""Organisation self-registration, profile, members; officers' list and verification."""
import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.sessions import complete_login
from grants.core import captcha
from grants.core.forms import form_errors
from grants.core.states import IllegalTransition
from grants.core.web import ensure, get_or_404, paginate
from grants.extensions import db, limiter
from grants.organizations import bp
from grants.organizations import permissions as perm
from grants.organizations.forms import InviteForm, JoinForm, OrgFilterForm, ProfileForm, ReasonForm, RegistrationForm
from grants.organizations.models import (
    ChangeRequestStatus, Organization, OrganizationChangeRequest, OrganizationMember,
)
from grants.organizations.services import (
    ORG_WORKFLOW, OrganizationError, accept_invitation, change_status, decide_change_request,
    find_open_invitation, invite_member, register_organization, set_blacklist, set_member_admin, update_profile,
)


def _attach(form, exc: OrganizationError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "danger")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register():
    """An organisation registers itself and its first user (its administrator). The CAPTCHA is checked before
    anything else, so only a person learns whether a name, mobile number or credit code is taken."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    captcha_error = None
    valid = form.validate_on_submit()
    if valid and captcha.enabled() and not captcha.check(request.form.get("captcha")):
        captcha_error = _("图形验证码不正确，请重新输入")
    elif valid:
        try:
            org = register_organization(
                profile=form.profile(), name=form.name.data, admin_username=form.admin_username.data,
                admin_name=form.admin_name.data, admin_password=form.password.data,
                admin_mobile=form.admin_mobile.data, admin_email=form.admin_email.data)
        except OrganizationError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            complete_login(org.members[0].user, remember=False)
            _send_first_code(org.members[0].user)
            db.session.commit()
            flash(_("注册成功。组织信息已提交民政部门审核，认证通过后即可申报项目。"), "success")
            return redirect(url_for("organizations.mine"))
    return render_template("organizations/register.html", form=form, captcha_error=captcha_error,
                           captcha_image=captcha.new_challenge() if captcha.enabled() else None)


def _send_first_code(user) -> None:
    """A new account's mobile gets its code at once; when the limits refuse (many sign-ups from one network),
    the person asks again from the contacts page."""
    from grants.accounts.verification import VerificationError, send_contact_code

    try:
        with db.session.begin_nested():
            send_contact_code(user, "mobile", ip=(request.remote_addr or "")[:45])
    except VerificationError:
        return
    flash(_("验证码已通过短信发送至 %(m)s，请在“联系方式”中输入验证码完成验证。", m=user.mobile), "info")


@bp.route("/org")
@login_required
def mine():
    """The current user's own organisation."""
    org = current_user.organization
    if org is None:
        abort(404)
    return redirect(url_for("organizations.detail", org_id=org.id))


@bp.route("/organizations/<int:org_id>")
@login_required
def detail(org_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_view_organization(current_user, org))
    members = db.session.scalars(
        sa.select(OrganizationMember).where(OrganizationMember.organization_id == org.id)
        .order_by(OrganizationMember.id)).all()
    return render_template(
        "organizations/detail.html", org=org, members=members, reason_form=ReasonForm(),
        invite_form=InviteForm(), actions=ORG_WORKFLOW.allowed_actions(org.status, current_user.role_names),
        workflow=ORG_WORKFLOW, can_edit=perm.can_edit_organization(current_user, org),
        can_manage_members=perm.can_manage_members(current_user, org),
        can_verify=perm.can_verify_organization(current_user, org),
        can_view_record=perm.can_view_record(current_user, org),
        can_view_bank=perm.can_view_bank_details(current_user, org),
        change_requests=db.session.scalars(
            sa.select(OrganizationChangeRequest).where(OrganizationChangeRequest.organization_id == org.id)
            .order_by(OrganizationChangeRequest.id.desc()).limit(5)).all(),
        invitations=[i for i in org_invitations(org)] if perm.can_manage_members(current_user, org) else [],
    )


@bp.route("/organizations/<int:org_id>/record")
@login_required
def record(org_id: int):
    """组织履历: applications, scores, awards, contracts with final grades and payments across years."""
    from grants.organizations.record import organization_record

    org = get_or_404(Organization, org_id)
    ensure(perm.can_view_record(current_user, org))
    return render_template("organizations/record.html", org=org, record=organization_record(org, current_user),
                           threads=_record_threads(org))


def _record_threads(org) -> list[dict]:
    """The organisation's message threads: all of them for its members (without internal notes); for
    officers and auditors those of their unit subtree, internal notes counted."""
    from grants.accounts.models import Role
    from grants.messages.services import organization_threads
    from grants.organizations.services import unit_subtree_ids

    if perm.is_member(current_user, org):
        return organization_threads(org.id, with_internal=False, unit_ids=None)
    if current_user.has_role(Role.OFFICER, Role.AUDITOR) and current_user.host_unit_id is not None:
        return organization_threads(org.id, with_internal=True, unit_ids=unit_subtree_ids(current_user.host_unit_id))
    return []


def org_invitations(org):
    from grants.organizations.models import Invitation

    return db.session.scalars(sa.select(Invitation).where(Invitation.organization_id == org.id,
                                                          Invitation.accepted_at.is_(None))
                              .order_by(Invitation.id.desc())).all()


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_edit_organization(current_user, org))
    form = ProfileForm(obj=org)
    if form.validate_on_submit():
        try:
            change_request = update_profile(org, form.profile(), current_user,
                                            certificate=form.rating_certificate.data)
        except OrganizationError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            if change_request is not None:
                flash(_("联系方式等已保存；登记信息的变更已作为变更申请提交民政部门审核，审核通过前仍以已认证的信息为准。"),
                      "info")
                return redirect(url_for("organizations.change_request", request_id=change_request.id))
            flash(_("组织信息已保存"), "success")
            return redirect(url_for("organizations.detail", org_id=org.id))
    return render_template("organizations/edit.html", form=form, org=org)


def _change_request_filters():
    """The caller's unit subtree's change requests of one status (the page and its export share them)."""
    from grants.organizations.services import unit_subtree_ids

    status = request.args.get("status", ChangeRequestStatus.PENDING)
    if status not in {s.value for s in ChangeRequestStatus}:
        status = ChangeRequestStatus.PENDING
    stmt = (sa.select(OrganizationChangeRequest)
            .where(OrganizationChangeRequest.host_unit_id.in_(unit_subtree_ids(current_user.host_unit_id)),
                   OrganizationChangeRequest.status == status)
            .order_by(OrganizationChangeRequest.id.desc()))
    return status, stmt


@bp.route("/organizations/change-requests")
@login_required
def change_requests():
    """变更申请: the pending (or decided) change requests of the organisations of the caller's unit subtree."""
    ensure(perm.can_list_change_requests(current_user))
    status, stmt = _change_request_filters()
    return render_template("organizations/change_requests.html", page=paginate(stmt), status=status)


@bp.route("/organizations/change-requests.xlsx")
@login_required
def change_requests_export():
    """The change requests of the tab shown, with each changed field before and after."""
    from grants.core.auditview import field_label
    from grants.core.excel import list_workbook, xlsx_response
    from grants.core.timeutil import format_local, now, today_local

    ensure(perm.can_list_change_requests(current_user))
    _status, stmt = _change_request_filters()
    headers = [("组织", 28), ("变更事项", 18), ("变更前", 26), ("变更后", 26), ("提交人", 12), ("提交时间", 18),
               ("状态", 10), ("审核人", 12), ("审核时间", 18), ("审核意见", 30)]

    def rows():
        for cr in db.session.scalars(stmt).unique():
            for key, value in (cr.after or {}).items():
                yield [cr.organization.name, str(field_label(key)), str((cr.before or {}).get(key, "") or ""),
                       str(value or ""), cr.requested_by.display_name if cr.requested_by else "",
                       format_local(cr.requested_at, "%Y-%m-%d %H:%M"), str(cr.status_label),
                       cr.decided_by.display_name if cr.decided_by else "",
                       format_local(cr.decided_at, "%Y-%m-%d %H:%M") if cr.decided_at else "", cr.decision_note]

    data = list_workbook("变更申请", f"组织变更申请（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", headers, rows())
    return xlsx_response(data, f"组织变更申请-{today_local().isoformat()}.xlsx")


@bp.route("/organizations/change-requests/<int:request_id>/certificate")
@login_required
def change_request_certificate(request_id: int):
    """The evaluation certificate behind a rating change, for the organisation and the reviewing unit."""
    from grants.core.storage import send_stored

    cr = get_or_404(OrganizationChangeRequest, request_id)
    ensure(perm.can_view_change_request(current_user, cr) and cr.certificate is not None)
    return send_stored(cr.certificate, inline=request.args.get("inline") == "1")


@bp.route("/organizations/change-requests/<int:request_id>", methods=["GET", "POST"])
@login_required
def change_request(request_id: int):
    """One change request with its before and after; officers of the unit approve or reject it."""
    from grants.core.auditview import field_rows

    cr = get_or_404(OrganizationChangeRequest, request_id)
    ensure(perm.can_view_change_request(current_user, cr))
    if request.method == "POST":
        ensure(perm.can_review_change_request(current_user, cr))
        approve = request.form.get("decision") == "approve"
        try:
            decide_change_request(cr, approve, request.form.get("note", ""), current_user)
        except OrganizationError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("已批准变更，登记信息已更新") if approve else _("已驳回变更申请"), "success")
            return redirect(url_for("organizations.change_request", request_id=cr.id))
    return render_template("organizations/change_request.html", cr=cr, rows=field_rows(cr.before, cr.after),
                           can_review=perm.can_review_change_request(current_user, cr))


@bp.route("/organizations/<int:org_id>/invite", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_INVITE"], key_func=lambda: f"invite-user:{current_user.id}")
def invite(org_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_manage_members(current_user, org))
    form = InviteForm()
    if form.validate_on_submit():
        inv = invite_member(org, form.invitee_name.data, current_user)
        db.session.commit()
        link = url_for("organizations.join", token=inv.token, _external=True)
        flash(_("邀请已生成，请将链接发给 %(name)s（7 天内有效）：%(link)s", name=inv.invitee_name, link=link),
              "success")
    else:
        flash(_("请填写被邀请人姓名"), "danger")
    return redirect(url_for("organizations.detail", org_id=org.id))


@bp.route("/organizations/<int:org_id>/members/<int:member_id>/admin", methods=["POST"])
@login_required
def member_admin(org_id: int, member_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_manage_members(current_user, org))
    member = get_or_404(OrganizationMember, member_id)
    if member.organization_id != org.id:
        abort(404)
    try:
        set_member_admin(member, request.form.get("is_admin") == "1", current_user)
    except OrganizationError as exc:
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("成员权限已更新"), "success")
    return redirect(url_for("organizations.detail", org_id=org.id))


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """A colleague accepts an invitation and creates their account."""
    inv = find_open_invitation(token)
    if inv is None:
        return render_template("errors/error.html", code=404, title=_("邀请无效"),
                               message=_("邀请链接无效、已使用或已过期，请联系本组织管理员重新邀请。")), 404
    form = JoinForm(display_name=inv.invitee_name) if request.method == "GET" else JoinForm()
    if form.validate_on_submit():
        try:
            user = accept_invitation(inv, username=form.username.data, display_name=form.display_name.data,
                                     password=form.password.data, mobile=form.mobile.data, email=form.email.data)
        except OrganizationError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            complete_login(user, remember=False)
            _send_first_code(user)
            db.session.commit()
            flash(_("已加入 %(org)s", org=inv.organization.name), "success")
            return redirect(url_for("main.index"))
    return render_template("organizations/join.html", form=form, inv=inv)


def _org_filters():
    """The list's filter form and statement (the page and its Excel export share them)."""
    form = OrgFilterForm(request.args)
    stmt = sa.select(Organization)
    if form.q.data:  # the staff search's query language and conditions (name, credit code, filing number)
        from grants.search.query import QueryError, parse_query
        from grants.search.services import organization_condition

        try:
            stmt = stmt.where(organization_condition(parse_query(form.q.data)))
        except QueryError as exc:
            flash(exc.message, "warning")
    if form.status.data:
        stmt = stmt.where(Organization.status == form.status.data)
    if form.legal_form.data:
        stmt = stmt.where(Organization.legal_form == form.legal_form.data)
    if form.district.data:
        stmt = stmt.where(Organization.district == form.district.data.strip())
    return form, stmt.order_by(Organization.status != "pending", Organization.created_at.desc(), Organization.id.desc())


@bp.route("/organizations")
@login_required
def index():
    ensure(perm.can_list_organizations(current_user))
    form, stmt = _org_filters()
    page = paginate(stmt)
    return render_template("organizations/index.html", page=page, form=form)


@bp.route("/organizations.xlsx")
@login_required
def export():
    """The organisation list as filtered, every row (the list's own scope)."""
    ensure(perm.can_list_organizations(current_user))
    from grants.core.excel import xlsx_response
    from grants.core.timeutil import today_local
    from grants.organizations.exports import organizations_workbook

    _form, stmt = _org_filters()
    orgs = db.session.scalars(stmt.execution_options(yield_per=500))
    return xlsx_response(organizations_workbook(orgs), f"社会组织-{today_local().isoformat()}.xlsx")


def _valid_reason() -> str | None:
    """The posted reason through ReasonForm (its length limit is the column's), or None after flashing why."""
    form = ReasonForm()
    if not form.validate():
        flash(form_errors(form), "danger")
        return None
    return form.reason.data or ""


@bp.route("/organizations/<int:org_id>/status", methods=["POST"])
@login_required
def status(org_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_verify_organization(current_user, org))
    action = request.form.get("action", "")
    reason = _valid_reason()
    if reason is None:
        return redirect(url_for("organizations.detail", org_id=org.id))
    try:
        change_status(org, action, current_user, reason)
    except (OrganizationError, IllegalTransition) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("已%(action)s：%(org)s", action=ORG_WORKFLOW.action_label(action), org=org.name), "success")
    return redirect(url_for("organizations.detail", org_id=org.id))


@bp.route("/organizations/<int:org_id>/blacklist", methods=["POST"])
@login_required
def blacklist(org_id: int):
    org = get_or_404(Organization, org_id)
    ensure(perm.can_verify_organization(current_user, org))
    flag = request.form.get("blacklisted") == "1"
    reason = _valid_reason()
    if reason is None:
        return redirect(url_for("organizations.detail", org_id=org.id))
    try:
        set_blacklist(org, flag, reason, current_user)
    except OrganizationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("已列入活动异常/失信名单") if flag else _("已移出名单"), "success")
    return redirect(url_for("organizations.detail", org_id=org.id))
