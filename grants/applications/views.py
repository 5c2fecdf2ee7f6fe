"""Applicant and officer pages for applications: apply, edit (save/submit), my list, detail,
PDF, attachments, withdraw; the officers' screening list, Excel export and decisions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications import bp
from grants.applications import permissions as perm
from grants.applications.exports import applications_workbook
from grants.core.batch import render_outcome, run_batch, selected_ids
from grants.core.excel import xlsx_response
from grants.applications.forms import ApplicationForm, ScreeningFilterForm, ScreeningForm, parse_application_form
from grants.applications.models import (
    BUDGET_KIND_LABELS, CERTIFICATE_LEVELS, FUNDED_BY_LABELS, OUTPUT_LABELS, Application, ApplicationAttachment,
)
from grants.applications import services
from grants.applications.services import (
    ApplicationError, call_application_districts, call_applications_count, call_applications_query,
    eligibility_problems, limit_problems, save_draft, screen_application,
    start_application, status_counts, status_summary, submit_application, withdraw_application,
)
from grants.applications.states import APPLICATION_WORKFLOW, SCREENING_ACTIONS
from grants.calls.models import Call, CallStatus
from grants.core.forms import BaseForm, form_errors
from grants.core.inputs import int_or_none
from grants.core.money import Money
from grants.core.pdf import pdf_response, render_pdf
from grants.core.states import IllegalTransition
from grants.core.storage import send_stored
from grants.core.timeutil import format_local, local_to_utc, now
from grants.core.web import ensure, get_or_404, paginate
from grants.extensions import db

PER_PAGE = 50


# --- applicant -----------------------------------------------------------------------

@bp.route("/calls/<int:call_id>/apply", methods=["GET", "POST"])
@login_required
def apply(call_id: int):
    """Start an application to an open call (the page lists this organisation's existing ones)."""
    call = get_or_404(Call, call_id)
    ensure(perm.can_apply(current_user, call))
    org = current_user.organization
    if request.method == "POST":
        form = ApplicationForm()
        if form.validate_on_submit():
            try:
                application = start_application(call, org, current_user)
            except ApplicationError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
            else:
                db.session.commit()
                flash(_("已创建申报书草稿，可随时保存，截止前提交。"), "success")
                return redirect(url_for("applications.edit", application_id=application.id))
    existing = db.session.scalars(sa.select(Application).where(
        Application.call_id == call.id, Application.organization_id == org.id).order_by(Application.id)).all()
    return render_template("applications/apply.html", call=call, org=org, existing=existing, form=ApplicationForm())


def _form_values(application: Application, formdata=None) -> dict:
    """What the form shows: the saved application, or (after a refused save) exactly what was typed."""
    if formdata is not None:
        from grants.applications.forms import ROW_SECTIONS, _rows

        values = {k: formdata.get(k, "") for k in ("project_name", "summary", "need_analysis", "objectives",
                                                  "target_groups", "activity_description", "requested")}
        values["category_id"] = formdata.get("category_id", "")
        values["declaration"] = formdata.get("declaration") in ("y", "1", "on", "true")
        values["targets"] = {k: formdata.get(f"target-{k}", "") for k in OUTPUT_LABELS}
        for section in ROW_SECTIONS:
            values[section] = _rows(formdata, section)
        for row in values["member"]:
            row["is_social_worker"] = row.get("is_social_worker") in ("y", "1", "on")
        return values
    a = application
    values = {k: getattr(a, k) for k in ("project_name", "summary", "need_analysis", "objectives", "target_groups",
                                        "activity_description")}
    values["requested"] = Money(a.requested_fen).yuan_text if a.requested_fen else ""
    values["category_id"] = str(a.category_id or "")
    values["declaration"] = a.declaration_accepted_at is not None
    values["targets"] = {str(k): "" for k in OUTPUT_LABELS}
    values["targets"].update({t.kind: str(t.target) for t in a.output_targets})
    values["area"] = [{"street": s.street, "community": s.community} for s in a.service_areas]
    values["activity"] = [{"title": i.title, "description": i.description,
                           "start_on": i.start_on.isoformat() if i.start_on else "",
                           "end_on": i.end_on.isoformat() if i.end_on else ""} for i in a.activities]
    values["member"] = [{"name": m.name, "role": m.role, "is_social_worker": m.is_social_worker,
                         "certificate_no": m.certificate_no, "certificate_level": m.certificate_level}
                        for m in a.team_members]
    values["budget"] = [{"kind": b.kind, "item": b.item, "unit_price": Money(b.unit_price_fen).yuan_text,
                         "quantity": str(b.quantity), "funded_by": b.funded_by} for b in a.budget_lines]
    return values


def _render_form(application, values, problems, status=200):
    return render_template(
        "applications/form.html", application=application, call=application.call, v=values,
        problems=problems or {}, form=ApplicationForm(), output_labels=OUTPUT_LABELS,
        budget_kinds=BUDGET_KIND_LABELS, funded_by=FUNDED_BY_LABELS, certificate_levels=CERTIFICATE_LEVELS,
    ), status


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@login_required
def edit(application_id: int):
    """The application form: "保存草稿" stores anything typed; "提交申报" saves, then checks and submits."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_edit_application(current_user, application))
    if request.method == "GET":
        return _render_form(application, _form_values(application), {})
    form = ApplicationForm()
    if not form.validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return _render_form(application, _form_values(application, request.form), {}, 400)
    data = parse_application_form(request.form)
    uploads = {req.id: request.files.get(f"attachment-{req.id}")
               for req in application.call.attachment_requirements}
    uploads[None] = request.files.get("attachment-other")
    remove = [i for i in (int_or_none(x, minimum=1) for x in request.form.getlist("remove_attachment")) if i]
    try:
        problems = save_draft(application, data, current_user, uploads=uploads, remove_attachment_ids=remove)
    except ApplicationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_form(application, _form_values(application, request.form), {}, 409)
    # The draft is committed before the submit check, so a refused submission never loses it.
    db.session.commit()
    if request.form.get("action") == "submit" and not problems:
        try:
            problems = submit_application(application, current_user)
        except (ApplicationError, IllegalTransition) as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return _render_form(application, _form_values(application, request.form), problems, 409)
        if not problems:
            db.session.commit()
            flash(_("申报书已提交，编号 %(n)s。截止前可撤回。", n=application.number), "success")
            return redirect(url_for("applications.detail", application_id=application.id))
        db.session.rollback()
        flash(_("草稿已保存，但还不能提交：请按提示修改以下 %(n)s 处问题。",
                n=sum(len(v) for v in problems.values())), "warning")
        return _render_form(application, _form_values(application, request.form), problems)
    if problems:
        flash(_("草稿已保存，但以下内容有误，请修改后再次保存或提交。"), "warning")
        return _render_form(application, _form_values(application, request.form), problems)
    flash(_("草稿已保存（%(t)s）", t=format_local(now(), "%H:%M:%S")), "success")
    return redirect(url_for("applications.edit", application_id=application.id))


@bp.route("/applications/<int:application_id>/autosave", methods=["POST"])
@login_required
def autosave(application_id: int):
    """自动保存 from the form's script (a few seconds after typing, and on leaving the page): the same permission,
    deadline and state checks as 保存草稿, text only (files go with 保存草稿), answered in JSON."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_edit_application(current_user, application))
    if not ApplicationForm().validate_on_submit():
        return jsonify(ok=False, message=_("页面已过期，自动保存失败，请刷新页面后手动保存")), 400
    try:
        save_draft(application, parse_application_form(request.form), current_user)
    except ApplicationError as exc:
        db.session.rollback()
        return jsonify(ok=False, message=_("未能自动保存：%(m)s", m=exc.message)), 409
    db.session.commit()
    saved = format_local(now(), "%H:%M")
    return jsonify(ok=True, saved_at=saved, message=_("已自动保存 %(t)s", t=saved))


@bp.route("/applications/mine")
@login_required
def mine():
    """The organisation's applications with their status and the officers' reasons."""
    ensure(perm.can_list_own_applications(current_user))
    org = current_user.organization
    applications = db.session.scalars(
        sa.select(Application).where(Application.organization_id == org.id)
        .order_by(Application.created_at.desc(), Application.id.desc())).unique().all()
    open_calls = db.session.scalars(sa.select(Call).where(Call.status == CallStatus.PUBLISHED,
                                                          Call.open_at <= now(), Call.close_at > now())
                                    .order_by(Call.close_at)).all()
    return render_template("applications/mine.html", applications=applications, org=org, open_calls=open_calls)


@bp.route("/applications/<int:application_id>")
@login_required
def detail(application_id: int):
    application = get_or_404(Application, application_id)
    ensure(perm.can_view_application(current_user, application))
    return render_template(
        "applications/detail.html", application=application, call=application.call,
        can_edit=perm.can_edit_application(current_user, application) and now() < application.deadline_at,
        can_withdraw=perm.can_withdraw_application(current_user, application) and now() < application.deadline_at
        and not perm.can_delete_draft(current_user, application),
        can_delete=perm.can_delete_draft(current_user, application),
        can_screen=perm.can_screen_application(current_user, application),
        screening_form=ScreeningForm(), workflow=APPLICATION_WORKFLOW, screening_actions=SCREENING_ACTIONS,
        output_labels=OUTPUT_LABELS, form=ApplicationForm(),
        is_staff=not perm.is_own(current_user, application),
        # What the rules say today, to help the officer's decision (the organisation may have changed).
        checks=(eligibility_problems(application) + limit_problems(application))
        if perm.can_screen_application(current_user, application) else None,
        duplicates=_duplicates(application) if not perm.is_own(current_user, application) else None,
    )


def _duplicates(application) -> dict:
    """重复申报检查 for the officers' and auditors' view: flags, the decision, and whether they may decide."""
    from grants.applications.duplicates import duplicate_flags, reviews_of
    from grants.applications.models import DUPLICATE_DECISION_LABELS

    return {"flags": duplicate_flags([application])[application.id],
            "review": reviews_of([application.id]).get(application.id),
            "can_decide": perm.can_decide_duplicate(current_user, application),
            "choices": [(str(k), v) for k, v in DUPLICATE_DECISION_LABELS.items()]}


@bp.route("/applications/<int:application_id>/duplicate", methods=["POST"])
@login_required
def duplicate_decision(application_id: int):
    """The officer's decision on a flagged application (重复申报认定), with a reason."""
    from grants.applications.duplicates import DuplicateError, decide_duplicate

    application = get_or_404(Application, application_id)
    ensure(perm.can_decide_duplicate(current_user, application))
    if not BaseForm().validate_on_submit():
        flash(_("表单已过期，请刷新页面后重试"), "danger")
        return redirect(url_for("applications.detail", application_id=application.id) + "#duplicates")
    try:
        decide_duplicate(application, request.form.get("decision", ""), request.form.get("reason", ""), current_user)
    except DuplicateError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("已保存重复申报认定"), "success")
    return redirect(url_for("applications.detail", application_id=application.id) + "#duplicates")
