"""Award pages: the officer's draft with budget bars, approval, the notice and objections, finalize, the
PDF summary (评审结果汇总表), the public 公示 pages with the objection form, and applicant feedback."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.models import Role
from grants.applications.models import Application
from grants.awards import bp
from grants.awards import permissions as perm
from grants.awards import services
from grants.awards.forms import (
    AdjustForm, AllocationForm, ExcludeForm, HandleObjectionForm, IncludeForm, ObjectionForm, PublishForm, ReopenForm,
)
from grants.awards.models import (
    AWARD_STATUS_LABELS, ACTIVE_AWARD_STATUSES, Award, Objection, ObjectionEvidence, PublicNotice,
)
from grants.awards.services import AwardError
from grants.calls.models import Call, CallStatus
from grants.core.forms import choices
from grants.core.money import yuan
from grants.core.pdf import pdf_response, render_pdf
from grants.core.storage import send_stored
from grants.core.timeutil import now
from grants.core.web import Page, ensure, get_or_404, int_arg
from grants.core import captcha
from grants.extensions import db, limiter
from grants.organizations.services import unit_subtree_ids

AWARD_STAGES = (CallStatus.REVIEWING, CallStatus.NOTICE, CallStatus.FINALIZED, CallStatus.ARCHIVED)


# --- officer: list and draft ------------------------------------------------------------

@bp.route("/awards")
@login_required
def index():
    """Calls at the award stage: the officer's/auditor's unit subtree; for an admin, every call to approve."""
    ensure(perm.can_list_awards(current_user))
    stmt = sa.select(Call).where(Call.status.in_(AWARD_STAGES))
    if current_user.has_role(Role.OFFICER, Role.AUDITOR):
        ids = unit_subtree_ids(current_user.host_unit_id)
        if current_user.has_role(Role.ADMIN):
            stmt = stmt.where(sa.or_(Call.host_unit_id.in_(ids), Call.status == CallStatus.REVIEWING))
        else:
            stmt = stmt.where(Call.host_unit_id.in_(ids))
    else:
        stmt = stmt.where(Call.status == CallStatus.REVIEWING)
    calls = list(db.session.scalars(stmt.order_by(Call.year.desc(), Call.id.desc())).unique())
    counts = dict(db.session.execute(
        sa.select(Award.call_id, sa.func.count(Award.id)).where(
            Award.call_id.in_([c.id for c in calls]), Award.status.in_(ACTIVE_AWARD_STATUSES))
        .group_by(Award.call_id)).all()) if calls else {}
    return render_template("awards/index.html", calls=calls, counts=counts)


DRAFT_PER_PAGE = 50


def _budget_bars(call: Call, usage: dict) -> dict:
    sources = [dict(label=s.label, used=usage["by_source"].get(s.id, 0), limit=s.amount_fen)
               for s in call.funding_sources]
    cats = [dict(label=c.name, used=usage["by_category"].get(c.id, 0), limit=c.quota_fen) for c in call.categories]
    return {"total": dict(label=_("活动预算合计"), used=usage["total"], limit=call.total_budget_fen),
            "sources": sources, "categories": cats}


def _draft_page_of(call: Call, application_id: int | None) -> int | None:
    """The page of the draft that shows `application_id` (where a failed form or a redirect goes back to)."""
    from grants.reviews import ranking_store

    rank = ranking_store.rank_of(call, application_id) if application_id else None
    return None if rank is None else (rank - 1) // DRAFT_PER_PAGE + 1


def _draft_url(call: Call, application_id: int | None = None) -> str:
    page = _draft_page_of(call, application_id)
    url = url_for("awards.draft", call_id=call.id, page=page if page and page > 1 else None)
    return url + (f"#app-{application_id}" if application_id else "")


def _render_draft(call: Call, *, failed: dict | None = None, status: int = 200, focus: int | None = None):
    """One page of the ranking (DRAFT_PER_PAGE rows of the stored ranking, with their awards) and the
    whole call's budget and quota summary computed in SQL; `focus` (an application id) picks the page that
    shows it, for a form that failed."""
    from grants.reviews import ranking_store

    ranking_store.ensure_ranking(call)
    number = _draft_page_of(call, focus) if focus else None
    number = number or int_arg("page", 1, minimum=1, maximum=10**6)
    ranking, total = ranking_store.ranking_page(call, offset=(number - 1) * DRAFT_PER_PAGE, limit=DRAFT_PER_PAGE)
    page = Page(items=ranking, page=number, per_page=DRAFT_PER_PAGE, total=total)
    ids = [row.application.id for row in ranking]
    by_app = {a.application_id: a for a in db.session.scalars(
        sa.select(Award).where(Award.application_id.in_(ids), Award.status.in_(ACTIVE_AWARD_STATUSES))
        .options(selectinload(Award.allocations))).unique()} if ids else {}
    summary = services.AwardSummary(call)
    notice = services.notice_of(call)
    preview = warning = None
    if call.status == CallStatus.REVIEWING:
        try:
            preview = services.notice_period(call)
        except AwardError as exc:
            warning = exc.message
    from grants.applications.duplicates import duplicate_flags, reviews_of

    dup_flags = duplicate_flags(db.session.scalars(sa.select(Application).where(Application.id.in_(ids))).unique()
                                if ids else [])
    dup_reviews = reviews_of(dup_flags)
    approved = summary.approved
    ctx = dict(
        call=call, summary=summary, ranking=ranking, page=page, by_app=by_app, bars=_budget_bars(call, summary.usage),
        problems=services.budget_check(call, summary=summary), notice=notice, preview=preview, warning=warning,
        approved=approved, failed=failed or {},
        can_draft=perm.can_draft_awards(current_user, call) and not approved,
        can_approve=perm.can_approve_awards(current_user, call) and summary.draft_count > 0,
        approval_problem=services.approval_problem(call, current_user) if summary.draft_count else None,
        can_publish=perm.can_publish_notice(current_user, call) and approved and notice is None,
        can_reopen=perm.can_approve_awards(current_user, call) and approved and notice is None,
        can_export=perm.can_export_summary(current_user, call),
        publish_form=PublishForm(), awardable=services.AWARDABLE, yuan_plain=_yuan_plain,
        dup_flags=dup_flags, dup_reviews=dup_reviews, below_line=services.below_score_line,
    )
    return render_template("awards/draft.html", **ctx), status


def _yuan_plain(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}" if fen % 100 else str(fen // 100)


@bp.route("/awards/calls/<int:call_id>")
@login_required
def draft(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_awards(current_user, call))
    return _render_draft(call)


@bp.route("/awards/calls/<int:call_id>/propose", methods=["POST"])
@login_required
def propose(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_draft_awards(current_user, call))
    try:
        awards = services.propose_awards(call, current_user)
    except (AwardError, ImportError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", _("尚无评审排名")), "danger")
        return redirect(url_for("awards.draft", call_id=call.id))
    db.session.commit()
    flash(_("已按排名生成资助方案草案：%(n)s 个项目", n=len(awards)), "success")
    return redirect(url_for("awards.draft", call_id=call.id))


@bp.route("/awards/<int:award_id>/adjust", methods=["POST"])
@login_required
def adjust(award_id: int):
    award = get_or_404(Award, award_id)
    ensure(perm.can_draft_awards(current_user, award.call))
    form = AdjustForm()
    if form.validate_on_submit():
        try:
            services.adjust_award(award, form.amount.fen, form.reason.data, current_user)
        except AwardError as exc:
            db.session.rollback()
            return _render_draft(award.call, failed={"adjust": award.id, "form": form, "problems": exc.problems},
                                 status=422, focus=award.application_id)
        db.session.commit()
        flash(_("已调整“%(name)s”的资助金额", name=award.application.display_name), "success")
        return redirect(_draft_url(award.call, award.application_id))
    return _render_draft(award.call, failed={"adjust": award.id, "form": form, "problems": []}, status=422,
                         focus=award.application_id)


@bp.route("/awards/<int:award_id>/allocation", methods=["POST"])
@login_required
def allocation(award_id: int):
    """The officer sets the award's split across funding sources, or goes back to the proposed split."""
    award = get_or_404(Award, award_id)
    ensure(perm.can_draft_awards(current_user, award.call))
    form = AllocationForm()
    call = award.call
    if not form.validate_on_submit():
        return _render_draft(call, failed={"allocation": award.id, "problems": [_("表单已过期，请刷新页面后重试")]},
                             status=422, focus=award.application_id)
    shares, problems = form.shares(call.funding_sources)
    if not problems:
        try:
            if form.reset.data:
                services.reset_award_allocation(award, current_user)
            else:
                services.set_award_allocation(award, shares, current_user)
        except AwardError as exc:
            db.session.rollback()
            problems = exc.problems
    if problems:
        return _render_draft(call, failed={"allocation": award.id, "problems": problems, "posted": request.form},
                             status=422, focus=award.application_id)
    db.session.commit()
    flash(_("已更新“%(name)s”的资金来源分摊", name=award.application.display_name), "success")
    return redirect(_draft_url(call, award.application_id))


