"""Expert review pages. Experts: 我的评审任务, the conflict declaration, the score sheet. Officers: the expert
pool, a call's panel, conflicts, assignment with progress, a review (reopen), the ranking, the score sheet."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import lazyload

from grants.accounts.models import User
from grants.accounts.services import AccountError
from grants.applications.models import Application, ApplicationStatus
from grants.calls.models import Call, CallStatus
from grants.core.forms import choices
from grants.core.inputs import int_or_none
from grants.core.money import Money
from grants.core.web import Page, ensure, get_or_404, int_arg, paginate
from grants.extensions import db
from grants.reviews import bp
from grants.reviews import permissions as perm
from grants.reviews import services as svc
from grants.core.excel import xlsx_response
from grants.reviews.exports import score_sheet_workbook
from grants.reviews.forms import (
    RECOMMENDATION_CHOICES, ActionForm, AssignForm, AutoAssignForm, DeclareForm, ExpertForm, InviteForm,
    OfficerConflictForm, ReassignForm, ReopenForm, ReviewForm, ShortlistForm, parse_review_form,
)
from grants.reviews.models import (
    Conflict, ExpertProfile, PanelMember, Review, ReviewAssignment, ReviewStage, ReviewStatus, STAGE_LABELS,
)


TASKS_PER_PAGE = 100
RANKING_PER_PAGE = 100


def _fail(exc) -> None:
    db.session.rollback()
    flash(exc.message, "danger")


def _form_errors(form) -> str:
    return "；".join(str(e) for errs in form.errors.values() for e in errs) or _("表单有误")


# --- expert ------------------------------------------------------------------------------------

@bp.route("/tasks")
@login_required
def tasks():
    """我的评审任务, a page of TASKS_PER_PAGE at a time (an expert of a provincial pool may have hundreds over the
    years): five queries whatever the number of tasks."""
    ensure(perm.can_list_tasks(current_user))
    page = paginate(
        sa.select(ReviewAssignment).join(Application, Application.id == ReviewAssignment.application_id)
        .join(Call, Call.id == Application.call_id)
        .where(ReviewAssignment.expert_id == current_user.id, Call.status != CallStatus.DRAFT)
        .order_by(Call.id.desc(), ReviewAssignment.stage.desc(), Application.number, ReviewAssignment.id),
        per_page=TASKS_PER_PAGE)
    assignments = page.items
    app_ids = [a.application_id for a in assignments]
    conflicts = {c.application_id: c for c in db.session.scalars(
        sa.select(Conflict).where(Conflict.expert_id == current_user.id, Conflict.application_id.in_(app_ids)))}
    reviews = {r.assignment_id: r for r in db.session.scalars(
        sa.select(Review).options(lazyload(Review.scores))
        .where(Review.assignment_id.in_([a.id for a in assignments])))}
    return render_template("reviews/tasks.html", assignments=assignments, page=page, conflicts=conflicts,
                           reviews=reviews)


def _own_assignment(assignment_id: int) -> ReviewAssignment:
    assignment = get_or_404(ReviewAssignment, assignment_id)
    ensure(perm.can_review(current_user, assignment))
    return assignment


@bp.route("/assignments/<int:assignment_id>/declare", methods=["GET", "POST"])
@login_required
def declare(assignment_id: int):
    """利益冲突声明: shown before any content of the application."""
    assignment = _own_assignment(assignment_id)
    application = assignment.application
    row = svc.conflict_for(current_user.id, application.id)
    form = DeclareForm()
    if form.validate_on_submit():
        try:
            svc.declare_conflict(assignment, current_user, has_conflict=form.has_conflict.data == "yes",
                                 reason=form.reason.data or "")
        except svc.ReviewError as exc:
            db.session.rollback()
            if exc.field == "reason":
                form.reason.errors = [exc.message]
            else:
                flash(exc.message, "danger")
                # An auto-detected conflict is recorded even though the declaration was rolled back.
                _record_detected(assignment)
                return redirect(url_for("reviews.tasks"))
        else:
            db.session.commit()
            if form.has_conflict.data == "yes":
                flash(_("已登记回避，项目主管将另行安排专家"), "warning")
                return redirect(url_for("reviews.tasks"))
            flash(_("已声明无利益冲突"), "success")
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
    elif request.method == "GET" and row is not None and not row.has_conflict:
        return redirect(url_for("reviews.review", assignment_id=assignment.id))
    return render_template("reviews/declare.html", assignment=assignment, application=application, form=form,
                           conflict=row, blind=application.call.blind_review)


def _record_detected(assignment: ReviewAssignment) -> None:
    """Persist an automatically detected conflict (the refused declaration was rolled back)."""
    facts = svc.expert_facts([current_user.id])[current_user.id]
    app = assignment.application
    reason = svc.auto_conflict_reason(facts, app.organization_id, app.organization.name)
    if reason:
        svc._record_auto_conflict(current_user.id, app.id, reason, current_user)
        db.session.commit()


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@login_required
def review(assignment_id: int):
    """The score sheet beside the application's content; only after "无利益冲突" was declared."""
    assignment = _own_assignment(assignment_id)
    application = assignment.application
    if not perm.expert_may_see(current_user, application):
        row = svc.conflict_for(current_user.id, application.id)
        if row is None:
            return redirect(url_for("reviews.declare", assignment_id=assignment.id))
        abort(403)
    call = application.call
    criteria = call.criteria_for(assignment.stage)
    form = ReviewForm()
    problems: dict[str, str] = {}
    typed = None
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
        data = parse_review_form(request.form, criteria)
        submit = request.form.get("action") == "submit"
        try:
            rv, problems = svc.save_review(assignment, current_user, data, submit=submit)
        except svc.ReviewError as exc:
            _fail(exc)
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
        db.session.commit()
        if not problems:
            if rv.is_submitted:
                flash(_("评分已提交"), "success")
            else:
                flash(_("草稿已保存"), "success")
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
        typed = request.form
        flash(_("已保存填写正确的内容；请按提示修改以下 %(n)s 处后再提交", n=len(problems)), "warning")
    rv = assignment.review
    others = svc.other_reviews(rv) if rv is not None else None
    return render_template(
        "reviews/review.html", assignment=assignment, application=application, call=call, criteria=criteria,
        review=rv, form=form, problems=problems, typed=typed, others=others, blind=call.blind_review,
        recommendation_choices=RECOMMENDATION_CHOICES,
        suggested_text=Money(rv.suggested_amount_fen).yuan_text if rv and rv.suggested_amount_fen else "",
        show_files=perm.expert_may_open_files(current_user, application),
    ), (200 if not problems else 422)