@bp.route("/applications/<int:application_id>/status")
@login_required
def status(application_id: int):
    """The organisation's status page: stage, next step and deadline, award and 公示, feedback."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_view_application(current_user, application))
    return render_template("applications/status.html", application=application, call=application.call,
                           s=status_summary(application))


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@login_required
def withdraw(application_id: int):
    application = get_or_404(Application, application_id)
    ensure(perm.can_withdraw_application(current_user, application))
    form = ApplicationForm()
    if form.validate_on_submit():
        try:
            withdraw_application(application, current_user)
        except (ApplicationError, IllegalTransition) as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("申报已撤回"), "success")
    return redirect(url_for("applications.detail", application_id=application.id))


@bp.route("/applications/<int:application_id>/delete", methods=["POST"])
@login_required
def delete_draft(application_id: int):
    application = get_or_404(Application, application_id)
    ensure(perm.can_delete_draft(current_user, application))
    form = ApplicationForm()
    if not form.validate_on_submit():
        return redirect(url_for("applications.detail", application_id=application.id))
    try:
        services.delete_draft(application, current_user)
    except ApplicationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("applications.detail", application_id=application.id))
    db.session.commit()
    flash(_("草稿已删除"), "success")
    return redirect(url_for("applications.mine"))


@bp.route("/applications/<int:application_id>/pdf")
@login_required
def pdf(application_id: int):
    """申报书 as an A4 PDF with the Chinese font embedded."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_download_application(current_user, application))
    data = render_pdf("applications/pdf.html", a=application, call=application.call, output_labels=OUTPUT_LABELS)
    name = f"申报书-{application.number or application.id}-{application.project_name or ''}.pdf"
    return pdf_response(data, name)


