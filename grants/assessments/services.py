"""Progress reports and assessments (评估兑现): the organisation reports per gated tranche, an officer
accepts it and assigns an evaluator, the evaluator's score band decides how much of the tranche is paid,
with one rectification round (整改) below the pass mark."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.accounts.models import Role, User
from grants.applications.models import FundedBy
from grants.assessments.models import (
    DEFAULT_CRITERIA, Assessment, AssessmentCriterion, AssessmentScore, AssessmentStatus, CriterionKind,
    ProgressReport, ReportEvidence, ReportOutput, ReportSpending, ReportStatus,
)
from grants.contracts.models import Contract, ContractStatus, Tranche, TrancheStatus
from grants.contracts.services import (
    SYSTEM_ROLES, close_if_settled, contract_link, flag_reclaim, keep_final_grade, mark_tranche_payable,
    open_next_report, tell_organization, tell_staff, unit_users, withhold_tranche,
)
from grants.assessments.states import ASSESSMENT_WORKFLOW, REPORT_WORKFLOW
from grants.contracts.states import TRANCHE_WORKFLOW
from grants.core.audit import lock_chain, record
from grants.core.errors import DomainError
from grants.core.money import yuan
from grants.core.timeutil import SHANGHAI, UTC, now, today_local
from grants.core.workdays import add_working_days
from grants.extensions import db

log = logging.getLogger(__name__)
DEFAULT_RECTIFY_WORKING_DAYS = 10
EVIDENCE_TYPES = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "doc", "xls", "zip")


class AssessmentError(DomainError):
    """A report or assessment rule refused the action."""


@dataclass(frozen=True)
class Band:
    """A score band as the assessment uses it (the call's ScoreBand, or a default one)."""
    min_score: int
    grade: str
    payment_pct: int
    rectification: bool


# Used when a call sets no bands: ≥ 85 优秀 100 %, 70–84 良好 100 %, 60–69 合格 80 %, < 60 不合格 0 % + 整改.
DEFAULT_BANDS = [Band(85, "excellent", 100, False), Band(70, "good", 100, False), Band(60, "pass", 80, False),
                 Band(0, "fail", 0, True)]


def band_ranges(bands) -> list[tuple[str, object]]:
    """Each band with the range of (integer) scores it covers, highest first: "85 分及以上", "70–84 分",
    "60 分以下" — the way the bands read in a call's rules, rather than as lower bounds alone."""
    ordered = sorted(bands, key=lambda b: -b.min_score)
    rows = []
    for i, band in enumerate(ordered):
        upper = ordered[i - 1].min_score - 1 if i else None
        if band.min_score == 0 and upper is not None:
            label = _("%(n)s 分以下", n=upper + 1)
        elif upper is None:
            label = _("%(n)s 分及以上", n=band.min_score) if band.min_score else _("0–100 分")
        elif upper == band.min_score:
            label = _("%(n)s 分", n=band.min_score)
        else:
            label = _("%(a)s–%(b)s 分", a=band.min_score, b=upper)
        rows.append((label, band))
    return rows


def bands_for(call) -> list[Band]:
    bands = [Band(b.min_score, str(b.grade), b.payment_pct, bool(b.rectification)) for b in call.score_bands]
    return sorted(bands or DEFAULT_BANDS, key=lambda b: -b.min_score)


def band_for(call, score: int) -> Band:
    for band in bands_for(call):
        if score >= band.min_score:
            return band
    return Band(0, "fail", 0, True)  # below every band: treat as a fail


# --- rubric -----------------------------------------------------------------------------------

def criteria_for(call) -> list[AssessmentCriterion]:
    """The call's assessment rubric; the default one (项目实施 30 … = 100, plus bonus and penalty) is
    created the first time a call needs it."""
    rows = db.session.scalars(sa.select(AssessmentCriterion).where(AssessmentCriterion.call_id == call.id)
                              .order_by(AssessmentCriterion.sort, AssessmentCriterion.id)).all()
    if rows:
        return list(rows)
    rows = [AssessmentCriterion(call_id=call.id, name=name, max_points=points, kind=kind, sort=i)
            for i, (name, points, kind) in enumerate(DEFAULT_CRITERIA)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


# --- reports ----------------------------------------------------------------------------------

def late_reports_by_tranche(contract_ids) -> dict[int, int]:
    """Tranche id → days its report was handed in late (first round: against the report date; rectified
    reports against 整改期限), for the submitted reports of these contracts — one query."""
    late: dict[int, int] = {}
    if not contract_ids:
        return late
    for report in db.session.scalars(sa.select(ProgressReport).where(
            ProgressReport.contract_id.in_(list(contract_ids)), ProgressReport.first_submitted_at.is_not(None))
            .order_by(ProgressReport.round)):
        if report.days_late:
            late[report.tranche_id] = report.days_late
    return late


def current_report(tranche: Tranche) -> ProgressReport | None:
    return db.session.scalar(sa.select(ProgressReport).where(ProgressReport.tranche_id == tranche.id)
                             .order_by(ProgressReport.round.desc()).limit(1))


def start_report(tranche: Tranche, actor) -> ProgressReport:
    """A draft report for a due tranche (round 1) or a rectifying one (round 2, copied from round 1)."""
    contract = tranche.contract
    if contract.status != ContractStatus.ACTIVE:
        raise AssessmentError(_("协议未生效或已结束，不能提交报告"))
    if tranche.status not in (TrancheStatus.DUE, TrancheStatus.RECTIFYING):
        raise AssessmentError(_("该拨付节点当前不需要提交报告"))
    round_ = 2 if tranche.status == TrancheStatus.RECTIFYING else 1
    existing = db.session.scalar(sa.select(ProgressReport).where(
        ProgressReport.tranche_id == tranche.id, ProgressReport.round == round_))
    if existing is not None:
        return existing
    report = ProgressReport(tranche_id=tranche.id, contract_id=contract.id, kind=tranche.report_kind,
                            round=round_, status=ReportStatus.DRAFT, created_by_id=actor.id)
    previous = current_report(tranche) if round_ == 2 else None
    if previous is not None:
        report.narrative = previous.narrative
        report.outputs = [ReportOutput(kind=o.kind, target=o.target, achieved=o.achieved) for o in previous.outputs]
        report.spending = [ReportSpending(budget_line_id=s.budget_line_id, position=s.position, kind=s.kind,
                                          item=s.item, budget_fen=s.budget_fen, spent_fen=s.spent_fen)
                           for s in previous.spending]
    else:
        application = contract.application
        report.outputs = [ReportOutput(kind=t.kind, target=t.target, achieved=0) for t in application.output_targets]
        report.spending = [ReportSpending(budget_line_id=b.id, position=i, kind=b.kind, item=b.item,
                                          budget_fen=b.amount_fen, spent_fen=0)
                           for i, b in enumerate(b for b in application.budget_lines
                                                 if b.funded_by == FundedBy.GRANT)]
    db.session.add(report)
    db.session.flush()
    record(actor, "report.start", report, after={"tranche_id": tranche.id, "round": round_})
    return report


def save_report(report: ProgressReport, *, narrative: str, achieved: dict[str, int], spent: dict[int, int],
                actor, uploads=(), remove_evidence=()) -> list[str]:
    """Store what the organisation typed; returns problems with uploads (the rest is saved anyway)."""
    from grants.core.storage import UploadRejected, save_upload

    if report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
        raise AssessmentError(_("报告已提交，不能再修改"))
    report.narrative = (narrative or "").strip()
    for out in report.outputs:
        if out.kind in achieved:
            out.achieved = max(0, int(achieved[out.kind]))
    for row in report.spending:
        if row.id in spent:
            row.spent_fen = max(0, int(spent[row.id]))
    for ev in list(report.evidence):
        if ev.id in set(remove_evidence):
            report.evidence.remove(ev)
    problems = []
    for upload in uploads:
        if upload is None or not upload.filename:
            continue
        try:
            stored = save_upload(upload, allowed=EVIDENCE_TYPES, uploader=actor,
                                 organization_id=report.contract.organization_id)
        except UploadRejected as exc:
            problems.append(f"{upload.filename}：{exc.message}")
            continue
        db.session.flush()
        report.evidence.append(ReportEvidence(stored_file=stored, stored_file_id=stored.id))
    db.session.flush()
    return problems


def report_problems(report: ProgressReport) -> dict[str, str]:
    problems = {}
    if len(report.narrative.strip()) < 10:
        problems["narrative"] = _("请填写项目进展情况说明（至少 10 个字）")
    if not report.evidence:
        problems["evidence"] = _("请上传至少一份佐证材料（活动照片、签到表、票据等）")
    return problems


def rectify_deadline_passed(tranche: Tranche, at: dt.datetime | None = None) -> bool:
    """The rectified report must be in by the end of rectify_due_on (Beijing time)."""
    if tranche.rectify_due_on is None:
        return False
    end = dt.datetime.combine(tranche.rectify_due_on + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI)
    return (at or now()) >= end.astimezone(UTC)


def submit_report(report: ProgressReport, actor) -> None:
    """提交: complete reports only; a rectified report only until the rectification deadline."""
    if report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
        raise AssessmentError(_("报告已提交"))
    problems = report_problems(report)
    if problems:
        raise AssessmentError(next(iter(problems.values())), next(iter(problems)))
    tranche = report.tranche
    if report.round == 2 and rectify_deadline_passed(tranche):
        raise AssessmentError(_("整改期限（%(d)s）已过，不能再提交整改报告", d=tranche.rectify_due_on.isoformat()))
    TRANCHE_WORKFLOW.transition(tranche, "submit_report", actor, detail={"report_id": report.id,
                                                                        "round": report.round})
    REPORT_WORKFLOW.transition(report, "submit", actor, audit=False)
    report.submitted_at, report.submitted_by_id = now(), actor.id
    if report.first_submitted_at is None:
        report.first_submitted_at = report.submitted_at
    record(actor, "report.submit", report, after={"status": "submitted", "days_late": report.days_late})
    tell_staff("report_submitted", report.contract, unit_users(report.contract.call.host_unit_id, Role.OFFICER),
               link=f"/reports/{report.id}", report=report.kind_label)


def return_report(report: ProgressReport, actor, comment: str) -> None:
    """退回: the officer sends the report back with comments; the organisation edits and resubmits."""
    comment = (comment or "").strip()
    if not comment:
        raise AssessmentError(_("请填写退回意见"), "comment")
    if report.status != ReportStatus.SUBMITTED:
        raise AssessmentError(_("只能退回已提交、尚未受理的报告"))
    action = "return_rectification" if report.round == 2 else "return_report"
    TRANCHE_WORKFLOW.transition(report.tranche, action, actor, detail={"report_id": report.id})
    REPORT_WORKFLOW.transition(report, "return", actor, audit=False)
    report.officer_comment = comment
    report.returned_at, report.returned_by_id = now(), actor.id
    record(actor, "report.return", report, after={"status": "returned", "comment": comment})
    tell_organization("report_returned", report.contract, link=f"/reports/{report.id}", report=report.kind_label,
                      reason=comment)


def eligible_evaluators(contract: Contract) -> list[User]:
    """Active users with the evaluator role who are not members of the assessed organisation."""
    from grants.accounts.models import UserRole
    from grants.organizations.models import OrganizationMember

    members = sa.select(OrganizationMember.user_id).where(OrganizationMember.organization_id == contract.organization_id)
    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.EVALUATOR, User.is_active_account.is_(True), User.id.not_in(members))
        .order_by(User.display_name, User.id)).unique())


