"""Report and assessment pages: the organisation writes and submits a report per gated tranche, the
officer returns or accepts it (assigning an evaluator), the evaluator scores it; evidence downloads;
rectification deadline and withholding after it."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import contains_eager

from grants.accounts.models import User
from grants.assessments import bp
from grants.assessments import permissions as perm
from grants.assessments.forms import (
    AcceptForm, DeadlineForm, ReturnForm, TokenForm, parse_report_form, parse_score_form,
)
from grants.assessments.models import Assessment, ProgressReport, ReportEvidence
from grants.assessments.services import (
    AssessmentError, accept_report, band_ranges, bands_for, criteria_for, eligible_evaluators, report_problems, return_report,
    save_report, set_rectify_deadline, start_report, submit_assessment, submit_report, withhold_after_deadline,
)
from grants.contracts.models import Tranche
from grants.contracts.permissions import can_view_contract
from grants.core.forms import form_errors
from grants.core.inputs import int_or_none
from grants.core.states import IllegalTransition
from grants.core.storage import send_stored
from grants.core.web import ensure, get_or_404
from grants.extensions import db


def _to_contract(tranche_or_report):
    return redirect(url_for("contracts.detail", contract_id=tranche_or_report.contract.id))


@bp.route("/tranches/<int:tranche_id>/report", methods=["POST"], endpoint="start_report")
@login_required
def start_report_view(tranche_id: int):
    tranche = get_or_404(Tranche, tranche_id)
    ensure(perm.can_start_report(current_user, tranche))
    if not TokenForm().validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return _to_contract(tranche)
    try:
        report = start_report(tranche, current_user)
    except AssessmentError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _to_contract(tranche)
    db.session.commit()
    return redirect(url_for("assessments.edit_report", report_id=report.id))



@bp.route("/reports/<int:report_id>/edit", methods=["GET", "POST"])
@login_required
def edit_report(report_id: int):
    """The report form: "保存" keeps anything typed; "提交" saves, checks and submits."""
    report = get_or_404(ProgressReport, report_id)
    ensure(perm.can_edit_report(current_user, report))
    form = TokenForm()
    problems: dict = {}
    typed = None
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
            return _render_edit(report, form, {}, request.form, 400)
        achieved, spent, problems = parse_report_form(report, request.form)
        if problems:
            return _render_edit(report, form, problems, request.form, 400)
        remove = [i for i in (int_or_none(x, minimum=1) for x in request.form.getlist("remove_evidence")) if i]
        upload_problems = save_report(report, narrative=request.form.get("narrative", ""), achieved=achieved,
                                      spent=spent, actor=current_user, uploads=request.files.getlist("evidence"),
                                      remove_evidence=remove)
        if upload_problems:
            problems["evidence"] = "；".join(upload_problems)
        if form.action.data == "submit" and not problems:
            try:
                submit_report(report, current_user)
            except (AssessmentError, IllegalTransition) as exc:
                db.session.commit()  # what was typed is kept as a draft
                problems[getattr(exc, "field", None) or "narrative"] = exc.message
                return _render_edit(report, form, problems, None, 400)
            db.session.commit()
            flash(_("报告已提交，等待主管部门受理"), "success")
            return redirect(url_for("assessments.report", report_id=report.id))
        db.session.commit()
        if not problems:
            flash(_("已保存"), "success")
            return redirect(url_for("assessments.edit_report", report_id=report.id))
    return _render_edit(report, form, problems, typed, 400 if problems else 200)


@bp.route("/reports/<int:report_id>/autosave", methods=["POST"])
@login_required
def autosave_report(report_id: int):
    """自动保存 of the report form: the same permission and checks as 保存 (files go with 保存), JSON answer."""
    from flask import jsonify

    from grants.core.timeutil import format_local, now

    report = get_or_404(ProgressReport, report_id)
    ensure(perm.can_edit_report(current_user, report))
    if not TokenForm().validate_on_submit():
        return jsonify(ok=False, message=_("页面已过期，自动保存失败，请刷新页面后手动保存")), 400
    achieved, spent, problems = parse_report_form(report, request.form)
    if problems:
        return jsonify(ok=False, message=_("有 %(n)s 处内容有误，未自动保存，请修改", n=len(problems))), 409
    try:
        save_report(report, narrative=request.form.get("narrative", ""), achieved=achieved, spent=spent,
                    actor=current_user)
    except AssessmentError as exc:
        db.session.rollback()
        return jsonify(ok=False, message=_("未能自动保存：%(m)s", m=exc.message)), 409
    db.session.commit()
    saved = format_local(now(), "%H:%M")
    return jsonify(ok=True, saved_at=saved, message=_("已自动保存 %(t)s", t=saved))


def _render_edit(report, form, problems, typed, status=200):
    return render_template("assessments/report_form.html", r=report, c=report.contract, form=form,
                           problems=problems, typed=typed, missing=report_problems(report)), status


@bp.route("/reports/<int:report_id>")
@login_required
def report(report_id: int):
    r = get_or_404(ProgressReport, report_id)
    ensure(perm.can_view_report(current_user, r))
    assessment = db.session.scalar(sa.select(Assessment).where(Assessment.report_id == r.id))
    accept_form = None
    if perm.can_review_report(current_user, r):
        accept_form = AcceptForm()
        accept_form.set_choices(eligible_evaluators(r.contract))
        previous = db.session.scalar(sa.select(Assessment.evaluator_id).where(
            Assessment.tranche_id == r.tranche_id).order_by(Assessment.round.desc()).limit(1))
        if previous:
            accept_form.evaluator_id.data = str(previous)
    return render_template("assessments/report.html", r=r, c=r.contract, assessment=assessment,
                           accept_form=accept_form, return_form=ReturnForm(),
                           can_edit=perm.can_edit_report(current_user, r),
                           can_view_contract=can_view_contract(current_user, r.contract))


@bp.route("/reports/<int:report_id>/return", methods=["POST"], endpoint="return_report")
@login_required
def return_report_view(report_id: int):
    r = get_or_404(ProgressReport, report_id)
    ensure(perm.can_review_report(current_user, r))
    form = ReturnForm()
    if not form.validate_on_submit():
        flash(form_errors(form), "danger")
        return redirect(url_for("assessments.report", report_id=r.id))
    try:
        return_report(r, current_user, form.comment.data)
    except (AssessmentError, IllegalTransition) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("报告已退回"), "success")
    return redirect(url_for("assessments.report", report_id=r.id))



@bp.route("/reports/<int:report_id>/accept", methods=["POST"], endpoint="accept_report")
@login_required
def accept_report_view(report_id: int):
    r = get_or_404(ProgressReport, report_id)
    ensure(perm.can_review_report(current_user, r))
    form = AcceptForm()
    form.set_choices(eligible_evaluators(r.contract))
    if not form.validate_on_submit():
        flash(form_errors(form), "danger")
        return redirect(url_for("assessments.report", report_id=r.id))
    evaluator = db.session.get(User, int(form.evaluator_id.data))
    try:
        accept_report(r, current_user, evaluator, form.comment.data or "")
    except (AssessmentError, IllegalTransition) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("报告已受理，已指派评估人员 %(n)s", n=evaluator.display_name), "success")
    return redirect(url_for("assessments.report", report_id=r.id))



@bp.route("/reports/<int:report_id>/evidence/<int:evidence_id>")
@login_required
def evidence(report_id: int, evidence_id: int):
    r = get_or_404(ProgressReport, report_id)
    ensure(perm.can_download_evidence(current_user, r))
    ev = get_or_404(ReportEvidence, evidence_id)
    ensure(ev.report_id == r.id)
    return send_stored(ev.stored_file)


@bp.route("/assessments")
@login_required
def mine():
    """The evaluator's assessments: waiting first, then done."""
    ensure(perm.can_list_my_assessments(current_user))
    rows = db.session.scalars(
        sa.select(Assessment).where(Assessment.evaluator_id == current_user.id)
        .order_by(Assessment.status, Assessment.assigned_at.desc())).unique().all()
    return render_template("assessments/mine.html", rows=rows)


