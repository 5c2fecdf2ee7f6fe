"""Calls (征集公告 / 一届大赛) and their settings: categories, funding, attachments, rubric, tranches, bands."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class CallStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    REVIEWING = "reviewing"
    NOTICE = "notice"
    FINALIZED = "finalized"
    ARCHIVED = "archived"


CALL_STATUS_LABELS = {
    CallStatus.DRAFT: _l("草稿"),
    CallStatus.PUBLISHED: _l("已发布"),
    CallStatus.REVIEWING: _l("评审中"),
    CallStatus.NOTICE: _l("公示中"),
    CallStatus.FINALIZED: _l("已定项"),
    CallStatus.ARCHIVED: _l("已归档"),
}
# States in which the call is visible to the public.
PUBLIC_STATUSES = frozenset(s for s in CallStatus if s != CallStatus.DRAFT)


class FundingKind(StrEnum):
    WELFARE_LOTTERY = "welfare_lottery"
    FISCAL_MATCHING = "fiscal_matching"
    SOCIAL = "social"
    CHARITY = "charity"
    OTHER = "other"


FUNDING_KIND_LABELS = {
    FundingKind.WELFARE_LOTTERY: _l("福彩公益金"),
    FundingKind.FISCAL_MATCHING: _l("财政配套"),
    FundingKind.SOCIAL: _l("社会资金"),
    FundingKind.CHARITY: _l("慈善资金"),
    FundingKind.OTHER: _l("其他"),
}


class RubricStage(StrEnum):
    WRITTEN = "written"
    PITCH = "pitch"


RUBRIC_STAGE_LABELS = {RubricStage.WRITTEN: _l("书面评审"), RubricStage.PITCH: _l("路演答辩")}


class TrancheTrigger(StrEnum):
    SIGNING = "signing"
    MIDTERM_ASSESSMENT = "midterm_assessment"
    FINAL_ASSESSMENT = "final_assessment"


TRANCHE_TRIGGER_LABELS = {
    TrancheTrigger.SIGNING: _l("协议签订后"),
    TrancheTrigger.MIDTERM_ASSESSMENT: _l("中期评估后"),
    TrancheTrigger.FINAL_ASSESSMENT: _l("结项评估后"),
}


class Grade(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


GRADE_LABELS = {Grade.EXCELLENT: _l("优秀"), Grade.GOOD: _l("良好"), Grade.PASS: _l("合格"), Grade.FAIL: _l("不合格")}


class Aggregation(StrEnum):
    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"


AGGREGATION_LABELS = {Aggregation.MEAN: _l("算术平均"), Aggregation.TRIMMED_MEAN: _l("去掉一个最高分和一个最低分后平均")}


def _in_list(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in enum) + ")"


def _pct(column: str) -> str:
    return f"{column} IS NULL OR ({column} BETWEEN 0 AND 100)"


class Call(db.Model):
    """One round of the contest (一届公益创投大赛) owned by a host unit."""

    __tablename__ = "call"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int] = mapped_column(sa.Integer, index=True)
    level: Mapped[str] = mapped_column(sa.String(10), index=True)
    # 承办单位: runs the call for the bureau and therefore may not apply to it.
    operator_organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=CallStatus.DRAFT, index=True)

    open_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    close_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_start_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notice_working_days: Mapped[int] = mapped_column(sa.Integer, default=5)
    project_start_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    project_end_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    min_grant_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    max_grant_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Share of the project total paid with the organisation's own money (自筹/配套), in percent.
    min_own_funding_pct: Mapped[int] = mapped_column(sa.Integer, default=0)
    max_applications_per_org: Mapped[int] = mapped_column(sa.Integer, default=1)
    filed_org_max_grant_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    filed_org_max_applications: Mapped[int | None] = mapped_column(sa.Integer)
    # Shares of the grant-funded budget, in percent.
    max_personnel_pct: Mapped[int | None] = mapped_column(sa.Integer)
    max_management_pct: Mapped[int | None] = mapped_column(sa.Integer)

    # Eligibility (资格条件)
    require_verified: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    allowed_legal_forms: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    min_years_registered: Mapped[int] = mapped_column(sa.Integer, default=0)
    min_rating: Mapped[int] = mapped_column(sa.Integer, default=0)
    exclude_blacklisted: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    exclude_failed_previous: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    previous_call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call.id"), index=True)

    # Review settings
    reviewers_per_application: Mapped[int] = mapped_column(sa.Integer, default=5)
    show_other_scores: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    blind_review: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    aggregation: Mapped[str] = mapped_column(sa.String(20), default=Aggregation.MEAN)
    pitch_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    pitch_weight_pct: Mapped[int] = mapped_column(sa.Integer, default=40)
    pitch_shortlist_size: Mapped[int | None] = mapped_column(sa.Integer)
    # The bureau's own number of a call brought in by the history import (历史数据导入); None otherwise.
    import_ref: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    # 分数线: no project whose final score is below it is funded (None: no line).
    min_final_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))

    contract_terms: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    host_unit = relationship("HostUnit", lazy="joined")
    operator_organization = relationship("Organization", lazy="select")
    previous_call: Mapped["Call | None"] = relationship(remote_side=[id], lazy="select")

    categories: Mapped[list["CallCategory"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="[CallCategory.sort, CallCategory.id]")
    funding_sources: Mapped[list["CallFundingSource"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallFundingSource.id")
    attachment_requirements: Mapped[list["AttachmentRequirement"]] = relationship(
        back_populates="call", cascade="all, delete-orphan",
        order_by="[AttachmentRequirement.sort, AttachmentRequirement.id]")
    criteria: Mapped[list["RubricCriterion"]] = relationship(
        back_populates="call", cascade="all, delete-orphan",
        order_by="[RubricCriterion.stage.desc(), RubricCriterion.sort, RubricCriterion.id]")
    tranches: Mapped[list["TrancheTemplate"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="TrancheTemplate.seq")
    score_bands: Mapped[list["ScoreBand"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="ScoreBand.min_score.desc()")
    documents: Mapped[list["CallDocument"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallDocument.id")

    __table_args__ = (
        sa.CheckConstraint(_in_list("status", CallStatus), name="status_known"),
        sa.CheckConstraint("level IN ('city','district','street')", name="level_known"),
        sa.CheckConstraint(_in_list("aggregation", Aggregation), name="aggregation_known"),
        sa.CheckConstraint("min_grant_fen >= 0 AND max_grant_fen >= 0", name="grant_nonneg"),
        sa.CheckConstraint("filed_org_max_grant_fen IS NULL OR filed_org_max_grant_fen > 0",
                           name="filed_cap_positive"),
        sa.CheckConstraint("max_applications_per_org >= 1", name="max_apps_positive"),
        sa.CheckConstraint("filed_org_max_applications IS NULL OR filed_org_max_applications >= 1",
                           name="filed_max_apps_positive"),
        sa.CheckConstraint(_pct("min_own_funding_pct"), name="own_pct_range"),
        sa.CheckConstraint(_pct("max_personnel_pct"), name="personnel_pct_range"),
        sa.CheckConstraint(_pct("max_management_pct"), name="management_pct_range"),
        sa.CheckConstraint(_pct("pitch_weight_pct"), name="pitch_pct_range"),
        sa.CheckConstraint("min_rating BETWEEN 0 AND 5", name="min_rating_range"),
        sa.CheckConstraint("min_years_registered >= 0", name="min_years_nonneg"),
        sa.CheckConstraint("notice_working_days >= 1", name="notice_days_positive"),
        sa.CheckConstraint("reviewers_per_application >= 1", name="reviewers_positive"),
        sa.CheckConstraint("pitch_shortlist_size IS NULL OR pitch_shortlist_size >= 1", name="shortlist_positive"),
        sa.CheckConstraint("min_final_score IS NULL OR (min_final_score >= 0 AND min_final_score <= 100)",
                           name="min_final_score_range"),
        sa.CheckConstraint("status = 'draft' OR (open_at IS NOT NULL AND close_at IS NOT NULL)",
                           name="published_has_dates"),
    )

    # --- computed from the clock, never stored ----------------------------------
    @property
    def is_open(self) -> bool:
        """Published and now() within [open_at, close_at)."""
        if self.status != CallStatus.PUBLISHED or self.open_at is None or self.close_at is None:
            return False
        return self.open_at <= now() < self.close_at

    @property
    def is_upcoming(self) -> bool:
        return self.status == CallStatus.PUBLISHED and self.open_at is not None and now() < self.open_at

    @property
    def is_closed_for_applications(self) -> bool:
        """Applications can no longer be submitted: the deadline passed or the call moved on."""
        if self.status == CallStatus.DRAFT:
            return True
        if self.status != CallStatus.PUBLISHED:
            return True
        return self.close_at is not None and now() >= self.close_at

    @property
    def total_budget_fen(self) -> int:
        return sum(s.amount_fen or 0 for s in self.funding_sources)

    @property
    def category_by_id(self) -> dict[int, "CallCategory"]:
        return {c.id: c for c in self.categories}

    @property
    def title_with_year(self) -> str:
        """The title for a document heading: most titles already name their year ("2026年…大赛")."""
        return self.title if str(self.year) in self.title else f"{self.year} 年{self.title}"

    @property
    def status_label(self):
        return CALL_STATUS_LABELS.get(self.status, self.status)

    @property
    def aggregation_label(self):
        return AGGREGATION_LABELS.get(self.aggregation, self.aggregation)

    def criteria_for(self, stage: str) -> list["RubricCriterion"]:
        return [c for c in self.criteria if c.stage == stage]

    def band_for(self, score: float) -> "ScoreBand | None":
        """The score band a score falls in (bands are ordered from the highest min_score down)."""
        for band in sorted(self.score_bands, key=lambda b: -b.min_score):
            if score >= band.min_score:
                return band
        return None

    def __repr__(self) -> str:  # pragma: no cover
        return f"<Call {self.id} {self.title!r} {self.status}>"


class CallCategory(db.Model):
    """项目类别 with an optional budget quota."""

    __tablename__ = "call_category"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    quota_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    sort: Mapped[int] = mapped_column(sa.Integer, default=0)

    call: Mapped[Call] = relationship(back_populates="categories")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "name", name="uq_call_category_name"),
        sa.CheckConstraint("quota_fen IS NULL OR quota_fen > 0", name="quota_positive"),
    )


class CallFundingSource(db.Model):
    """资金来源: a part of the call's budget from one source."""

    __tablename__ = "call_funding_source"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)

    call: Mapped[Call] = relationship(back_populates="funding_sources")

    __table_args__ = (
        sa.CheckConstraint(_in_list("kind", FundingKind), name="kind_known"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    @property
    def kind_label(self):
        return FUNDING_KIND_LABELS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        return self.name or str(self.kind_label)


class AttachmentRequirement(db.Model):
    """An attachment the application must (or may) carry, with the file types allowed."""

    __tablename__ = "attachment_requirement"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    required: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    allowed_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sort: Mapped[int] = mapped_column(sa.Integer, default=0)

    call: Mapped[Call] = relationship(back_populates="attachment_requirements")

    __table_args__ = (sa.UniqueConstraint("call_id", "name", name="uq_attachment_requirement_name"),)


class RubricCriterion(db.Model):
    """评分细则: one criterion of the written or pitch stage."""

    __tablename__ = "rubric_criterion"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), default=RubricStage.WRITTEN)
    name: Mapped[str] = mapped_column(sa.String(50))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    max_points: Mapped[int] = mapped_column(sa.Integer)
    sort: Mapped[int] = mapped_column(sa.Integer, default=0)

    call: Mapped[Call] = relationship(back_populates="criteria")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "stage", "name", name="uq_rubric_criterion_stage_name"),
        sa.CheckConstraint(_in_list("stage", RubricStage), name="stage_known"),
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="points_range"),
    )

    @property
    def stage_label(self):
        return RUBRIC_STAGE_LABELS.get(self.stage, self.stage)


