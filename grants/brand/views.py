"""品牌项目 pages. Officers: the selections, one selection's page (nominations, panel, ranking, decision).
Experts: 品牌项目评审 tasks, the conflict declaration, the score sheet. Organisations: 自荐 and results."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.models import User
from grants.brand import bp
from grants.brand import permissions as perm
from grants.brand import services as svc
from grants.brand.forms import (
    AdvanceForm, DecideForm, DeclareForm, InviteForm, NominateForm, PutForwardForm, ReasonForm, ScoreForm,
    SelectionForm,
)
from grants.brand.models import (
    BrandConflict, BrandNomination, BrandPanelMember, BrandReview, BrandSelection, NominationStatus, SelectionStatus,
)
from grants.brand.states import SELECTION_WORKFLOW
from grants.calls.models import GRADE_LABELS
from grants.contracts.models import Contract
from grants.core.forms import choices
from grants.core.inputs import int_or_none
from grants.core.web import ensure, get_or_404, run_action
from grants.extensions import db


def _fail(exc) -> None:
    db.session.rollback()
    flash(exc.message, "danger")


def _apply(action, done: str) -> None:
    """Run one service call: commit and say `done`, or roll back and show the service's refusal."""
    run_action(action, done)


def _form_errors(form) -> str:
    return "；".join(str(e) for errs in form.errors.values() for e in errs) or _("表单有误")


def _selection(selection_id: int, *, manage: bool = False) -> BrandSelection:
    s = get_or_404(BrandSelection, selection_id)
    ensure(perm.can_manage_selection(current_user, s) if manage else perm.can_view_selection(current_user, s))
    return s


# --- officer ---------------------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    """品牌项目评选 of the caller's unit subtree: two queries whatever their number."""
    ensure(perm.can_list_selections(current_user))
    from grants.calls.permissions import visible_unit_ids

    rows = db.session.scalars(sa.select(BrandSelection).where(
        BrandSelection.host_unit_id.in_(visible_unit_ids(current_user)))
        .order_by(BrandSelection.year.desc(), BrandSelection.id.desc())).unique().all()
    counts: dict[int, dict[str, int]] = {}
    for sid, total, accepted, winners in db.session.execute(
            sa.select(BrandNomination.selection_id, sa.func.count(),
                      sa.func.count().filter(BrandNomination.status == NominationStatus.ACCEPTED),
                      sa.func.count().filter(BrandNomination.is_winner.is_(True)))
            .where(BrandNomination.selection_id.in_([s.id for s in rows])).group_by(BrandNomination.selection_id)):
        counts[sid] = {"total": total, "accepted": accepted, "winners": winners}
    return render_template("brand/index.html", selections=rows, counts=counts,
                           can_create=perm.can_create_selection(current_user))


def _call_choices(unit_id: int):
    from grants.calls.models import Call
    from grants.organizations.services import unit_subtree_ids

    calls = db.session.scalars(sa.select(Call).where(Call.host_unit_id.in_(unit_subtree_ids(unit_id)),
                                                     Call.status.in_(("finalized", "archived")))
                               .order_by(Call.year.desc(), Call.id.desc())).unique().all()
    return choices([(c.id, f"{c.year} · {c.title}") for c in calls])


def _save_selection(form: SelectionForm, selection: BrandSelection | None):
    try:
        criteria = svc.parse_criteria(form.criteria.data)
        values = dict(title=form.title.data, year=form.year.data, winners_count=form.winners_count.data,
                      scoring_deadline_at=form.scoring_deadline_at.data, call_ids=form.call_ids.data or [],
                      aggregation=form.aggregation.data, criteria=criteria)
        if selection is None:
            selection = svc.create_selection(current_user.host_unit_id, current_user, **values)
        else:
            selection = svc.update_selection(selection, current_user, **values)
    except svc.BrandError as exc:
        db.session.rollback()
        target = getattr(form, exc.field or "", None) or form.title
        target.errors = list(target.errors) + [exc.message]
        return None
    db.session.commit()
    return selection


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    ensure(perm.can_create_selection(current_user))
    form = SelectionForm()
    form.call_ids.choices = _call_choices(current_user.host_unit_id)
    if request.method == "GET":
        from grants.core.timeutil import today_local

        form.year.data = today_local().year
        form.winners_count.data = 5
        form.criteria.data = svc.criteria_text(None)
    elif form.validate_on_submit():
        s = _save_selection(form, None)
        if s is not None:
            flash(_("已创建品牌项目评选，请检查设置后开始推荐"), "success")
            return redirect(url_for("brand.detail", selection_id=s.id))
    return render_template("brand/form.html", form=form, selection=None), (200 if request.method == "GET"
                                                                            or not form.errors else 422)


