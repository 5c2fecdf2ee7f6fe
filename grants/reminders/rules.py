"""The reminder rules in force. Each is one function registered with @rule; see registry.py.

Rules present:
- call_closing     — call closes in 7, 3 and 1 days → members of organisations with an unsubmitted draft.
- return_deadline  — a returned application's new deadline in 3 and 1 days → the organisation's members.
- review_due       — the call's review period ends in 3 and 1 days, and when it has passed → experts with
                     an unsubmitted written review (no declared conflict).
- review_overdue   — the review period has passed with reviews missing → the call's officers (escalation).
- contract_unsigned          — a contract issued 5 days ago and still unsigned → the organisation's members.
- contract_unsigned_officer  — still unsigned 8 days after issue → the call's officers (escalation).
- payment_unreleased         — a payment approved 3 working days ago and not released → the call's finance staff.
- notice_ending    — the 公示 of a call ends in 1 day and has ended (not yet finalized) → the call's officers,
                     with the count of open objections.

- assessment_overdue         — an assessment still not done 10 days after its report was submitted → the
                             evaluator, and the call's officers (escalation).

A rule may also live in the domain that owns its data: any module that registers a function with @rule
and is imported when the app starts takes part in every pass. grants/assessments/reminders.py holds the
progress-report and rectification deadlines.

Recipients: whoever must act gets kind `deadline`, whose e-mail cannot be switched off (an application's
author and the organisation's administrators, the expert, the officer closing a notice, finance staff);
other members of the organisation get `deadline_cc`; officers following up someone else's lateness get
`escalation`.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.extensions import db
from grants.reminders.kinds import DEADLINE, DEADLINE_CC, ESCALATION
from grants.reminders.registry import Due, RuleContext, Text, once, rule


def _org_recipients(ctx: RuleContext, members: dict, org_id: int, author_id: int | None):
    """(user id, kind) for each member: the author and the organisation's admins are responsible."""
    for user_id, is_admin in members.get(org_id, ()):
        yield user_id, (DEADLINE.key if is_admin or user_id == author_id else DEADLINE_CC.key)


def _application_link(ctx: RuleContext, application_id: int) -> str:
    return ctx.url_for("applications.detail", application_id=application_id)


@rule("call_closing", label=_l("申报截止提醒"),
      description=_l("征集截止前提醒仍有未提交草稿的社会组织成员。"), offsets=(7, 3, 1))
def call_closing(ctx: RuleContext):
    from grants.applications.models import Application, ApplicationStatus
    from grants.calls.models import Call, CallStatus

    start, end = ctx.window("call_closing")
    rows = db.session.execute(
        sa.select(Application.id, Application.project_name, Application.organization_id, Application.created_by_id,
                  Call.id.label("call_id"), Call.title.label("call_title"), Call.close_at)
        .join(Call, Call.id == Application.call_id)
        .where(Call.status == CallStatus.PUBLISHED, Call.close_at > start, Call.close_at <= end,
               Application.status == ApplicationStatus.DRAFT)
    ).all()
    hits = [(row, ctx.latest_due("call_closing", row.close_at, call_id=row.call_id)) for row in rows]
    hits = [(row, hit) for row, hit in hits if hit]
    members = ctx.organization_members(row.organization_id for row, _hit in hits)
    for row, hit in hits:
        compose = once(_call_closing_text, ctx, row)  # worded once, for all its recipients
        for user_id, kind in _org_recipients(ctx, members, row.organization_id, row.created_by_id):
            yield Due(user_id, "application", row.id, hit.occurrence, hit.due_at, kind, compose)


def _call_closing_text(ctx: RuleContext, row) -> Text:
    name = row.project_name or _("（未命名项目）")
    return Text(
        _("申报即将截止：%(call)s", call=row.call_title),
        _("“%(call)s”将于 %(close)s 截止申报。贵组织的申报书“%(name)s”仍是草稿，尚未提交；"
          "截止后将无法提交，请尽快完成并提交。", call=row.call_title, close=ctx.local(row.close_at), name=name),
        _application_link(ctx, row.id))


@rule("return_deadline", label=_l("退回修改截止提醒"),
      description=_l("退回修改的申报书在新的截止时间前提醒该社会组织成员重新提交。"), offsets=(3, 1))