class TrancheTemplate(db.Model):
    """拨付节点 template: the contract's tranches are made from these."""

    __tablename__ = "tranche_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(50))
    percent: Mapped[int] = mapped_column(sa.Integer)
    trigger: Mapped[str] = mapped_column(sa.String(30))

    call: Mapped[Call] = relationship(back_populates="tranches")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "seq", name="uq_tranche_template_seq"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
        sa.CheckConstraint(_in_list("trigger", TrancheTrigger), name="trigger_known"),
    )

    @property
    def trigger_label(self):
        return TRANCHE_TRIGGER_LABELS.get(self.trigger, self.trigger)


class ScoreBand(db.Model):
    """An assessment score band: scores ≥ min_score get this grade and payment ratio."""

    __tablename__ = "score_band"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    min_score: Mapped[int] = mapped_column(sa.Integer)
    grade: Mapped[str] = mapped_column(sa.String(20))
    payment_pct: Mapped[int] = mapped_column(sa.Integer)
    rectification: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    call: Mapped[Call] = relationship(back_populates="score_bands")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "min_score", name="uq_score_band_min_score"),
        sa.CheckConstraint("min_score BETWEEN 0 AND 100", name="min_score_range"),
        sa.CheckConstraint("payment_pct BETWEEN 0 AND 100", name="payment_pct_range"),
        sa.CheckConstraint(_in_list("grade", Grade), name="grade_known"),
    )

    @property
    def grade_label(self):
        return GRADE_LABELS.get(self.grade, self.grade)


class CallDocument(db.Model):
    """A public document of the call (公告原文, 申报书模板 …), downloadable without log-in once published."""

    __tablename__ = "call_document"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))

    call: Mapped[Call] = relationship(back_populates="documents")
    stored_file = relationship("StoredFile", lazy="joined")


__all__: list[Any] = [
    "CallStatus", "CALL_STATUS_LABELS", "PUBLIC_STATUSES", "FundingKind", "FUNDING_KIND_LABELS", "RubricStage",
    "RUBRIC_STAGE_LABELS", "TrancheTrigger", "TRANCHE_TRIGGER_LABELS", "Grade", "GRADE_LABELS", "Aggregation",
    "AGGREGATION_LABELS", "Call", "CallCategory", "CallFundingSource", "AttachmentRequirement", "RubricCriterion",
    "TrancheTemplate", "ScoreBand", "CallDocument",
]