@bp.route("/applications/<int:application_id>/attachments/<int:attachment_id>")
@login_required
def attachment(application_id: int, attachment_id: int):
    application = get_or_404(Application, application_id)
    ensure(perm.can_download_application(current_user, application))
    item = get_or_404(ApplicationAttachment, attachment_id)
    if item.application_id != application.id:
        abort(404)
    return send_stored(item.stored_file, inline=request.args.get("inline") == "1")


# --- officer -------------------------------------------------------------------------

@bp.route("/screening")
@login_required
def screening():
    """The calls of the officer's unit subtree, with their applications counted by status."""
    ensure(perm.can_browse_screening(current_user))
    from grants.organizations.services import unit_subtree_ids

    units = unit_subtree_ids(current_user.host_unit_id)
    calls = db.session.scalars(sa.select(Call).where(Call.host_unit_id.in_(units), Call.status != CallStatus.DRAFT)
                               .order_by(Call.year.desc(), Call.id.desc())).all()
    counts: dict[int, dict[str, int]] = {}
    for call_id, status, n in db.session.execute(
            sa.select(Application.call_id, Application.status, sa.func.count())
            .where(Application.call_id.in_([c.id for c in calls])).group_by(Application.call_id, Application.status)):
        counts.setdefault(call_id, {})[status] = n
    return render_template("applications/screening.html", calls=calls, counts=counts)