def return_deadline(ctx: RuleContext):
    from grants.applications.models import Application, ApplicationStatus
    from grants.calls.models import Call

    start, end = ctx.window("return_deadline")
    rows = db.session.execute(
        sa.select(Application.id, Application.project_name, Application.organization_id, Application.created_by_id,
                  Application.return_deadline_at, Call.id.label("call_id"), Call.title.label("call_title"))
        .join(Call, Call.id == Application.call_id)
        .where(Application.status == ApplicationStatus.RETURNED,
               Application.return_deadline_at > start, Application.return_deadline_at <= end)
    ).all()
    hits = [(row, ctx.latest_due("return_deadline", row.return_deadline_at, call_id=row.call_id)) for row in rows]
    hits = [(row, hit) for row, hit in hits if hit]
    members = ctx.organization_members(row.organization_id for row, _hit in hits)
    for row, hit in hits:
        compose = once(_return_deadline_text, ctx, row)
        for user_id, kind in _org_recipients(ctx, members, row.organization_id, row.created_by_id):
            yield Due(user_id, "application", row.id, hit.occurrence, hit.due_at, kind, compose)


def _return_deadline_text(ctx: RuleContext, row) -> Text:
    name = row.project_name or _("（未命名项目）")
    return Text(
        _("退回修改的申报书即将截止：%(name)s", name=name),
        _("申报书“%(name)s”（%(call)s）已被退回修改，须在 %(deadline)s 前修改并重新提交，逾期将无法提交。",
          name=name, call=row.call_title, deadline=ctx.local(row.return_deadline_at)),
        _application_link(ctx, row.id))


def _missing_reviews(ctx: RuleContext, key: str):
    """(assignment id, expert id, application id, call row) of written reviews not yet submitted in calls
    under review whose review period ends within the rule's window; declared conflicts excused."""
    from grants.applications.models import Application
    from grants.calls.models import Call, CallStatus
    from grants.reviews.models import Conflict, Review, ReviewAssignment, ReviewStage, ReviewStatus

    start, end = ctx.window(key)
    submitted = sa.select(Review.id).where(Review.assignment_id == ReviewAssignment.id,
                                           Review.status == ReviewStatus.SUBMITTED)
    excused = sa.select(Conflict.id).where(Conflict.application_id == ReviewAssignment.application_id,
                                           Conflict.expert_id == ReviewAssignment.expert_id,
                                           Conflict.has_conflict.is_(True))
    return db.session.execute(
        sa.select(ReviewAssignment.id, ReviewAssignment.expert_id, Application.id.label("application_id"),
                  Call.id.label("call_id"), Call.title.label("call_title"), Call.host_unit_id, Call.review_end_at)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .join(Call, Call.id == Application.call_id)
        .where(Call.status == CallStatus.REVIEWING, Call.review_end_at > start, Call.review_end_at <= end,
               ReviewAssignment.stage == ReviewStage.WRITTEN, ~sa.exists(submitted), ~sa.exists(excused))
    ).all()


@rule("review_due", label=_l("专家评审截止提醒"),
      description=_l("评审截止前及逾期时，提醒尚未提交书面评审的专家（已申报回避的除外）。提前天数填 0 表示逾期时提醒。"),
      offsets=(3, 1, 0), allow_overdue=True)
def review_due(ctx: RuleContext):
    for row in _missing_reviews(ctx, "review_due"):
        hit = ctx.latest_due("review_due", row.review_end_at, call_id=row.call_id)
        if hit:
            yield Due(row.expert_id, "review_assignment", row.id, hit.occurrence, hit.due_at, DEADLINE.key,
                      once(_review_due_text, ctx, row, hit.offset))


def _review_due_text(ctx: RuleContext, row, offset: int) -> Text:
    link = ctx.url_for("reviews.review", assignment_id=row.id)
    if offset <= 0:
        return Text(_("专家评审已逾期：%(call)s", call=row.call_title),
                    _("“%(call)s”的专家评审已于 %(end)s 截止，您仍有分配的申报书尚未提交评审意见，请尽快完成。",
                      call=row.call_title, end=ctx.local(row.review_end_at)), link)
    return Text(_("专家评审即将截止：%(call)s", call=row.call_title),
                _("“%(call)s”的专家评审将于 %(end)s 截止，您分配的申报书尚未提交评审意见，请在截止前完成。",
                  call=row.call_title, end=ctx.local(row.review_end_at)), link)