def accept_report(report: ProgressReport, actor, evaluator: User | None, comment: str = "") -> Assessment:
    """受理 and assign an evaluator (第三方评估): a user with the evaluator role, not of the organisation,
    not the officer who accepts. evaluator_id is recorded so finance can keep the duties apart."""
    if report.status != ReportStatus.SUBMITTED:
        raise AssessmentError(_("只能受理已提交的报告"))
    if evaluator is None or not evaluator.has_role(Role.EVALUATOR) or not evaluator.is_active_account:
        raise AssessmentError(_("请选择一位评估人员"), "evaluator_id")
    if evaluator.id == actor.id:
        raise AssessmentError(_("受理报告的项目主管不能同时担任评估人员"), "evaluator_id")
    contract = report.contract
    if evaluator.organization is not None and evaluator.organization.id == contract.organization_id:
        raise AssessmentError(_("评估人员不能是被评估组织的成员"), "evaluator_id")
    REPORT_WORKFLOW.transition(report, "accept", actor, audit=False)
    report.accepted_at, report.accepted_by_id = now(), actor.id
    if comment.strip():
        report.officer_comment = comment.strip()
    criteria_for(contract.call)
    assessment = Assessment(tranche_id=report.tranche_id, report_id=report.id, contract_id=contract.id,
                            round=report.round, status=AssessmentStatus.ASSIGNED, evaluator_id=evaluator.id,
                            assigned_by_id=actor.id, assigned_at=now())
    db.session.add(assessment)
    db.session.flush()
    record(actor, "report.accept", report, after={"status": "accepted", "evaluator_id": evaluator.id,
                                                  "assessment_id": assessment.id})
    tell_organization("report_accepted", contract, link=f"/reports/{report.id}", report=report.kind_label)
    tell_staff("assessment_assigned", contract, [evaluator], link=f"/assessments/{assessment.id}",
               report=report.kind_label)
    return assessment