@bp.route("/awards/<int:award_id>/exclude", methods=["POST"])
@login_required
def exclude(award_id: int):
    award = get_or_404(Award, award_id)
    ensure(perm.can_draft_awards(current_user, award.call))
    form = ExcludeForm()
    call = award.call
    if form.validate_on_submit():
        try:
            services.exclude_award(award, form.reason.data, current_user)
        except AwardError as exc:
            db.session.rollback()
            return _render_draft(call, failed={"exclude": award.id, "form": form, "problems": exc.problems},
                                 status=422, focus=award.application_id)
        db.session.commit()
        flash(_("已将该项目移出资助方案"), "success")
        return redirect(url_for("awards.draft", call_id=call.id))
    return _render_draft(call, failed={"exclude": award.id, "form": form, "problems": []}, status=422,
                         focus=award.application_id)


@bp.route("/awards/calls/<int:call_id>/include", methods=["POST"])
@login_required
def include(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_draft_awards(current_user, call))
    form = IncludeForm()
    try:
        app_id = int(form.application_id.data or 0)
    except ValueError:
        abort(400)
    application = get_or_404(Application, app_id)
    if application.call_id != call.id:
        abort(404)
    if form.validate_on_submit():
        try:
            services.include_application(call, application, form.amount.fen, form.reason.data, current_user)
        except AwardError as exc:
            db.session.rollback()
            return _render_draft(call, failed={"include": app_id, "form": form, "problems": exc.problems},
                                 status=422, focus=app_id)
        db.session.commit()
        flash(_("已将“%(name)s”纳入资助方案", name=application.display_name), "success")
        return redirect(_draft_url(call, app_id))
    return _render_draft(call, failed={"include": app_id, "form": form, "problems": []}, status=422, focus=app_id)