# --- officer: expert pool ----------------------------------------------------------------------

@bp.route("/experts")
@login_required
def experts():
    ensure(perm.can_view_pool(current_user))
    page = paginate(svc.expert_pool_query())
    editable = {p.id for p in page.items if perm.can_edit_expert(current_user, p)}
    return render_template("reviews/experts.html", pool=page.items, page=page, editable=editable,
                           can_manage=perm.can_manage_pool(current_user))


@bp.route("/experts.xlsx")
@login_required
def experts_export():
    """专家库 as a workbook: the same pool the page lists."""
    from grants.core.excel import list_workbook
    from grants.core.timeutil import format_local, now, today_local

    ensure(perm.can_view_pool(current_user))
    headers = [("姓名", 12), ("职称", 12), ("用户名", 14), ("专业领域", 24), ("工作单位", 24), ("关联社会组织", 24),
               ("电话", 14), ("邮箱", 22), ("聘请单位", 16)]

    def rows():
        for p in db.session.scalars(svc.expert_pool_query()).unique():
            yield [p.user.display_name, p.title, p.user.username, p.specialties_text, p.employer,
                   p.affiliated_organization.name if p.affiliated_organization else "", p.phone or p.user.mobile or "",
                   p.user.email or "", p.host_unit.short_name if p.host_unit else _("市级专家库")]

    data = list_workbook("专家库", f"专家库（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", headers, rows())
    return xlsx_response(data, f"专家库-{today_local().isoformat()}.xlsx")


@bp.route("/experts/new", methods=["GET", "POST"])
@login_required
def expert_new():
    ensure(perm.can_manage_pool(current_user))
    form = ExpertForm(creating=True)
    if form.validate_on_submit():
        try:
            svc.create_expert(current_user, username=form.username.data, display_name=form.display_name.data,
                              password=form.password.data, specialties=form.specialties.data or "",
                              employer=form.employer.data or "", affiliated_organization_id=form.organization_id,
                              phone=form.phone.data or "", email=form.email.data, mobile=form.mobile.data,
                              title=form.title.data or "")
        except AccountError as exc:
            db.session.rollback()
            # The field the service names (the password policy names "password"); else the user name.
            target = (getattr(form, exc.field, None) if exc.field else None) or form.username
            target.errors = list(target.errors) + [exc.message]
        else:
            db.session.commit()
            flash(_("已将 %(n)s 加入专家库，首次登录须修改密码", n=form.display_name.data), "success")
            return redirect(url_for("reviews.experts"))
    return render_template("reviews/expert_form.html", form=form, profile=None)