def submit_assessment(assessment: Assessment, actor, *, points: dict[int, int | None], satisfaction_pct,
                      comment: str = "", rectify_working_days: int | None = None,
                      rectify_due_on: dt.date | None = None) -> Band:
    """评分: the rubric total (normal + bonus − penalty, within 0–100) falls in a band; the band gives the
    grade and payment ratio. A fail in round 1 sends the tranche to rectification; a fail in round 2
    (or a failing band without rectification) withholds it, and a failed final assessment flags a reclaim."""
    if assessment.status != AssessmentStatus.ASSIGNED:
        raise AssessmentError(_("该评估已提交"))
    if actor.id != assessment.evaluator_id:
        raise AssessmentError(_("只有被指派的评估人员可以评分"))
    contract = db.session.get(Contract, assessment.contract_id)
    criteria = criteria_for(contract.call)
    scores, totals = [], {CriterionKind.NORMAL: 0, CriterionKind.BONUS: 0, CriterionKind.PENALTY: 0}
    for c in criteria:
        value = points.get(c.id)
        if value is None:
            if c.kind == CriterionKind.NORMAL:
                raise AssessmentError(_("请为“%(name)s”打分", name=c.name), f"points-{c.id}")
            value = 0
        if not 0 <= value <= c.max_points:
            raise AssessmentError(_("“%(name)s”的分数应在 0 至 %(max)s 之间", name=c.name, max=c.max_points),
                                  f"points-{c.id}")
        scores.append(AssessmentScore(criterion_id=c.id, points=value))
        totals[CriterionKind(c.kind)] += value
    if satisfaction_pct is None or not 0 <= satisfaction_pct <= 100:
        raise AssessmentError(_("请填写服务对象满意度（0–100%）"), "satisfaction_pct")
    total = max(0, min(100, totals[CriterionKind.NORMAL] + totals[CriterionKind.BONUS]
                       - totals[CriterionKind.PENALTY]))
    band = band_for(contract.call, total)
    passed = band.grade != "fail"
    assessment.scores = scores
    assessment.normal_points = totals[CriterionKind.NORMAL]
    assessment.bonus_points = totals[CriterionKind.BONUS]
    assessment.penalty_points = totals[CriterionKind.PENALTY]
    assessment.total_score, assessment.grade = total, band.grade
    assessment.payment_pct = band.payment_pct if passed else 0
    assessment.passed = passed
    assessment.satisfaction_pct = satisfaction_pct
    assessment.comment = (comment or "").strip()
    ASSESSMENT_WORKFLOW.transition(assessment, "submit", actor, audit=False)
    assessment.submitted_at = now()
    tranche = assessment.tranche
    TRANCHE_WORKFLOW.transition(tranche, "assess", actor, roles=SYSTEM_ROLES,
                                detail={"assessment_id": assessment.id, "score": total, "grade": band.grade})
    tranche.grade = band.grade
    if passed:
        mark_tranche_payable(tranche, actor, payment_pct=band.payment_pct)
    elif assessment.round == 1 and band.rectification:
        due = rectify_due_on or rectify_deadline(rectify_working_days or DEFAULT_RECTIFY_WORKING_DAYS)
        tranche.rectify_due_on = due
        tranche.rectify_reason = assessment.comment[:1000]
        TRANCHE_WORKFLOW.transition(tranche, "rectify", actor, roles=SYSTEM_ROLES,
                                    detail={"rectify_due_on": due.isoformat()})
    else:
        withhold_tranche(tranche, actor, reason=_("评估不合格"))
        if tranche.trigger == "final_assessment":
            flag_reclaim(contract, actor, _("结项评估不合格（%(score)s 分）", score=total),
                         link=contract_link(contract))
    if tranche.trigger == "final_assessment" and (passed or tranche.status == TrancheStatus.WITHHELD):
        keep_final_grade(contract)
    if tranche.status in (TrancheStatus.PAYABLE, TrancheStatus.WITHHELD):
        open_next_report(contract, actor)
    if tranche.status == TrancheStatus.WITHHELD:
        close_if_settled(contract, actor)  # a withheld last tranche settles the project too
    tell_organization("assessment_result", contract, tranche=tranche.name, score=total, grade=assessment.grade_label,
                      ratio=assessment.payment_pct, amount=yuan(tranche.payable_fen or 0),
                      withheld=yuan(tranche.withheld_fen) if tranche.withheld_fen else "")
    if tranche.status == TrancheStatus.RECTIFYING:
        tell_organization("rectification", contract, tranche=tranche.name, deadline=tranche.rectify_due_on.isoformat(),
                          reason=assessment.comment)
    record(actor, "assessment.submit", assessment, after={
        "total_score": total, "grade": band.grade, "payment_pct": assessment.payment_pct, "round": assessment.round,
        "satisfaction_pct": satisfaction_pct, "tranche_status": str(tranche.status)})
    return band