def _valid_search(text: str | None) -> str:
    """The search text when it parses (grants.search.query), else "" after saying why."""
    from grants.search.query import QueryError, parse_query

    try:
        return parse_query(text).raw
    except QueryError as exc:
        flash(exc.message, "warning")
        return ""


def _filtered(call, for_list: bool = False):
    form = ScreeningFilterForm(request.args)
    form.set_choices(call.categories, call_application_districts(call))
    category = request.args.get("category", "")
    filters = dict(q=_valid_search(form.q.data), status=request.args.get("status", ""),
                   category_id=int_or_none(category),
                   district=request.args.get("district", ""))
    stmt = call_applications_query(call, **filters, for_list=for_list)
    return form, stmt, call_applications_count(call, **filters)


@bp.route("/calls/<int:call_id>/applications")
@login_required
def call_list(call_id: int):
    """形式审查 list: filters, pagination; a fixed number of queries whatever the number of rows."""
    call = get_or_404(Call, call_id)
    ensure(perm.can_list_call_applications(current_user, call))
    form, stmt, count_stmt = _filtered(call, for_list=True)
    page = paginate(stmt, per_page=PER_PAGE, count_stmt=count_stmt)
    return render_template("applications/list.html", call=call, page=page, form=form, counts=status_counts(call),
                           # the unit scope was checked above: no second subtree query for the checkboxes
                           can_batch=current_user.has_role("officer"), batch_form=ScreeningForm(),
                           screening_actions=SCREENING_ACTIONS, workflow=APPLICATION_WORKFLOW)


@bp.route("/calls/<int:call_id>/applications/batch-screen", methods=["POST"])
@login_required
def batch_screen(call_id: int):
    """对所选项形式审查: pass several at once; 不合格 and 退回修改 take each application's own reason (and one new
    deadline for the returned). Each through screen_application in its own transaction; refusals listed."""
    call = get_or_404(Call, call_id)
    ensure(perm.can_batch_screen(current_user, call))
    back = url_for("applications.call_list", call_id=call.id, **{k: v for k, v in request.args.items() if k != "page"})
    form = ScreeningForm()
    action = form.action.data
    if not form.validate_on_submit() or action not in SCREENING_ACTIONS:
        flash(form_errors(form) or _("请选择审查操作"), "danger")
        return redirect(back)
    ids = selected_ids()
    if not ids:
        flash(_("请先勾选要处理的项"), "warning")
        return redirect(back)
    deadline = local_to_utc(form.new_deadline.data) if form.new_deadline.data else None

    def act(a):
        reason = request.form.get(f"reason-{a.id}", "") or form.reason.data or ""
        screen_application(a, action, current_user, reason=reason, new_deadline_at=deadline)

    outcome = run_batch(str(APPLICATION_WORKFLOW.action_label(action)), ids,
                        lambda i: db.session.get(Application, i),
                        lambda a: a.call_id == call.id and perm.can_batch_screen(current_user, a.call),
                        act, label=lambda a: f"{a.number or ''} {a.display_name} · {a.organization.name}",
                        url=lambda a: url_for("applications.detail", application_id=a.id))
    return render_outcome(outcome, back, _("返回申报列表"))


@bp.route("/calls/<int:call_id>/applications.xlsx")
@login_required
def call_export(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_list_call_applications(current_user, call))
    _form, stmt, _count = _filtered(call)
    data = applications_workbook(call, db.session.scalars(stmt).unique())
    return xlsx_response(data, f"{call.year}-{call.title}-申报项目.xlsx")


@bp.route("/applications/<int:application_id>/screen", methods=["POST"])
@login_required
def screen(application_id: int):
    """Eligible, ineligible (reason) or returned for revision (reason and a new deadline)."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_screen_application(current_user, application))
    form = ScreeningForm()
    if not form.validate_on_submit():
        flash(form_errors(form) or _("表单有误"), "danger")
        return redirect(url_for("applications.detail", application_id=application.id))
    action = form.action.data
    deadline = local_to_utc(form.new_deadline.data) if form.new_deadline.data else None
    try:
        screen_application(application, action, current_user, reason=form.reason.data or "",
                           new_deadline_at=deadline)
    except (ApplicationError, IllegalTransition) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("已%(a)s：%(n)s", a=APPLICATION_WORKFLOW.action_label(action), n=application.number), "success")
    return redirect(url_for("applications.detail", application_id=application.id))


@bp.app_template_global()
def application_status_badge(status: str) -> str:
    from grants.applications.models import STATUS_BADGES

    return STATUS_BADGES.get(status, "text-bg-secondary")


@bp.app_template_global()
def application_status_label(status: str) -> str:
    from grants.applications.models import STATUS_LABELS

    return str(STATUS_LABELS.get(status, status))