@bp.route("/assessments/<int:assessment_id>", methods=["GET", "POST"])
@login_required
def assessment(assessment_id: int):
    """Scoring (评分) by the assigned evaluator; a read-only view for the others who may see it."""
    a = get_or_404(Assessment, assessment_id)
    ensure(perm.can_view_assessment(current_user, a))
    contract = a.report.contract
    criteria = criteria_for(contract.call)
    form = TokenForm()
    problems, typed = {}, None
    can_score = perm.can_score_assessment(current_user, a)
    if request.method == "POST":
        ensure(can_score)
        typed = request.form
        if not form.validate_on_submit():
            problems["form"] = _("表单安全校验失败，请刷新页面后重试")
        else:
            points, satisfaction, problems = parse_score_form(criteria, request.form)
            if not problems:
                try:
                    submit_assessment(a, current_user, points=points, satisfaction_pct=satisfaction,
                                             comment=request.form.get("comment", ""))
                except (AssessmentError, IllegalTransition) as exc:
                    db.session.rollback()
                    problems[getattr(exc, "field", None) or "form"] = exc.message
                else:
                    db.session.commit()
                    flash(_("评估已提交：%(s)s 分，%(g)s", s=a.total_score, g=a.grade_label), "success")
                    return redirect(url_for("assessments.assessment", assessment_id=a.id))
    elif can_score:
        db.session.commit()  # the default rubric may just have been created
    scores = {s.criterion_id: s.points for s in a.scores}
    return render_template("assessments/assessment.html", a=a, r=a.report, c=contract, criteria=criteria,
                           bands=bands_for(contract.call), scores=scores, form=form, problems=problems,
                           typed=typed, can_score=can_score), (400 if problems else 200)