def rectify_deadline(working_days: int) -> dt.date:
    """N working days from today; if the year's holidays are not entered yet, Monday–Friday are counted
    (the officer can still move the date)."""
    from grants.core.timeutil import CalendarUnknown

    try:
        return add_working_days(today_local(), working_days)
    except CalendarUnknown:
        day, left = today_local(), working_days
        while left > 0:
            day += dt.timedelta(days=1)
            left -= day.weekday() < 5
        return day


RECTIFY_MAX_DAYS = 365


def set_rectify_deadline(tranche: Tranche, actor, due_on: dt.date) -> None:
    """The officer moves the rectification deadline (a date, entered in Beijing time)."""
    if tranche.status != TrancheStatus.RECTIFYING:
        raise AssessmentError(_("该拨付节点不在整改期"))
    if due_on < today_local():
        raise AssessmentError(_("整改期限不能早于今天"), "due_on")
    # A rectification is weeks of work, not years: a far date is a typing slip (9999-12-31 used to be
    # accepted and made the later withhold overflow).
    if due_on > today_local() + dt.timedelta(days=RECTIFY_MAX_DAYS):
        raise AssessmentError(_("整改期限不能晚于今天起 %(n)s 天", n=RECTIFY_MAX_DAYS), "due_on")
    before = tranche.rectify_due_on
    tranche.rectify_due_on = due_on
    record(actor, "tranche.rectify_deadline", tranche, before={"rectify_due_on": str(before)},
           after={"rectify_due_on": due_on.isoformat()})
    tell_organization("rectification", tranche.contract, tranche=tranche.name, deadline=due_on.isoformat(),
                      reason=_("整改期限已调整"))