@bp.route("/<int:selection_id>/edit", methods=["GET", "POST"])
@login_required
def edit(selection_id: int):
    s = get_or_404(BrandSelection, selection_id)
    ensure(perm.can_edit_selection(current_user, s))
    form = SelectionForm(obj=s if request.method == "GET" else None)
    form.call_ids.choices = _call_choices(s.host_unit_id)
    if request.method == "GET":
        form.criteria.data = svc.criteria_text(s)
        from grants.core.timeutil import to_local

        form.scoring_deadline_at.data = to_local(s.scoring_deadline_at)
    elif form.validate_on_submit():
        if _save_selection(form, s) is not None:
            flash(_("评选设置已保存"), "success")
            return redirect(url_for("brand.detail", selection_id=s.id))
    return render_template("brand/form.html", form=form, selection=s)


@bp.route("/<int:selection_id>")
@login_required
def detail(selection_id: int):
    """One selection: its settings, the nominations, the panel, the ranking and the decision."""
    s = _selection(selection_id)
    can_manage = perm.can_manage_selection(current_user, s)
    noms = svc.nominations(s)
    nominate_form = NominateForm()
    if can_manage and s.status == SelectionStatus.NOMINATING:
        taken = {n.contract_id for n in noms}
        nominate_form.contract_id.choices = choices(
            [(c.id, f"{c.number} {c.project_name}（{c.party_b_name}）") for c in svc.eligible_contracts(s)
             if c.id not in taken])
    members = svc.panel(s)
    invite_form = InviteForm()
    if can_manage:
        from grants.reviews.services import expert_pool

        seated = {m.user_id for m in members}
        invite_form.expert_id.choices = choices([(p.user.id, f"{p.user.display_name}（{p.employer or p.user.username}）")
                                                 for p in expert_pool() if p.user.id not in seated])
    ranking = svc.compute_ranking(s) if s.status in (SelectionStatus.SCORING, SelectionStatus.DECIDED,
                                                     SelectionStatus.PUBLISHED) else []
    decide_form = DecideForm()
    decide_form.winner_ids.choices = choices([(r.nomination.id, r.nomination.contract.project_name) for r in ranking])
    top = {r.nomination.id for r in ranking if r.score is not None and r.rank <= s.winners_count}
    return render_template(
        "brand/detail.html", s=s, nominations=noms, members=members, ranking=ranking, can_manage=can_manage,
        can_edit=perm.can_edit_selection(current_user, s), nominate_form=nominate_form, invite_form=invite_form,
        decide_form=decide_form, top=top, advance_form=AdvanceForm(), reason_form=ReasonForm(),
        actions=SELECTION_WORKFLOW.allowed_actions(s.status, current_user.role_names) if can_manage else [],
        workflow=SELECTION_WORKFLOW, call_names=_call_names(s.call_ids), grade_labels=GRADE_LABELS)


def _call_names(call_ids) -> list[str]:
    if not call_ids:
        return []
    from grants.calls.models import Call

    return [f"{y} · {t}" for y, t in db.session.execute(sa.select(Call.year, Call.title).where(Call.id.in_(call_ids))
                                                        .order_by(Call.year.desc(), Call.id))]


@bp.route("/<int:selection_id>/advance", methods=["POST"])
@login_required
def advance(selection_id: int):
    """The workflow buttons: open nominations, start scoring, send back to scoring, publish, cancel."""
    s = _selection(selection_id, manage=True)
    form = AdvanceForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(url_for("brand.detail", selection_id=s.id))
    action, reason = form.action.data, form.reason.data or ""
    handlers = {
        "open_nominations": lambda: svc.open_nominations(s, current_user),
        "start_scoring": lambda: svc.start_scoring(s, current_user),
        "reopen_scoring": lambda: svc.reopen_scoring(s, current_user, reason),
        "publish": lambda: svc.publish_selection(s, current_user),
        "cancel": lambda: svc.cancel_selection(s, current_user, reason),
    }
    if action not in handlers:
        abort(400)
    _apply(handlers[action], _("已%(a)s", a=SELECTION_WORKFLOW.action_label(action)))
    return redirect(url_for("brand.detail", selection_id=s.id))


@bp.route("/<int:selection_id>/nominate", methods=["POST"])
@login_required
def nominate(selection_id: int):
    s = _selection(selection_id, manage=True)
    form = NominateForm()
    form.contract_id.choices = choices([(c.id, c.project_name) for c in svc.eligible_contracts(s)])
    if form.validate_on_submit():
        _apply(lambda: svc.nominate_project(s, db.session.get(Contract, form.contract_id.data), form.reason.data,
                                            current_user), _("已推荐该项目"))
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("brand.detail", selection_id=s.id) + "#nominations")