@bp.route("/experts/<int:profile_id>/edit", methods=["GET", "POST"])
@login_required
def expert_edit(profile_id: int):
    profile = get_or_404(ExpertProfile, profile_id)
    ensure(perm.can_edit_expert(current_user, profile))
    form = ExpertForm()
    if request.method == "GET":
        form.display_name.data = profile.user.display_name
        form.title.data = profile.title
        form.specialties.data = profile.specialties_text
        form.employer.data = profile.employer
        form.affiliated_organization.data = profile.affiliated_organization.name if profile.affiliated_organization \
            else ""
        form.phone.data = profile.phone
    elif form.validate_on_submit():
        try:
            svc.update_expert(profile, current_user, specialties=form.specialties.data or "",
                              employer=form.employer.data or "", affiliated_organization_id=form.organization_id,
                              phone=form.phone.data or "", title=form.title.data or "",
                              display_name=form.display_name.data)
        except svc.ReviewError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("专家信息已更新"), "success")
            return redirect(url_for("reviews.experts"))
    return render_template("reviews/expert_form.html", form=form, profile=profile)


# --- officer: calls in review ------------------------------------------------------------------

@bp.route("/calls")
@login_required
def calls():
    """The calls of the officer's subtree that are (or can go) into review, with their progress."""
    ensure(perm.can_view_pool(current_user))
    from grants.calls.permissions import visible_unit_ids

    units = visible_unit_ids(current_user)
    rows = db.session.scalars(sa.select(Call).where(
        Call.host_unit_id.in_(units), Call.status.in_((CallStatus.PUBLISHED, CallStatus.REVIEWING, CallStatus.NOTICE,
                                                       CallStatus.FINALIZED)))
        .order_by(Call.year.desc(), Call.id.desc())).all()
    counts: dict[int, dict[str, int]] = {}
    for call_id, total, done in db.session.execute(
            sa.select(Application.call_id, sa.func.count(ReviewAssignment.id),
                      sa.func.count(Review.id).filter(Review.status == ReviewStatus.SUBMITTED))
            .join(ReviewAssignment, ReviewAssignment.application_id == Application.id)
            .outerjoin(Review, Review.assignment_id == ReviewAssignment.id)
            .where(Application.call_id.in_([c.id for c in rows])).group_by(Application.call_id)):
        counts[call_id] = {"assigned": total, "submitted": done}
    return render_template("reviews/calls.html", calls=rows, counts=counts)


def _call_for_view(call_id: int) -> Call:
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_review(current_user, call))
    return call


def _call_for_manage(call_id: int) -> Call:
    call = get_or_404(Call, call_id)
    ensure(perm.can_manage_review(current_user, call))
    return call


def _expert_choices(users) -> list:
    return choices([(u.id, f"{u.display_name}（{u.affiliation or u.username}）") for u in users])


@bp.route("/calls/<int:call_id>/panel", methods=["GET", "POST"])
@login_required
def panel(call_id: int):
    """评审组: invite experts of the pool for the written and the pitch stage."""
    call = _call_for_view(call_id)
    can_manage = perm.can_manage_review(current_user, call)
    form = InviteForm()
    pool = svc.expert_pool()
    form.expert_id.choices = _expert_choices([p.user for p in pool])
    if not call.pitch_enabled:
        form.stage.choices = choices([("written", STAGE_LABELS[ReviewStage.WRITTEN])])
    if request.method == "POST":
        ensure(can_manage)
        if form.validate_on_submit():
            try:
                svc.invite_panel_member(call, db.session.get(User, form.expert_id.data), form.stage.data,
                                        current_user)
            except svc.ReviewError as exc:
                _fail(exc)
            else:
                db.session.commit()
                flash(_("已邀请专家加入评审组"), "success")
            return redirect(url_for("reviews.panel", call_id=call.id))
        flash(_form_errors(form), "danger")
    db.session.commit()
    members = svc.panel(call)
    profiles = {p.user_id: p for p in pool}
    return render_template("reviews/panel.html", call=call, members=members, profiles=profiles, form=form,
                           can_manage=can_manage, action_form=ActionForm())