@rule("review_overdue", label=_l("评审逾期督办"),
      description=_l("评审期结束仍有专家未提交评审时，提醒该活动所属单位的项目主管督办。"),
      offsets=(0,), allow_overdue=True)
def review_overdue(ctx: RuleContext):
    calls: dict[int, list] = {}
    for row in _missing_reviews(ctx, "review_overdue"):
        calls.setdefault(row.call_id, []).append(row)
    officers = ctx.unit_officers(rows[0].host_unit_id for rows in calls.values())
    for call_id, rows in calls.items():
        first = rows[0]
        hit = ctx.latest_due("review_overdue", first.review_end_at, call_id=call_id)
        if not hit:
            continue
        compose = once(_review_overdue_text, ctx, first, len(rows), len({r.expert_id for r in rows}))
        for user_id in officers.get(first.host_unit_id, ()):
            yield Due(user_id, "call", call_id, hit.occurrence, hit.due_at, ESCALATION.key, compose)


def _review_overdue_text(ctx: RuleContext, row, missing: int, experts: int) -> Text:
    return Text(_("评审逾期：%(call)s 尚有 %(n)s 份评审未提交", call=row.call_title, n=missing),
                _("“%(call)s”的专家评审已于 %(end)s 截止，%(e)s 位专家尚有 %(n)s 份评审未提交，请督促或调整分配。",
                  call=row.call_title, end=ctx.local(row.review_end_at), e=experts, n=missing),
                ctx.url_for("reviews.assignments", call_id=row.call_id))


def _issued_unsigned(ctx: RuleContext, key: str):
    from grants.calls.models import Call
    from grants.contracts.models import Contract, ContractStatus

    start, end = ctx.anchor_window(key)
    return db.session.execute(
        sa.select(Contract.id, Contract.number, Contract.project_name, Contract.organization_id, Contract.issued_at,
                  Call.id.label("call_id"), Call.title.label("call_title"), Call.host_unit_id)
        .join(Call, Call.id == Contract.call_id)
        .where(Contract.status == ContractStatus.ISSUED, Contract.issued_at >= start, Contract.issued_at <= end)
    ).all()


def _contract_link(ctx: RuleContext, contract_id: int) -> str:
    return ctx.url_for("contracts.detail", contract_id=contract_id)


@rule("contract_unsigned", label=_l("协议待签署提醒"),
      description=_l("资助协议签发后若干天仍未签署时，提醒该社会组织成员。"), offsets=(5,), after=True)
def contract_unsigned(ctx: RuleContext):
    rows = [(row, ctx.latest_after("contract_unsigned", row.issued_at, call_id=row.call_id))
            for row in _issued_unsigned(ctx, "contract_unsigned")]
    rows = [(row, hit) for row, hit in rows if hit]
    members = ctx.organization_members(row.organization_id for row, _hit in rows)
    for row, hit in rows:
        compose = once(_contract_unsigned_text, ctx, row, hit.offset)
        for user_id, kind in _org_recipients(ctx, members, row.organization_id, None):
            yield Due(user_id, "contract", row.id, hit.occurrence, hit.due_at, kind, compose)


def _contract_unsigned_text(ctx: RuleContext, row, days: int) -> Text:
    return Text(_("资助协议待签署：%(name)s", name=row.project_name),
                _("资助协议 %(no)s（%(name)s）已于 %(at)s 签发，%(d)s 天来尚未签署。请登录平台核对协议内容并签署。",
                  no=row.number, name=row.project_name, at=ctx.local(row.issued_at), d=days),
                _contract_link(ctx, row.id))


@rule("contract_unsigned_officer", label=_l("协议逾期未签督办"),
      description=_l("资助协议签发后较长时间仍未签署时，提醒该活动所属单位的项目主管跟进。"), offsets=(8,), after=True)
def contract_unsigned_officer(ctx: RuleContext):
    rows = [(row, ctx.latest_after("contract_unsigned_officer", row.issued_at, call_id=row.call_id))
            for row in _issued_unsigned(ctx, "contract_unsigned_officer")]
    rows = [(row, hit) for row, hit in rows if hit]
    officers = ctx.unit_officers(row.host_unit_id for row, _hit in rows)
    for row, hit in rows:
        compose = once(_contract_officer_text, ctx, row, hit.offset)
        for user_id in officers.get(row.host_unit_id, ()):
            yield Due(user_id, "contract", row.id, hit.occurrence, hit.due_at, ESCALATION.key, compose)