@bp.route("/awards/calls/<int:call_id>/approve", methods=["POST"])
@login_required
def approve(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_approve_awards(current_user, call))
    try:
        services.approve_awards(call, current_user)
    except AwardError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("awards.draft", call_id=call.id))
    db.session.commit()
    flash(_("资助方案已审批通过，经办人可以发布公示"), "success")
    return redirect(url_for("awards.draft", call_id=call.id))


@bp.route("/awards/calls/<int:call_id>/reopen", methods=["POST"])
@login_required
def reopen(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_approve_awards(current_user, call))
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(_("请填写退回理由"), "danger")
        return redirect(url_for("awards.draft", call_id=call.id))
    try:
        services.reopen_awards(call, form.reason.data, current_user)
    except AwardError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("awards.draft", call_id=call.id))
    db.session.commit()
    flash(_("资助方案已退回修改，修改后须重新审批"), "success")
    return redirect(url_for("awards.draft", call_id=call.id))


@bp.route("/awards/calls/<int:call_id>/publish", methods=["POST"])
@login_required
def publish(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_publish_notice(current_user, call))
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        notice = services.publish_notice(call, current_user, show_panel_names=form.show_panel_names.data)
    except AwardError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("awards.draft", call_id=call.id))
    db.session.commit()
    flash(_("公示已发布：%(a)s 至 %(b)s", a=notice.starts_on.isoformat(), b=notice.ends_on.isoformat()), "success")
    return redirect(url_for("awards.notice", call_id=call.id))


# --- officer: notice, objections, finalize ------------------------------------------------------

@bp.route("/awards/calls/<int:call_id>/notice")
@login_required
def notice(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_awards(current_user, call))
    notice = services.notice_of(call)
    if notice is None:
        return redirect(url_for("awards.draft", call_id=call.id))
    objections = list(db.session.scalars(sa.select(Objection).where(Objection.notice_id == notice.id)
                                         .order_by(Objection.status != "open", Objection.id)).unique())
    awards = services.awards_of(call, active_only=False)
    # For each open objection: who would be promoted if it were upheld (the ranking is computed once).
    candidates = {}
    open_ones = [o for o in objections if o.status == "open" and o.award is not None]
    if open_ones and call.status == CallStatus.NOTICE:
        ranking = services._safe_ranking(call)
        active = [a for a in awards if a.is_active]
        taken = {a.application_id for a in awards}
        candidates = {o.id: services.promotion_candidate(call, freeing=o.award, ranking=ranking, awards=active,
                                                         taken=taken) for o in open_ones}
    return render_template(
        "awards/notice.html", call=call, notice=notice, objections=objections, awards=awards,
        finalize_problems=services.finalize_problems(call) if call.status == CallStatus.NOTICE else [],
        can_finalize=perm.can_finalize(current_user, call), can_handle=perm.can_finalize(current_user, call),
        handle_form=HandleObjectionForm(), candidates=candidates, can_export=perm.can_export_summary(current_user, call))