@bp.route("/panel/<int:panel_member_id>/remove", methods=["POST"])
@login_required
def panel_remove(panel_member_id: int):
    member = get_or_404(PanelMember, panel_member_id)
    call = _call_for_manage(member.call_id)
    if ActionForm().validate_on_submit():
        try:
            svc.remove_panel_member(member, current_user)
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已移出评审组"), "success")
    return redirect(url_for("reviews.panel", call_id=call.id))


def _call_applications(call: Call, states) -> list[Application]:
    return list(db.session.scalars(sa.select(Application).where(
        Application.call_id == call.id, Application.status.in_(states)).order_by(Application.number,
                                                                                 Application.id)).unique())


def _app_choices(apps) -> list:
    return choices([(a.id, f"{a.number or a.id} {a.display_name}（{a.organization.name}）") for a in apps])


@bp.route("/calls/<int:call_id>/conflicts", methods=["GET", "POST"])
@login_required
def conflicts(call_id: int):
    """回避: recorded conflicts (auto, declared, officer) and the officer's own entries."""
    call = _call_for_view(call_id)
    can_manage = perm.can_manage_review(current_user, call)
    form = OfficerConflictForm()
    apps = _call_applications(call, (ApplicationStatus.ELIGIBLE, *svc.REVIEWED_STATES))
    members = svc.panel(call)
    experts = list({m.user_id: m.user for m in members}.values())
    form.application_id.choices = _app_choices(apps)
    form.expert_id.choices = _expert_choices(experts)
    if request.method == "POST":
        ensure(can_manage)
        if form.validate_on_submit():
            app = db.session.get(Application, form.application_id.data)
            expert = db.session.get(User, form.expert_id.data)
            if app is None or app.call_id != call.id or expert is None:
                abort(404)
            try:
                svc.set_officer_conflict(app, expert, form.reason.data, current_user)
            except svc.ReviewError as exc:
                _fail(exc)
            else:
                db.session.commit()
                flash(_("已登记回避：%(e)s — %(a)s", e=expert.display_name, a=app.number or app.id), "success")
            return redirect(url_for("reviews.conflicts", call_id=call.id))
        flash(_form_errors(form), "danger")
    rows = svc.call_conflicts(call)
    return render_template("reviews/conflicts.html", call=call, rows=rows, form=form, can_manage=can_manage,
                           action_form=ActionForm())


@bp.route("/calls/<int:call_id>/conflicts/detect", methods=["POST"])
@login_required
def conflicts_detect(call_id: int):
    call = _call_for_manage(call_id)
    if ActionForm().validate_on_submit():
        n = svc.detect_conflicts(call, current_user)
        db.session.commit()
        flash(_("系统识别新增 %(n)s 条回避", n=n), "success" if n == 0 else "warning")
    return redirect(url_for("reviews.conflicts", call_id=call.id))


@bp.route("/calls/<int:call_id>/assignments")
@login_required
def assignments(call_id: int):
    """分配评审: automatic and manual assignment, the assignments and each expert's progress."""
    call = _call_for_view(call_id)
    stage = request.args.get("stage", "written")
    if stage not in ("written", "pitch"):
        abort(404)
    can_manage = perm.can_manage_review(current_user, call)
    members = svc.panel(call, stage)
    experts = [m.user for m in members]
    apps = _call_applications(call, svc.ASSIGNABLE_PITCH if stage == "pitch"
                              else (*svc.ASSIGNABLE_WRITTEN, ApplicationStatus.SCORED))
    assign_form = AssignForm(stage=stage)
    assign_form.application_id.choices = _app_choices(apps)
    assign_form.expert_id.choices = _expert_choices(experts)
    auto_form = AutoAssignForm(stage=stage, n=call.reviewers_per_application if stage == "written" else len(experts))
    reassign_form = ReassignForm()
    reassign_form.expert_id.choices = _expert_choices(experts)
    rows = svc.call_assignments(call, stage)
    conflicted = {(c.expert_id, c.application_id) for c in svc.call_conflicts(call) if c.has_conflict}
    # Who each application may be moved to: the panel less the experts already on it (at this stage) and those
    # who declared a conflict with it — choosing one of them is refused anyway.
    taken: dict[int, set[int]] = {}
    for t in rows:
        taken.setdefault(t.application_id, set()).add(t.expert_id)
    reassign_to = {app_id: [e for e in experts if e.id not in ids and (e.id, app_id) not in conflicted]
                   for app_id, ids in taken.items()}
    return render_template(
        "reviews/assignments.html", call=call, stage=stage, rows=rows, progress=svc.expert_progress(call, stage),
        assign_form=assign_form, auto_form=auto_form, reassign_form=reassign_form, can_manage=can_manage,
        conflicted=conflicted, reassign_to=reassign_to, action_form=ActionForm(), shortlist_form=ShortlistForm(size=call.pitch_shortlist_size),
        apps=apps, experts=experts,
        call_closed=call.close_at is not None and call.is_closed_for_applications,
    )


