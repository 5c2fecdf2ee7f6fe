"""Progress reports (中期 / 结项报告) and the assessments (评估) that gate tranches."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now, to_local, today_local
from grants.extensions import db


def _in_list(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in enum) + ")"


class ReportKind(StrEnum):
    MIDTERM = "midterm"
    FINAL = "final"


REPORT_KIND_LABELS = {ReportKind.MIDTERM: _l("中期报告"), ReportKind.FINAL: _l("结项报告")}
ASSESSMENT_KIND_LABELS = {ReportKind.MIDTERM: _l("中期评估"), ReportKind.FINAL: _l("结项评估")}


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


REPORT_STATUS_LABELS = {
    ReportStatus.DRAFT: _l("草稿"),
    ReportStatus.SUBMITTED: _l("已提交"),
    ReportStatus.RETURNED: _l("退回修改"),
    ReportStatus.ACCEPTED: _l("已受理"),
}
REPORT_STATUS_BADGES = {"draft": "text-bg-secondary", "submitted": "text-bg-primary",
                        "returned": "text-bg-warning", "accepted": "text-bg-success"}


class CriterionKind(StrEnum):
    NORMAL = "normal"
    BONUS = "bonus"
    PENALTY = "penalty"


CRITERION_KIND_LABELS = {CriterionKind.NORMAL: _l("评分项"), CriterionKind.BONUS: _l("加分项"),
                         CriterionKind.PENALTY: _l("扣分项")}
# The usual 评估指标 when a call sets none: 100 points plus a bonus and a penalty item.
DEFAULT_CRITERIA = [
    ("项目实施", 30, CriterionKind.NORMAL),
    ("人力物资投入", 20, CriterionKind.NORMAL),
    ("财务管理", 20, CriterionKind.NORMAL),
    ("项目成效", 30, CriterionKind.NORMAL),
    ("创新亮点与媒体报道", 5, CriterionKind.BONUS),
    ("违规违纪、安全事故", 10, CriterionKind.PENALTY),
]


class AssessmentStatus(StrEnum):
    ASSIGNED = "assigned"
    SUBMITTED = "submitted"


ASSESSMENT_STATUS_LABELS = {AssessmentStatus.ASSIGNED: _l("待评估"), AssessmentStatus.SUBMITTED: _l("已评估")}


class AssessmentCriterion(db.Model):
    """One item of a call's assessment rubric (评估指标): scored, bonus or penalty points."""

    __tablename__ = "assessment_criterion"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    max_points: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(10), default=CriterionKind.NORMAL)
    sort: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (
        sa.UniqueConstraint("call_id", "name", name="uq_assessment_criterion_name"),
        sa.CheckConstraint(_in_list("kind", CriterionKind), name="kind_known"),
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="points_range"),
    )

    @property
    def kind_label(self):
        return CRITERION_KIND_LABELS.get(self.kind, self.kind)