def withhold_after_deadline(tranche: Tranche, actor, at: dt.datetime | None = None) -> None:
    """No rectified report by the deadline: the tranche is withheld (and a final one flags a reclaim).

    An officer may press the button; otherwise the scheduler does it (withhold_lapsed_rectifications),
    with actor None (the system). Either way `rectify_lapsed_at` is set, and the rectification reminder
    tells the organisation and the call's officers."""
    if tranche.status != TrancheStatus.RECTIFYING:
        raise AssessmentError(_("该拨付节点不在整改期"))
    if not rectify_deadline_passed(tranche, at):
        raise AssessmentError(_("整改期限尚未届满"))
    withhold_tranche(tranche, actor, reason=_("逾期未提交整改报告"), roles=None)
    tranche.rectify_lapsed_at = at or now()
    contract = tranche.contract
    if tranche.trigger == "final_assessment":
        flag_reclaim(contract, actor, _("结项评估不合格且逾期未整改"), link=contract_link(contract))
        keep_final_grade(contract)
    open_next_report(contract, actor)
    close_if_settled(contract, actor)


def lapsed_rectification_ids(at: dt.datetime) -> list[int]:
    """Tranches of active contracts still rectifying after the end of their rectification deadline."""
    local_today = at.astimezone(SHANGHAI).date()  # the deadline ends at midnight after rectify_due_on
    return list(db.session.scalars(
        sa.select(Tranche.id).join(Contract, Contract.id == Tranche.contract_id)
        .where(Tranche.status == TrancheStatus.RECTIFYING, Contract.status == ContractStatus.ACTIVE,
               Tranche.rectify_due_on.is_not(None), Tranche.rectify_due_on < local_today)
        .order_by(Tranche.id)))