@bp.route("/calls/<int:call_id>/assignments/auto", methods=["POST"])
@login_required
def auto_assign(call_id: int):
    call = _call_for_manage(call_id)
    form = AutoAssignForm()
    stage = form.stage.data or "written"
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(url_for("reviews.assignments", call_id=call.id, stage=stage))
    try:
        created, warnings = svc.auto_assign(call, stage, current_user, n=form.n.data or None)
    except svc.ReviewError as exc:
        _fail(exc)
    else:
        db.session.commit()
        flash(_("自动分配完成：新增 %(n)s 个评审任务", n=created), "success")
        for w in warnings[:10]:
            flash(w, "warning")
        if len(warnings) > 10:
            flash(_("另有 %(n)s 份申报专家不足", n=len(warnings) - 10), "warning")
    return redirect(url_for("reviews.assignments", call_id=call.id, stage=stage))


@bp.route("/calls/<int:call_id>/assignments/manual", methods=["POST"])
@login_required
def assign(call_id: int):
    call = _call_for_manage(call_id)
    form = AssignForm()
    stage = form.stage.data or "written"
    members = svc.panel(call, stage)
    form.expert_id.choices = _expert_choices([m.user for m in members])
    form.application_id.choices = _app_choices(_call_applications(
        call, svc.ASSIGNABLE_PITCH if stage == "pitch" else (*svc.ASSIGNABLE_WRITTEN, ApplicationStatus.SCORED)))
    if form.validate_on_submit():
        try:
            svc.assign_expert(db.session.get(Application, form.application_id.data),
                              db.session.get(User, form.expert_id.data), stage, current_user)
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已分配"), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.assignments", call_id=call.id, stage=stage))


@bp.route("/calls/<int:call_id>/assignments/batch", methods=["POST"])
@login_required
def batch_assign(call_id: int):
    """对所选申报分配 / 撤销 one expert: each application through assign_expert or remove_assignment in its own
    transaction (panel, conflicts, state and submitted reviews checked per item); refusals listed."""
    from grants.core.batch import render_outcome, run_batch, selected_ids

    call = _call_for_manage(call_id)
    stage = request.form.get("stage", "written")
    back = url_for("reviews.assignments", call_id=call.id, stage=stage if stage in ("written", "pitch") else "written")
    action = request.form.get("batch_action", "")
    expert = db.session.get(User, int_or_none(request.form.get("expert_id"), minimum=1) or 0)
    if not ActionForm().validate_on_submit() or stage not in ("written", "pitch") or action not in ("assign", "unassign"):
        flash(_("表单有误，请刷新页面后重试"), "danger")
        return redirect(back)
    if expert is None or expert.id not in {m.user_id for m in svc.panel(call, stage)}:
        flash(_("请选择该环节评审组中的专家"), "danger")
        return redirect(back)
    ids = selected_ids()
    if not ids:
        flash(_("请先勾选要处理的项"), "warning")
        return redirect(back)

    def act(application):
        if action == "assign":
            svc.assign_expert(application, expert, stage, current_user)
            return
        assignment = db.session.scalar(sa.select(ReviewAssignment).where(
            ReviewAssignment.application_id == application.id, ReviewAssignment.expert_id == expert.id,
            ReviewAssignment.stage == stage))
        if assignment is None:
            raise svc.ReviewError(_("该专家未分配评审此申报"))
        svc.remove_assignment(assignment, current_user, reason=_("主管撤销"))

    label = _("分配给 %(n)s", n=expert.display_name) if action == "assign" else _("撤销 %(n)s 的评审", n=expert.display_name)
    outcome = run_batch(label, ids, lambda i: db.session.get(Application, i), lambda a: a.call_id == call.id, act,
                        label=lambda a: f"{a.number or a.id} {a.display_name}（{a.organization.name}）")
    return render_outcome(outcome, back, _("返回分配评审"))