@bp.route("/awards/calls/<int:call_id>/objections.xlsx")
@login_required
def objections_export(call_id: int):
    """异议 of the call's notice as a workbook (the notice page's officers and auditors)."""
    from sqlalchemy.orm import selectinload

    from grants.awards.exports import objections_workbook
    from grants.core.excel import xlsx_response

    call = get_or_404(Call, call_id)
    ensure(perm.can_view_awards(current_user, call))
    notice = services.notice_of(call)
    objections = [] if notice is None else db.session.scalars(
        sa.select(Objection).where(Objection.notice_id == notice.id)
        .options(selectinload(Objection.handled_by)).order_by(Objection.id)).unique()
    return xlsx_response(objections_workbook(call, objections), f"{call.year}-{call.title}-异议.xlsx")


@bp.route("/awards/objections/<int:objection_id>/handle", methods=["POST"])
@login_required
def handle_objection(objection_id: int):
    objection = get_or_404(Objection, objection_id)
    ensure(perm.can_handle_objection(current_user, objection))
    form = HandleObjectionForm()
    call = objection.notice.call
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "danger")
        return redirect(url_for("awards.notice", call_id=call.id) + f"#objection-{objection.id}")
    try:
        promoted = services.handle_objection(objection, form.decision.data, form.reason.data, current_user,
                                             promote=form.promote.data)
    except AwardError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("awards.notice", call_id=call.id) + f"#objection-{objection.id}")
    db.session.commit()
    flash(_("异议已处理：%(s)s", s=objection.status_label), "success")
    if promoted is not None:
        flash(_("已递补“%(name)s”，资助 %(amount)s", name=promoted.application.display_name,
                amount=yuan(promoted.amount_fen)), "info")
    return redirect(url_for("awards.notice", call_id=call.id))


@bp.route("/awards/calls/<int:call_id>/finalize", methods=["POST"])
@login_required
def finalize(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_finalize(current_user, call))
    try:
        confirmed = services.finalize_notice(call, current_user)
    except AwardError as exc:
        db.session.rollback()
        for p in exc.problems:
            flash(p, "danger")
        return redirect(url_for("awards.notice", call_id=call.id))
    db.session.commit()
    flash(_("已定项：%(n)s 个项目确认立项，已通知申报单位", n=len(confirmed)), "success")
    return redirect(url_for("awards.notice", call_id=call.id))


@bp.route("/awards/calls/<int:call_id>/summary.pdf")
@login_required
def summary_pdf(call_id: int):
    """评审结果汇总表: the ranking and the award list, with signature lines for the panel."""
    call = get_or_404(Call, call_id)
    ensure(perm.can_export_summary(current_user, call))
    data = render_pdf("awards/pdf_summary.html", **_summary_context(call))
    return pdf_response(data, f"评审结果汇总表-{call.title}.pdf")


def _panel_names(call: Call) -> list[str]:
    try:
        from grants.reviews.services import panel
    except ImportError:
        return []
    seen, names = set(), []
    for member in panel(call):
        if member.user_id not in seen:
            seen.add(member.user_id)
            names.append(member.user.display_name)
    return names


def _summary_context(call: Call) -> dict:
    awards = {a.application_id: a for a in services.awards_of(call, active_only=False)}
    ranking = services._safe_ranking(call)
    active = [a for a in awards.values() if a.is_active]
    return dict(call=call, ranking=ranking, awards=awards, panel=_panel_names(call),
                bars=_budget_bars(call, services.budget_usage(call, active)),
                total=sum(a.amount_fen for a in active), count=len(active), notice=services.notice_of(call),
                generated_at=now(), AWARD_STATUS_LABELS=AWARD_STATUS_LABELS)


# --- applicant feedback -------------------------------------------------------------------

@bp.route("/awards/applications/<int:application_id>/feedback")
@login_required
def feedback(application_id: int):
    """Unfunded applicants see their scores and the experts' comments, never the experts' names."""
    application = get_or_404(Application, application_id)
    ensure(perm.can_view_feedback(current_user, application))
    from grants.reviews.services import feedback_for_applicant

    return render_template("awards/feedback.html", application=application,
                           feedback=feedback_for_applicant(application))


# --- public (no log-in) ---------------------------------------------------------------------