@bp.route("/tranches/<int:tranche_id>/rectify-deadline", methods=["POST"])
@login_required
def rectify_deadline(tranche_id: int):
    tranche = get_or_404(Tranche, tranche_id)
    ensure(perm.can_manage_rectification(current_user, tranche))
    form = DeadlineForm()
    if not form.validate_on_submit():
        flash(form_errors(form), "danger")
        return _to_contract(tranche)
    try:
        set_rectify_deadline(tranche, current_user, form.due_on.data)
    except AssessmentError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("整改期限已改为 %(d)s", d=form.due_on.data.isoformat()), "success")
    return _to_contract(tranche)


@bp.route("/tranches/<int:tranche_id>/withhold", methods=["POST"])
@login_required
def withhold(tranche_id: int):
    tranche = get_or_404(Tranche, tranche_id)
    ensure(perm.can_manage_rectification(current_user, tranche))
    if not TokenForm().validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return _to_contract(tranche)
    try:
        withhold_after_deadline(tranche, current_user)
    except (AssessmentError, IllegalTransition) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("该节点资金不予拨付"), "success")
    return _to_contract(tranche)



@bp.route("/calls/<int:call_id>/assessment-rubric", methods=["GET", "POST"])
@login_required
def rubric(call_id: int):
    """评估指标 of a call: scored items adding up to 100, plus bonus and penalty items."""
    from grants.assessments.models import CRITERION_KIND_LABELS
    from grants.assessments.services import rubric_locked, set_assessment_criteria
    from grants.calls.models import Call

    call = get_or_404(Call, call_id)
    ensure(perm.can_edit_rubric(current_user, call))
    form = TokenForm()
    problems, rows = {}, None
    if request.method == "POST":
        if not form.validate_on_submit():
            problems["form"] = _("表单安全校验失败，请刷新页面后重试")
        else:
            rows = _rubric_rows(request.form)
            problems = set_assessment_criteria(call, rows, current_user)
            if not problems:
                db.session.commit()
                flash(_("评估指标已保存"), "success")
                return redirect(url_for("assessments.rubric", call_id=call.id))
            db.session.rollback()
    if rows is None:
        rows = [{"name": c.name, "max_points": c.max_points, "kind": c.kind} for c in criteria_for(call)]
        db.session.commit()  # the default rubric may just have been created
    return render_template("assessments/rubric.html", call=call, rows=rows, problems=problems, form=form,
                           kinds=CRITERION_KIND_LABELS, locked=rubric_locked(call),
                           bands=bands_for(call)), (400 if problems else 200)


def _rubric_rows(formdata) -> list[dict]:
    import re

    found: dict[int, dict] = {}
    for key in formdata.keys():
        m = re.match(r"^crit-(\d{1,2})-(name|max|kind)$", key)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = formdata.get(key, "").strip()
    rows = []
    for _i, row in sorted(found.items()):
        if not row.get("name") and not row.get("max"):
            continue  # an empty spare row
        raw = row.get("max", "")
        rows.append({"name": row.get("name", ""), "max_points": int_or_none(raw, minimum=0),
                     "kind": row.get("kind", "")})
    return rows


@bp.app_template_filter("band_ranges")
def band_ranges_filter(bands):
    """Score bands as ranges ("60 分以下 不合格"), for the assessment, rubric and call pages."""
    return band_ranges(bands)


# --- 进度报告 list for staff: due, overdue (催交 several at once), submitted; Excel export ---------------

REPORT_FILTERS = ("overdue", "due", "report_submitted", "rectifying", "all")
REPORT_PER_PAGE = 50