def withhold_lapsed_rectifications(at: dt.datetime) -> int:
    """The scheduler's step: withhold every tranche whose rectification deadline passed without a rectified
    report, one transaction each; returns how many. Exactly once: the tranche is claimed with a row lock
    (PostgreSQL) and re-read, so a second pass running at the same moment finds it withheld and skips it;
    after an outage the next pass finds what the data says is overdue and withholds it then."""
    done, failed = 0, []
    for tranche_id in lapsed_rectification_ids(at):
        stmt = (sa.select(Tranche).where(Tranche.id == tranche_id, Tranche.status == TrancheStatus.RECTIFYING)
                .execution_options(populate_existing=True))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=Tranche)
        try:
            lock_chain()  # before the row (LOCK ORDER, grants/core/audit.py)
            tranche = db.session.scalars(stmt).one_or_none()
            if tranche is None or tranche.contract.status != ContractStatus.ACTIVE \
                    or not rectify_deadline_passed(tranche, at):
                db.session.rollback()  # someone else was first, or the deadline moved meanwhile
                continue
            withhold_after_deadline(tranche, None, at)
            db.session.commit()
        except Exception:  # one broken tranche must not keep the others from being withheld
            db.session.rollback()
            log.exception("withholding tranche %s after its rectification deadline failed", tranche_id)
            failed.append(tranche_id)
            continue
        done += 1
    if failed:  # reported in the pass's errors; the next pass tries them again
        raise RuntimeError(f"{len(failed)} tranche(s) could not be withheld: {failed[:20]} ({done} withheld)")
    return done


def rubric_locked(call) -> bool:
    """Once an assessment of the call is submitted its rubric stays as it was scored."""
    return db.session.scalar(
        sa.select(Assessment.id).join(Contract, Contract.id == Assessment.contract_id)
        .where(Contract.call_id == call.id, Assessment.status == AssessmentStatus.SUBMITTED).limit(1)) is not None