def _public_notice_or_404(call_id: int) -> PublicNotice:
    notice = db.session.scalar(sa.select(PublicNotice).where(PublicNotice.call_id == call_id))
    if notice is None:
        abort(404)
    return notice


@bp.route("/public/notices")
def public_notices():
    notices = list(db.session.scalars(sa.select(PublicNotice).order_by(PublicNotice.published_at.desc())).unique())
    return render_template("awards/public_list.html", notices=notices)


@bp.route("/public/notices/<int:call_id>")
def public_notice(call_id: int):
    """公示: projects, organisations, amounts, dates (and the panel if the call says so); no personal data."""
    notice = _public_notice_or_404(call_id)
    awards = services.awards_of(notice.call, active_only=False)
    return render_template("awards/public_notice.html", notice=notice, call=notice.call, awards=awards,
                           panel=_panel_names(notice.call) if notice.show_panel_names else [])


@bp.route("/public/notices/<int:call_id>/objection", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_OBJECTION"], methods=["POST"])
def public_objection(call_id: int):
    """Anyone may object during the notice; name and contact are required and never shown publicly. A CAPTCHA and
    a limit per source address keep scripts from flooding the officers with objections."""
    notice = _public_notice_or_404(call_id)
    awards = [a for a in services.awards_of(notice.call) if a.status in ("approved", "confirmed")]
    form = ObjectionForm()
    form.application_id.choices = choices([(0, _("请选择"))] + [
        (a.application_id, f"{a.application.display_name}（{a.organization.name}）") for a in awards])
    not_yet = not notice.has_started and notice.finalized_at is None
    closed = not notice.is_open_for_objections
    captcha_error = None
    if request.method == "POST" and not closed and form.validate_on_submit():
        app = next((a.application for a in awards if a.application_id == form.application_id.data), None)
        if captcha.enabled() and not captcha.check(request.form.get("captcha")):
            captcha_error = _("图形验证码不正确，请重新输入")
        elif app is None:
            form.application_id.errors.append(_("请选择公示名单中的项目"))
        else:
            try:
                objection = services.file_objection(notice, app, name=form.objector_name.data,
                                                    contact=form.contact.data, content=form.content.data,
                                                    evidence=request.files.getlist("evidence"))
            except AwardError as exc:
                db.session.rollback()
                field = getattr(form, exc.field, None) if exc.field else None
                if field is not None:
                    field.errors = [*field.errors, exc.message]
                else:
                    flash(exc.message, "danger")
                    closed = not notice.is_open_for_objections
            else:
                receipt = objection.receipt_no
                db.session.commit()
                return render_template("awards/public_objection_done.html", notice=notice, call=notice.call,
                                       receipt_no=receipt, contact=form.contact.data)
    elif request.method == "POST" and closed:
        flash(_("公示期自 %(d)s 开始，届时方可提出异议", d=notice.starts_on.isoformat()) if not_yet
              else _("公示期已结束，不再受理异议"), "danger")
        return render_template("awards/public_objection.html", notice=notice, call=notice.call, form=form,
                               closed=True, not_yet=not_yet), 409
    status = 422 if request.method == "POST" else 200
    return render_template("awards/public_objection.html", notice=notice, call=notice.call, form=form,
                           closed=closed, not_yet=not_yet, captcha_error=captcha_error,
                           captcha_image=captcha.new_challenge() if captcha.enabled() and not closed else None), status


@bp.route("/awards/objections/<int:objection_id>/evidence/<int:evidence_id>")
@login_required
def objection_evidence(objection_id: int, evidence_id: int):
    """An objector's evidence file: for the officers and auditors who read the call's objections."""
    evidence = get_or_404(ObjectionEvidence, evidence_id)
    if evidence.objection_id != objection_id:
        abort(404)
    ensure(perm.can_view_awards(current_user, evidence.objection.notice.call))
    return send_stored(evidence.stored_file)


@bp.app_template_global()
def recent_public_notices(limit: int = 5) -> list[PublicNotice]:
    """For the public home page: the latest notices (open ones first)."""
    notices = list(db.session.scalars(sa.select(PublicNotice).order_by(PublicNotice.published_at.desc())
                                      .limit(20)).unique())
    notices.sort(key=lambda n: not n.is_open_for_objections)
    return notices[:limit]


@bp.app_template_global()
def notice_for_call(call: Call) -> PublicNotice | None:
    return db.session.scalar(sa.select(PublicNotice).where(PublicNotice.call_id == call.id))


@bp.app_template_global()
def award_feedback_visible(application: Application) -> bool:
    """For the applicant's application page: link to the review feedback once the call is finalized."""
    return perm.can_view_feedback(current_user, application)