def _report_filters():
    """The list's filters as SQL (the page, its export and its batch share them), within the unit subtree."""
    from grants.calls.models import Call
    from grants.contracts.models import Contract
    from grants.core.timeutil import today_local
    from grants.organizations.models import Organization
    from grants.organizations.services import unit_subtree_ids

    from grants.assessments.services import report_overdue_condition

    units = unit_subtree_ids(current_user.host_unit_id)
    calls = db.session.scalars(sa.select(Call).where(Call.host_unit_id.in_(units))
                               .order_by(Call.year.desc(), Call.id.desc())).all()
    state = request.args.get("state", "overdue")
    if state not in REPORT_FILTERS:
        state = "overdue"
    conditions = [Tranche.trigger != "signing",
                  Tranche.contract_id.in_(sa.select(Contract.id).join(Call, Call.id == Contract.call_id)
                                          .where(Call.host_unit_id.in_(units)))]
    if state == "overdue":
        conditions.append(report_overdue_condition(today_local()))
    elif state != "all":
        conditions.append(Tranche.status == state)
    call_id = int_or_none(request.args.get("call_id"), minimum=1)
    if call_id:
        conditions.append(Tranche.contract_id.in_(sa.select(Contract.id).where(Contract.call_id == call_id)))
    q = (request.args.get("q") or "").strip()[:100]
    if q:
        like = f"%{q}%"
        conditions.append(Tranche.contract_id.in_(
            sa.select(Contract.id).join(Organization, Organization.id == Contract.organization_id)
            .where(sa.or_(Contract.number.ilike(like), Contract.project_name.ilike(like), Organization.name.ilike(like)))))
    stmt = (sa.select(Tranche).join(Tranche.contract).where(*conditions)
            .options(contains_eager(Tranche.contract))
            .order_by(Tranche.due_on.asc().nulls_last(), Tranche.id))
    filters = {"state": state, "call_id": call_id, "q": q}
    return calls, filters, stmt, sa.select(sa.func.count(Tranche.id)).where(*conditions)


def _latest_reports(tranche_ids) -> dict[int, ProgressReport]:
    """Tranche id → its latest report (one query)."""
    latest: dict[int, ProgressReport] = {}
    if tranche_ids:
        for r in db.session.scalars(sa.select(ProgressReport).where(ProgressReport.tranche_id.in_(list(tranche_ids)))
                                    .order_by(ProgressReport.round)):
            latest[r.tranche_id] = r
    return latest


@bp.route("/reports")
@login_required
def reports():
    """进度报告 list: overdue first by report date; officers tick the overdue ones to 催交 them at once."""
    from grants.core.timeutil import today_local
    from grants.core.web import paginate

    ensure(perm.can_list_reports(current_user))
    calls, filters, stmt, count_stmt = _report_filters()
    page = paginate(stmt, per_page=REPORT_PER_PAGE, count_stmt=count_stmt)
    return render_template("assessments/reports.html", page=page, calls=calls, filters=filters,
                           latest=_latest_reports([t.id for t in page.items]), today=today_local(),
                           can_chase=perm.can_chase_reports(current_user), batch_form=TokenForm())


@bp.route("/reports.xlsx")
@login_required
def reports_export():
    from grants.assessments.exports import reports_workbook
    from grants.core.excel import xlsx_response
    from grants.core.timeutil import today_local

    ensure(perm.can_list_reports(current_user))
    _calls, _filters, stmt, _count = _report_filters()
    tranches = db.session.scalars(stmt).unique().all()
    return xlsx_response(reports_workbook(tranches, _latest_reports([t.id for t in tranches]), today_local()),
                         f"进度报告-{today_local().isoformat()}.xlsx")


@bp.route("/reports/chase", methods=["POST"])
@login_required
def chase_reports():
    """对所选项催交: each overdue report's organisation reminded through chase_report, one transaction each."""
    from grants.assessments.services import chase_report
    from grants.core.batch import render_outcome, run_batch, selected_ids

    ensure(perm.can_chase_reports(current_user))
    back = url_for("assessments.reports", **{k: v for k, v in request.args.items() if k != "page"})
    if not TokenForm().validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return redirect(back)
    ids = selected_ids()
    if not ids:
        flash(_("请先勾选要处理的项"), "warning")
        return redirect(back)
    outcome = run_batch(_("催交报告"), ids, lambda i: db.session.get(Tranche, i),
                        lambda t: perm.can_chase_report(current_user, t), lambda t: chase_report(t, current_user),
                        label=lambda t: f"{t.contract.number} · {t.contract.project_name} · {t.contract.party_b_name}"
                                        f" · {t.name}",
                        url=lambda t: url_for("contracts.detail", contract_id=t.contract_id))
    return render_outcome(outcome, back, _("返回进度报告列表"))