def _contract_officer_text(ctx: RuleContext, row, days: int) -> Text:
    return Text(_("协议逾期未签：%(no)s", no=row.number),
                _("资助协议 %(no)s（%(name)s，%(call)s）签发已 %(d)s 天，社会组织仍未签署，请联系跟进。",
                  no=row.number, name=row.project_name, call=row.call_title, d=days),
                _contract_link(ctx, row.id))


@rule("payment_unreleased", label=_l("拨款待支付提醒"),
      description=_l("拨款审批通过后若干个工作日仍未支付时，提醒该活动所属单位的财务人员。"),
      offsets=(3,), after=True, workdays=True)
def payment_unreleased(ctx: RuleContext):
    from grants.accounts.models import Role, User, UserRole
    from grants.calls.models import Call
    from grants.finance.models import Payment, PaymentStatus

    start, end = ctx.anchor_window("payment_unreleased")
    approved_at = sa.func.coalesce(Payment.second_approved_at, Payment.approved_at)
    rows = db.session.execute(
        sa.select(Payment.id, Payment.amount_fen, Payment.organization_id, approved_at.label("approved_at"),
                  Call.id.label("call_id"), Call.title.label("call_title"), Call.host_unit_id)
        .join(Call, Call.id == Payment.call_id)
        .where(Payment.status.in_([PaymentStatus.APPROVED, PaymentStatus.SECOND_APPROVED]),
               approved_at >= start, approved_at <= end)
    ).all()
    hits = []
    for row in rows:
        anchor = row.approved_at if row.approved_at.tzinfo else row.approved_at.replace(tzinfo=dt.timezone.utc)
        hit = ctx.latest_after("payment_unreleased", anchor, call_id=row.call_id)
        if hit:
            hits.append((row, anchor, hit))
    unit_ids = sorted({row.host_unit_id for row, _a, _h in hits})
    finance: dict[int, list[int]] = {}
    if unit_ids:
        for unit_id, user_id in db.session.execute(
                sa.select(User.host_unit_id, User.id).join(UserRole, UserRole.user_id == User.id)
                .where(User.host_unit_id.in_(unit_ids), UserRole.role == Role.FINANCE,
                       User.is_active_account.is_(True)).order_by(User.id)):
            finance.setdefault(unit_id, []).append(user_id)
    for row, anchor, hit in hits:
        compose = once(_payment_text, ctx, row, anchor, hit.offset)
        for user_id in finance.get(row.host_unit_id, ()):
            yield Due(user_id, "payment", row.id, hit.occurrence, hit.due_at, DEADLINE.key, compose)


def _payment_text(ctx: RuleContext, row, anchor, days: int) -> Text:
    from grants.core.money import yuan

    return Text(_("拨款待支付：%(call)s", call=row.call_title),
                _("一笔 %(amount)s 的拨款（%(call)s）已于 %(at)s 审批通过，%(d)s 个工作日来尚未支付，请及时办理。",
                  amount=yuan(row.amount_fen), call=row.call_title, at=ctx.local(anchor), d=days),
                ctx.url_for("finance.payment", payment_id=row.id))


@rule("notice_ending", label=_l("公示期结束提醒"),
      description=_l("公示期结束前及结束时，提醒该活动所属单位的项目主管处理异议并确认立项。提前天数填 0 表示结束时提醒。"),
      offsets=(1, 0), allow_overdue=True)