class ProgressReport(db.Model):
    """The organisation's report for one gated tranche; round 2 is the rectified resubmission."""

    __tablename__ = "progress_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    tranche_id: Mapped[int] = mapped_column(sa.ForeignKey("tranche.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    round: Mapped[int] = mapped_column(sa.Integer, default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=ReportStatus.DRAFT, index=True)
    narrative: Mapped[str] = mapped_column(sa.Text, default="")
    officer_comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The first submission: a report returned for revision and resubmitted was handed in when it was first
    # submitted, which is what "late" (逾期提交) is measured by.
    first_submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tranche = relationship("Tranche", lazy="joined", innerjoin=True)
    contract = relationship("Contract", lazy="joined", innerjoin=True)
    outputs: Mapped[list["ReportOutput"]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportOutput.id")
    spending: Mapped[list["ReportSpending"]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportSpending.position")
    evidence: Mapped[list["ReportEvidence"]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportEvidence.id")

    __table_args__ = (
        sa.UniqueConstraint("tranche_id", "round", name="uq_progress_report_round"),
        sa.CheckConstraint(_in_list("kind", ReportKind), name="kind_known"),
        sa.CheckConstraint(_in_list("status", ReportStatus), name="status_known"),
        sa.CheckConstraint("round IN (1, 2)", name="round_known"),
        sa.CheckConstraint("status = 'draft' OR submitted_at IS NOT NULL", name="submitted_has_time"),
    )

    @property
    def kind_label(self):
        return REPORT_KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self):
        return REPORT_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return REPORT_STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def due_on(self) -> dt.date | None:
        """The report's deadline: the tranche's report date, or for a rectified report (round 2) 整改期限."""
        return self.tranche.due_on if self.round == 1 else self.tranche.rectify_due_on

    @property
    def days_late(self) -> int:
        """Days past the deadline (Beijing dates) when first submitted; while unsubmitted, days overdue so far."""
        due = self.due_on
        if due is None:
            return 0
        handed_in = self.first_submitted_at or self.submitted_at
        day = to_local(handed_in).date() if handed_in is not None else today_local()
        return max(0, (day - due).days)

    @property
    def spent_total_fen(self) -> int:
        return sum(s.spent_fen for s in self.spending)

    @property
    def budget_total_fen(self) -> int:
        return sum(s.budget_fen for s in self.spending)


class ReportOutput(db.Model):
    """Outputs achieved so far against one promised target (绩效目标完成情况)."""

    __tablename__ = "report_output"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[int] = mapped_column(sa.Integer, default=0)
    achieved: Mapped[int] = mapped_column(sa.Integer, default=0)

    report: Mapped[ProgressReport] = relationship(back_populates="outputs")

    __table_args__ = (
        sa.UniqueConstraint("report_id", "kind", name="uq_report_output_kind"),
        sa.CheckConstraint("target >= 0 AND achieved >= 0", name="not_negative"),
    )

    @property
    def label(self):
        from grants.applications.models import OUTPUT_LABELS

        return OUTPUT_LABELS.get(self.kind, self.kind)

    @property
    def pct(self) -> int | None:
        return round(self.achieved * 100 / self.target) if self.target else None


class ReportSpending(db.Model):
    """Spending on one grant-funded budget line against its budget (资金使用情况)."""

    __tablename__ = "report_spending"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_report.id", ondelete="CASCADE"), index=True)
    budget_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("budget_line.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    kind: Mapped[str] = mapped_column(sa.String(20))
    item: Mapped[str] = mapped_column(sa.String(100), default="")
    budget_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    spent_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    report: Mapped[ProgressReport] = relationship(back_populates="spending")

    __table_args__ = (sa.CheckConstraint("budget_fen >= 0 AND spent_fen >= 0", name="not_negative"),)

    @property
    def kind_label(self):
        from grants.applications.models import BUDGET_KIND_LABELS

        return BUDGET_KIND_LABELS.get(self.kind, self.kind)

    @property
    def pct(self) -> int | None:
        return round(self.spent_fen * 100 / self.budget_fen) if self.budget_fen else None


class ReportEvidence(db.Model):
    """An evidence file (活动照片、签到表、票据) attached to a report."""

    __tablename__ = "report_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_report.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    report: Mapped[ProgressReport] = relationship(back_populates="evidence")
    stored_file = relationship("StoredFile", lazy="joined", innerjoin=True)


class Assessment(db.Model):
    """An evaluator's scoring of one report; its band decides the tranche's payment ratio (评估兑现).

    evaluator_id is recorded so that payments can refuse an approver or releaser who assessed the tranche.
    """

    __tablename__ = "assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    tranche_id: Mapped[int] = mapped_column(sa.ForeignKey("tranche.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_report.id", ondelete="CASCADE"), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(sa.Integer, default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=AssessmentStatus.ASSIGNED, index=True)
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    satisfaction_pct: Mapped[int | None] = mapped_column(sa.Integer)
    normal_points: Mapped[int | None] = mapped_column(sa.Integer)
    bonus_points: Mapped[int | None] = mapped_column(sa.Integer)
    penalty_points: Mapped[int | None] = mapped_column(sa.Integer)
    total_score: Mapped[int | None] = mapped_column(sa.Integer)
    grade: Mapped[str | None] = mapped_column(sa.String(20))
    payment_pct: Mapped[int | None] = mapped_column(sa.Integer)
    passed: Mapped[bool | None] = mapped_column(sa.Boolean)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tranche = relationship("Tranche", lazy="joined", innerjoin=True)
    report = relationship("ProgressReport", lazy="select")
    evaluator = relationship("User", foreign_keys=[evaluator_id], lazy="joined", innerjoin=True)
    scores: Mapped[list["AssessmentScore"]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="AssessmentScore.id")

    __table_args__ = (
        sa.UniqueConstraint("tranche_id", "round", name="uq_assessment_tranche_round"),
        sa.CheckConstraint(_in_list("status", AssessmentStatus), name="status_known"),
        sa.CheckConstraint("round IN (1, 2)", name="round_known"),
        sa.CheckConstraint("satisfaction_pct IS NULL OR satisfaction_pct BETWEEN 0 AND 100",
                           name="satisfaction_range"),
        sa.CheckConstraint("total_score IS NULL OR total_score BETWEEN 0 AND 100", name="total_range"),
        sa.CheckConstraint("payment_pct IS NULL OR payment_pct BETWEEN 0 AND 100", name="payment_pct_range"),
        sa.CheckConstraint("status <> 'submitted' OR (submitted_at IS NOT NULL AND total_score IS NOT NULL "
                           "AND grade IS NOT NULL AND payment_pct IS NOT NULL AND passed IS NOT NULL)",
                           name="submitted_complete"),
    )

    @property
    def status_label(self):
        return ASSESSMENT_STATUS_LABELS.get(self.status, self.status)

    @property
    def grade_label(self):
        from grants.calls.models import GRADE_LABELS

        return GRADE_LABELS.get(self.grade, self.grade) if self.grade else ""

    @property
    def kind_label(self):
        return ASSESSMENT_KIND_LABELS.get(self.tranche.report_kind, "")


class AssessmentScore(db.Model):
    __tablename__ = "assessment_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_criterion.id"), index=True)
    points: Mapped[int] = mapped_column(sa.Integer)

    assessment: Mapped[Assessment] = relationship(back_populates="scores")
    criterion = relationship("AssessmentCriterion", lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "criterion_id", name="uq_assessment_score_criterion"),
        sa.CheckConstraint("points >= 0", name="points_nonneg"),
    )


__all__ = [
    "ReportKind", "REPORT_KIND_LABELS", "ReportStatus", "REPORT_STATUS_LABELS", "CriterionKind",
    "CRITERION_KIND_LABELS", "DEFAULT_CRITERIA", "AssessmentStatus", "ASSESSMENT_STATUS_LABELS",
    "AssessmentCriterion", "ProgressReport", "ReportOutput", "ReportSpending", "ReportEvidence", "Assessment",
    "AssessmentScore",
]