def set_assessment_criteria(call, rows: list[dict], actor) -> dict[str, str]:
    """Replace the call's assessment rubric; returns problems by field (nothing changes when there are any).

    Rows: {"name", "max_points" (int or None), "kind"}. Scored items must add up to 100 points."""
    problems: dict[str, str] = {}
    if rubric_locked(call):
        return {"form": _("已有提交的评估，评估指标不能再修改")}
    seen = set()
    for i, row in enumerate(rows):
        name = (row.get("name") or "").strip()
        if not name:
            problems[f"crit-{i}-name"] = _("请填写指标名称")
        elif name in seen:
            problems[f"crit-{i}-name"] = _("指标名称重复")
        elif len(name) > 50:  # the column's length
            problems[f"crit-{i}-name"] = _("指标名称不超过 %(n)s 字", n=50)
        seen.add(name)
        points = row.get("max_points")
        if points is None or not 1 <= points <= 100:
            problems[f"crit-{i}-max"] = _("满分应为 1 至 100 的整数")
        if row.get("kind") not in {str(k) for k in CriterionKind}:
            problems[f"crit-{i}-kind"] = _("请选择类型")
    normal = sum(r.get("max_points") or 0 for r in rows if r.get("kind") == CriterionKind.NORMAL)
    if not problems and normal != 100:
        problems["form"] = _("评分项满分合计应为 100 分（当前 %(n)s 分）", n=normal)
    if problems:
        return problems
    existing = {c.name: c for c in db.session.scalars(
        sa.select(AssessmentCriterion).where(AssessmentCriterion.call_id == call.id))}
    before = [(c.name, c.max_points, c.kind) for c in existing.values()]
    keep = set()
    for i, row in enumerate(rows):
        c = existing.get(row["name"].strip())
        if c is None:
            c = AssessmentCriterion(call_id=call.id, name=row["name"].strip())
            db.session.add(c)
        c.max_points, c.kind, c.sort = row["max_points"], row["kind"], i
        keep.add(c.name)
    for name, c in existing.items():
        if name not in keep:
            db.session.delete(c)
    db.session.flush()
    record(actor, "assessment.rubric", call, before={"criteria": before},
           after={"criteria": [(r["name"].strip(), r["max_points"], r["kind"]) for r in rows]})
    return {}


# --- 催交: chasing overdue reports -------------------------------------------------------------

def report_overdue_condition(today):
    """SQL: the tranche's report is overdue (still due after its report date) on an active contract."""
    return sa.and_(Tranche.status == TrancheStatus.DUE, Tranche.due_on.is_not(None), Tranche.due_on < today,
                   Tranche.contract_id.in_(sa.select(Contract.id).where(Contract.status == ContractStatus.ACTIVE)))


def chase_report(tranche: Tranche, actor) -> int:
    """催交: remind the organisation's people of an overdue report, at most once a day per tranche; audited.
    Returns how many people were told."""
    from grants.core.audit import record
    from grants.core.models import AuditLog
    from grants.core.timeutil import SHANGHAI, today_local
    from grants.reminders.kinds import DEADLINE
    from grants.reminders.notices import organization_people
    from grants.reminders.services import notify

    contract = tranche.contract
    today = today_local()
    if (contract.status != ContractStatus.ACTIVE or tranche.status != TrancheStatus.DUE or tranche.due_on is None
            or tranche.due_on >= today):
        raise AssessmentError(_("该报告未逾期（或已提交），无需催交"))
    start_of_day = dt.datetime.combine(today, dt.time(0), tzinfo=SHANGHAI).astimezone(dt.timezone.utc)
    if db.session.scalar(sa.select(AuditLog.id).where(
            AuditLog.action == "tranche.chase_report", AuditLog.object_type == "tranche",
            AuditLog.object_id == str(tranche.id), AuditLog.at >= start_of_day).limit(1)):
        raise AssessmentError(_("今天已催交过该报告，请明天再催"))
    people = organization_people(contract.organization_id)
    if not people:
        raise AssessmentError(_("该社会组织没有可接收提醒的账号"))
    days = (today - tranche.due_on).days
    title = _("请尽快提交进度报告：%(p)s", p=contract.project_name)
    body = _("项目“%(p)s”的%(t)s报告应于 %(d)s 前提交，已逾期 %(n)s 天。项目主管提醒您尽快提交，评估通过后方可拨付该期资金。",
             p=contract.project_name, t=tranche.name, d=tranche.due_on.isoformat(), n=days)
    for user in people:
        notify(user, title, body, link=f"/contracts/{contract.id}", kind=DEADLINE.key)
    record(actor, "tranche.chase_report", tranche, after={"due_on": tranche.due_on.isoformat(), "days_overdue": days,
                                                          "told": len(people)})
    return len(people)