def notice_ending(ctx: RuleContext):
    from grants.awards.models import Objection, ObjectionStatus, PublicNotice
    from grants.calls.models import Call
    from grants.core.timeutil import SHANGHAI

    start, end = ctx.window("notice_ending")
    open_objections = (sa.select(sa.func.count(Objection.id))
                       .where(Objection.notice_id == PublicNotice.id, Objection.status == ObjectionStatus.OPEN)
                       .scalar_subquery())
    rows = db.session.execute(
        sa.select(PublicNotice.id, PublicNotice.ends_on, Call.id.label("call_id"), Call.title.label("call_title"),
                  Call.host_unit_id, open_objections.label("open_objections"))
        .join(Call, Call.id == PublicNotice.call_id)
        .where(PublicNotice.finalized_at.is_(None),
               PublicNotice.ends_on >= start.astimezone(SHANGHAI).date() - dt.timedelta(days=1),
               PublicNotice.ends_on <= end.astimezone(SHANGHAI).date())
    ).all()
    hits = []
    for row in rows:
        # The notice runs to the end of its last day, Beijing time.
        closes_at = dt.datetime.combine(row.ends_on + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI) \
            .astimezone(dt.timezone.utc)
        hit = ctx.latest_due("notice_ending", closes_at, call_id=row.call_id)
        if hit:
            hits.append((row, closes_at, hit))
    officers = ctx.unit_officers(row.host_unit_id for row, _c, _h in hits)
    for row, closes_at, hit in hits:
        compose = once(_notice_text, ctx, row, closes_at, hit.offset)
        for user_id in officers.get(row.host_unit_id, ()):
            yield Due(user_id, "public_notice", row.id, hit.occurrence, hit.due_at, DEADLINE.key, compose)


def _notice_text(ctx: RuleContext, row, closes_at, offset: int) -> Text:
    link = ctx.url_for("awards.notice", call_id=row.call_id)
    objections = (_("目前有 %(n)s 件异议尚未处理，请在确认立项前处理完毕。", n=row.open_objections)
                  if row.open_objections else _("目前没有待处理的异议。"))
    if offset <= 0:
        return Text(_("公示期已结束：%(call)s", call=row.call_title),
                    _("“%(call)s”的公示期已于 %(at)s 结束。%(obj)s", call=row.call_title, at=ctx.local(closes_at),
                      obj=objections), link)
    return Text(_("公示期即将结束：%(call)s", call=row.call_title),
                _("“%(call)s”的公示期将于 %(at)s 结束。%(obj)s", call=row.call_title, at=ctx.local(closes_at),
                  obj=objections), link)


@rule("assessment_overdue", label=_l("评估逾期提醒"),
      description=_l("进度报告提交后若干天仍未完成评估时，提醒评估人员并抄报该活动所属单位的项目主管。"),
      offsets=(10,), after=True)
def assessment_overdue(ctx: RuleContext):
    from grants.assessments.models import Assessment, AssessmentStatus, ProgressReport
    from grants.calls.models import Call
    from grants.contracts.models import Contract

    start, end = ctx.anchor_window("assessment_overdue")
    rows = db.session.execute(
        sa.select(Assessment.id, Assessment.evaluator_id, ProgressReport.submitted_at, Contract.number,
                  Contract.project_name, Call.id.label("call_id"), Call.title.label("call_title"), Call.host_unit_id)
        .join(ProgressReport, ProgressReport.id == Assessment.report_id)
        .join(Contract, Contract.id == Assessment.contract_id)
        .join(Call, Call.id == Contract.call_id)
        .where(Assessment.status == AssessmentStatus.ASSIGNED, ProgressReport.submitted_at >= start,
               ProgressReport.submitted_at <= end)
    ).all()
    hits = [(row, ctx.latest_after("assessment_overdue", row.submitted_at, call_id=row.call_id)) for row in rows]
    hits = [(row, hit) for row, hit in hits if hit]
    officers = ctx.unit_officers(row.host_unit_id for row, _hit in hits)
    for row, hit in hits:
        compose = once(_assessment_text, ctx, row, hit.offset)
        yield Due(row.evaluator_id, "assessment", row.id, hit.occurrence, hit.due_at, DEADLINE.key, compose)
        for user_id in officers.get(row.host_unit_id, ()):
            if user_id != row.evaluator_id:
                yield Due(user_id, "assessment", row.id, hit.occurrence, hit.due_at, ESCALATION.key, compose)


def _assessment_text(ctx: RuleContext, row, days: int) -> Text:
    return Text(_("评估逾期：%(name)s", name=row.project_name),
                _("项目“%(name)s”（协议 %(no)s，%(call)s）的进度报告已于 %(at)s 提交，%(d)s 天来尚未完成评估。"
                  "评估完成后方可拨付该期资金，请尽快办理。", name=row.project_name, no=row.number,
                  call=row.call_title, at=ctx.local(row.submitted_at), d=days),
                ctx.url_for("assessments.assessment", assessment_id=row.id))