def _nomination_for_manage(nomination_id: int) -> BrandNomination:
    n = get_or_404(BrandNomination, nomination_id)
    ensure(perm.can_manage_selection(current_user, n.selection))
    return n


@bp.route("/nominations/<int:nomination_id>/accept", methods=["POST"])
@login_required
def accept(nomination_id: int):
    n = _nomination_for_manage(nomination_id)
    if ReasonForm().validate_on_submit():
        _apply(lambda: svc.accept_nomination(n, current_user), _("已采纳该自荐"))
    return redirect(url_for("brand.detail", selection_id=n.selection_id) + "#nominations")


@bp.route("/nominations/<int:nomination_id>/decline", methods=["POST"])
@login_required
def decline(nomination_id: int):
    n = _nomination_for_manage(nomination_id)
    form = ReasonForm()
    if form.validate_on_submit():
        _apply(lambda: svc.decline_nomination(n, current_user, form.reason.data or ""), _("已不予采纳"))
    return redirect(url_for("brand.detail", selection_id=n.selection_id) + "#nominations")


@bp.route("/<int:selection_id>/panel", methods=["POST"])
@login_required
def invite(selection_id: int):
    s = _selection(selection_id, manage=True)
    form = InviteForm()
    from grants.reviews.services import expert_pool

    form.expert_id.choices = choices([(p.user.id, p.user.display_name) for p in expert_pool()])
    if form.validate_on_submit():
        _apply(lambda: svc.invite_expert(s, db.session.get(User, form.expert_id.data), current_user),
               _("已邀请专家加入评审组"))
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("brand.detail", selection_id=s.id) + "#panel")


@bp.route("/panel/<int:brand_member_id>/remove", methods=["POST"])
@login_required
def panel_remove(brand_member_id: int):
    m = get_or_404(BrandPanelMember, brand_member_id)
    s = _selection(m.selection_id, manage=True)
    if ReasonForm().validate_on_submit():
        _apply(lambda: svc.remove_expert(m, s, current_user), _("已移出评审组"))
    return redirect(url_for("brand.detail", selection_id=s.id) + "#panel")


@bp.route("/<int:selection_id>/decide", methods=["POST"])
@login_required
def decide(selection_id: int):
    s = _selection(selection_id, manage=True)
    form = DecideForm()
    form.winner_ids.choices = choices([(n.id, n.id) for n in svc.nominations(s, status=NominationStatus.ACCEPTED)])
    if form.validate_on_submit():
        _apply(lambda: svc.decide_winners(s, current_user, winner_ids=form.winner_ids.data or [],
                                          note=form.note.data or ""), _("已确定入选项目，确认无误后请公布结果"))
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("brand.detail", selection_id=s.id) + "#ranking")


# --- expert ----------------------------------------------------------------------------------------------

@bp.route("/tasks")
@login_required
def tasks():
    """品牌项目评审: the nominations of the selections in scoring whose panel the expert sits on.
    Four queries whatever the number of tasks."""
    ensure(perm.can_list_tasks(current_user))
    noms = db.session.scalars(
        sa.select(BrandNomination).join(BrandSelection, BrandSelection.id == BrandNomination.selection_id)
        .join(BrandPanelMember, sa.and_(BrandPanelMember.selection_id == BrandSelection.id,
                                        BrandPanelMember.user_id == current_user.id))
        .where(BrandSelection.status == SelectionStatus.SCORING, BrandNomination.status == NominationStatus.ACCEPTED)
        .order_by(BrandSelection.scoring_deadline_at, BrandSelection.id, BrandNomination.id)).unique().all()
    ids = [n.id for n in noms]
    conflicts = {c.nomination_id: c for c in db.session.scalars(sa.select(BrandConflict).where(
        BrandConflict.expert_id == current_user.id, BrandConflict.nomination_id.in_(ids)))}
    from sqlalchemy.orm import lazyload

    reviews = {r.nomination_id: r for r in db.session.scalars(sa.select(BrandReview).options(
        lazyload(BrandReview.scores)).where(BrandReview.expert_id == current_user.id,
                                            BrandReview.nomination_id.in_(ids)))}
    return render_template("brand/tasks.html", nominations=noms, conflicts=conflicts, reviews=reviews)


def _own_task(nomination_id: int) -> BrandNomination:
    n = get_or_404(BrandNomination, nomination_id)
    ensure(perm.can_score(current_user, n))
    return n