@bp.route("/assignments/<int:assignment_id>/reassign", methods=["POST"])
@login_required
def reassign(assignment_id: int):
    assignment = get_or_404(ReviewAssignment, assignment_id)
    call = _call_for_manage(assignment.application.call_id)
    stage = assignment.stage
    form = ReassignForm()
    form.expert_id.choices = _expert_choices([m.user for m in svc.panel(call, stage)])
    if form.validate_on_submit():
        try:
            svc.reassign(assignment, db.session.get(User, form.expert_id.data), current_user,
                         reason=form.reason.data or "")
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已改派"), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.assignments", call_id=call.id, stage=stage))


@bp.route("/assignments/<int:assignment_id>/remove", methods=["POST"])
@login_required
def unassign(assignment_id: int):
    assignment = get_or_404(ReviewAssignment, assignment_id)
    call = _call_for_manage(assignment.application.call_id)
    stage = assignment.stage
    if ActionForm().validate_on_submit():
        try:
            svc.remove_assignment(assignment, current_user, reason=_("主管撤销"))
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已撤销该评审任务"), "success")
    return redirect(url_for("reviews.assignments", call_id=call.id, stage=stage))


@bp.route("/reviews/<int:review_id>", methods=["GET"])
@login_required
def review_detail(review_id: int):
    """One expert's review, for officers and auditors; the officer may reopen it with a reason."""
    rv = get_or_404(Review, review_id)
    call = _call_for_view(rv.assignment.application.call_id)
    return render_template("reviews/review_detail.html", review=rv, call=call, application=rv.assignment.application,
                           criteria=call.criteria_for(rv.stage), form=ReopenForm(),
                           can_reopen=perm.can_reopen_review(current_user, rv))


@bp.route("/reviews/<int:review_id>/reopen", methods=["POST"])
@login_required
def reopen(review_id: int):
    rv = get_or_404(Review, review_id)
    ensure(perm.can_reopen_review(current_user, rv))
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            svc.reopen_review(rv, form.reason.data, current_user)
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已退回该评分，专家可修改后重新提交"), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.review_detail", review_id=rv.id))


# --- ranking, shortlist, export ------------------------------------------------------------------

@bp.route("/calls/<int:call_id>/ranking")
@login_required
def ranking(call_id: int):
    """评审结果排序: overall and per category, with spread, flags, z-score advice and the tie-break."""
    call = _call_for_view(call_id)
    # The stored ranking (recomputed only when a change made it stale); the page reads RANKING_PER_PAGE rows
    # of it (a provincial call has 10,000).
    from grants.reviews import ranking_store

    ranking_store.ensure_ranking(call)
    category = int_arg("category")
    number = int_arg("page", 1, minimum=1, maximum=10**6)
    rows, total = ranking_store.ranking_page(call, offset=(number - 1) * RANKING_PER_PAGE, limit=RANKING_PER_PAGE,
                                             category=category)
    page = Page(items=rows, page=number, per_page=RANKING_PER_PAGE, total=total)
    return render_template(
        "reviews/ranking.html", call=call, rows=page.items, page=page, category=category,
        tie_break=svc.tie_break_text(call), threshold=svc.spread_threshold(),
        can_manage=perm.can_manage_review(current_user, call), shortlist_form=ShortlistForm(
            size=call.pitch_shortlist_size))


@bp.route("/calls/<int:call_id>/shortlist", methods=["POST"])
@login_required
def shortlist(call_id: int):
    call = _call_for_manage(call_id)
    form = ShortlistForm()
    if form.validate_on_submit():
        try:
            chosen = svc.shortlist(call, form.size.data, current_user, per_category=form.per_category.data)
        except svc.ReviewError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已确定 %(n)s 个项目入围路演", n=len(chosen)), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.ranking", call_id=call.id))


@bp.route("/calls/<int:call_id>/scores.xlsx")
@login_required
def score_sheet(call_id: int):
    """评分明细表: every expert × criterion, one sheet per stage."""
    call = _call_for_view(call_id)
    data = score_sheet_workbook(call)
    return xlsx_response(data, f"{call.year}-{call.title}-专家评分明细.xlsx")