@bp.route("/nominations/<int:nomination_id>/declare", methods=["GET", "POST"])
@login_required
def declare(nomination_id: int):
    """利益冲突声明 before any content of the nomination is shown."""
    n = _own_task(nomination_id)
    row = svc.conflict_for(current_user.id, n.id)
    form = DeclareForm()
    if form.validate_on_submit():
        yes = form.has_conflict.data == "yes"
        try:
            row = svc.declare_conflict(n, current_user, has_conflict=yes, reason=form.reason.data or "")
        except svc.BrandError as exc:
            db.session.rollback()
            if exc.field == "reason":
                form.reason.errors = [exc.message]
            else:
                flash(exc.message, "danger")
                return redirect(url_for("brand.tasks"))
        else:
            db.session.commit()
            if row.has_conflict:
                flash(_("已登记回避：%(r)s", r=row.reason), "warning")
                return redirect(url_for("brand.tasks"))
            flash(_("已声明无利益冲突"), "success")
            return redirect(url_for("brand.score", nomination_id=n.id))
    elif request.method == "GET" and row is not None and not row.has_conflict:
        return redirect(url_for("brand.score", nomination_id=n.id))
    return render_template("brand/declare.html", n=n, form=form, conflict=row)


@bp.route("/nominations/<int:nomination_id>/score", methods=["GET", "POST"])
@login_required
def score(nomination_id: int):
    """The score sheet beside the project's record; only after "无利益冲突" was declared."""
    n = _own_task(nomination_id)
    if not svc.may_score(n, current_user):
        if svc.conflict_for(current_user.id, n.id) is None:
            return redirect(url_for("brand.declare", nomination_id=n.id))
        abort(403)
    form = ScoreForm()
    problems: dict[str, str] = {}
    typed = None
    criteria = n.selection.criteria
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
            return redirect(url_for("brand.score", nomination_id=n.id))
        points = {c.id: request.form.get(f"points-{c.id}", "") for c in criteria}
        try:
            review, problems = svc.save_review(n, current_user, points, request.form.get("comment", ""),
                                               submit=request.form.get("action") == "submit")
        except svc.BrandError as exc:
            _fail(exc)
            return redirect(url_for("brand.score", nomination_id=n.id))
        db.session.commit()
        if not problems:
            flash(_("评分已提交") if review.is_submitted else _("草稿已保存"), "success")
            return redirect(url_for("brand.score", nomination_id=n.id))
        typed = request.form
        flash(_("已保存填写正确的内容；请按提示修改以下 %(n)s 处后再提交", n=len(problems)), "warning")
    review = svc.review_of(n, current_user)
    return render_template("brand/score.html", n=n, s=n.selection, c=n.contract, criteria=criteria, review=review,
                           form=form, problems=problems, typed=typed), (200 if not problems else 422)


# --- organisation ----------------------------------------------------------------------------------------

@bp.route("/mine", methods=["GET", "POST"])
@login_required
def mine():
    """组织自荐: the open selections in which the organisation has finished projects, and its results."""
    ensure(perm.can_list_own(current_user))
    org = current_user.organization
    form = PutForwardForm()
    if request.method == "POST":
        ensure(perm.can_put_forward(current_user))
        raw = form.selection_id.data or ""
        selection_id = int_or_none(raw, minimum=1)
        s = db.session.get(BrandSelection, selection_id) if selection_id else None
        if s is None or s.status != SelectionStatus.NOMINATING:
            abort(404)
        form.contract_id.choices = choices([(c.id, c.project_name) for c in svc.eligible_contracts(
            s, organization_id=org.id)])
        if form.validate_on_submit():
            _apply(lambda: svc.put_forward_project(s, db.session.get(Contract, form.contract_id.data),
                                                   form.reason.data, current_user), _("自荐已提交，等待主办单位确认"))
        else:
            flash(_form_errors(form), "danger")
        return redirect(url_for("brand.mine"))
    own = db.session.scalars(sa.select(BrandNomination).where(BrandNomination.organization_id == org.id)
                             .order_by(BrandNomination.id.desc())).unique().all()
    return render_template("brand/mine.html", offers=svc.put_forward_offers(org.id), own=own,
                           can_put_forward=perm.can_put_forward(current_user), form=form)


# --- marks on other domains' pages ----------------------------------------------------------------------

@bp.app_template_global()
def brand_titles(contract_ids) -> dict[int, list[str]]:
    """`brand_titles(ids)` in any template: the published brand titles per contract id, one query.
    Pair with the brand_badges macro of templates/brand/_badge.html."""
    return svc.brand_titles_for(list(contract_ids))


@bp.app_template_global()
def brand_award_titles() -> dict[int, list[str]]:
    """`brand_award_titles().get(award_id)` in a per-row include: every published winner loaded once per
    request (cached on it), so a list of projects costs one query for its marks, not one per row."""
    from flask import has_request_context

    if not has_request_context():
        return svc.brand_titles_by_award()
    cached = getattr(request, "_brand_award_titles", None)
    if cached is None:
        cached = request._brand_award_titles = svc.brand_titles_by_award()
    return cached
