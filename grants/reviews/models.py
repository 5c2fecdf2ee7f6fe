"""Expert review (专家评审): the expert pool, a call's panel, conflicts of interest (回避), assignments,
reviews and their per-criterion scores."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check, enum_values_sql
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class ReviewStage(StrEnum):
    WRITTEN = "written"
    PITCH = "pitch"


STAGE_LABELS = {ReviewStage.WRITTEN: _l("书面评审"), ReviewStage.PITCH: _l("路演答辩")}


class ConflictSource(StrEnum):
    AUTO = "auto"          # detected: the expert works for / belongs to the applicant organisation
    DECLARED = "declared"  # the expert's own declaration before seeing the application
    OFFICER = "officer"    # set by an officer; the expert cannot undo it


CONFLICT_SOURCE_LABELS = {ConflictSource.AUTO: _l("系统识别"), ConflictSource.DECLARED: _l("专家声明"),
                          ConflictSource.OFFICER: _l("主管设定")}


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


REVIEW_STATUS_LABELS = {ReviewStatus.DRAFT: _l("草稿"), ReviewStatus.SUBMITTED: _l("已提交")}


class Recommendation(StrEnum):
    FUND = "fund"
    FUND_WITH_CHANGES = "fund_with_changes"
    REJECT = "reject"


RECOMMENDATION_LABELS = {Recommendation.FUND: _l("资助"), Recommendation.FUND_WITH_CHANGES: _l("修改后资助"),
                         Recommendation.REJECT: _l("不予资助")}


class ExpertProfile(db.Model):
    """An expert of the pool (专家库): specialties, employer and affiliated organisation, contact."""

    __tablename__ = "expert_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    # Field specialties, compared with the applications' category names when assigning.
    specialties: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    employer: Mapped[str] = mapped_column(sa.String(120), default="")
    # A social organisation the expert works for or serves (board member, adviser …): a conflict.
    affiliated_organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    title: Mapped[str] = mapped_column(sa.String(50), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    # The unit that recruited the expert: only its officers (and those above) edit the entry; other units
    # use the expert read-only in their panels.
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)

    user = relationship("User", lazy="joined", innerjoin=True)
    affiliated_organization = relationship("Organization", lazy="joined")
    host_unit = relationship("HostUnit", lazy="joined")

    @property
    def specialties_text(self) -> str:
        return "、".join(self.specialties or [])


class PanelMember(db.Model):
    """An expert invited to a call's panel for one stage (书面评审 / 路演答辩)."""

    __tablename__ = "panel_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), default=ReviewStage.WRITTEN)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    user = relationship("User", foreign_keys=[user_id], lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("call_id", "user_id", "stage", name="uq_panel_member"),
        enum_check("stage", ReviewStage),
    )


class Conflict(db.Model):
    """回避: one expert's conflict status for one application (auto-detected, declared or officer-set).

    has_conflict=False only ever comes from the expert's declaration "无利益冲突", which is what
    unlocks the application's content for them."""

    __tablename__ = "conflict"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))
    has_conflict: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    expert = relationship("User", foreign_keys=[expert_id], lazy="joined", innerjoin=True)
    application = relationship("Application", lazy="select")

    __table_args__ = (
        sa.UniqueConstraint("application_id", "expert_id", name="uq_conflict"),
        enum_check("source", ConflictSource),
        # Only the expert's own declaration can say "no conflict"; auto and officer rows are conflicts.
        sa.CheckConstraint("has_conflict OR source = 'declared'", name="only_declared_clears"),
        sa.CheckConstraint("NOT has_conflict OR source != 'declared' OR length(reason) > 0",
                           name="declared_conflict_has_reason"),
    )

    @property
    def source_label(self):
        return CONFLICT_SOURCE_LABELS.get(self.source, self.source)


class ReviewAssignment(db.Model):
    """An expert assigned to review one application at one stage."""

    __tablename__ = "review_assignment"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), default=ReviewStage.WRITTEN)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    application = relationship("Application", lazy="joined", innerjoin=True)
    expert = relationship("User", foreign_keys=[expert_id], lazy="joined", innerjoin=True)
    review: Mapped["Review | None"] = relationship(back_populates="assignment", uselist=False, lazy="select",
                                                   cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("application_id", "expert_id", "stage", name="uq_review_assignment"),
        enum_check("stage", ReviewStage),
    )

    @property
    def stage_label(self):
        return STAGE_LABELS.get(self.stage, self.stage)


class Review(db.Model):
    """One expert's review of one application at one stage: scores per criterion and comments."""

    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("review_assignment.id", ondelete="CASCADE"),
                                               unique=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), default=ReviewStage.WRITTEN)
    status: Mapped[str] = mapped_column(sa.String(10), default=ReviewStatus.DRAFT)
    overall_comment: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[str | None] = mapped_column(sa.String(20))
    suggested_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Σ points of the scores, kept by save_review() so that ranking reads one row per review, not five.
    points_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopened_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    assignment: Mapped[ReviewAssignment] = relationship(back_populates="review")
    expert = relationship("User", foreign_keys=[expert_id], lazy="joined", innerjoin=True)
    scores: Mapped[list["ReviewScore"]] = relationship(back_populates="review", cascade="all, delete-orphan",
                                                       lazy="selectin", order_by="ReviewScore.criterion_id")

    __table_args__ = (
        # Covers the ranking's read (expert and points_total included): no table lookup per review.
        sa.Index("ix_review_application_stage_status", "application_id", "stage", "status", "expert_id",
                 "points_total"),
        enum_check("stage", ReviewStage),
        enum_check("status", ReviewStatus),
        sa.CheckConstraint(f"recommendation IS NULL OR recommendation IN ({enum_values_sql(Recommendation)})",
                           name="recommendation_known"),
        sa.CheckConstraint("suggested_amount_fen IS NULL OR suggested_amount_fen > 0", name="suggested_positive"),
        sa.CheckConstraint("points_total >= 0", name="points_total_nonneg"),
        # A submitted review is complete: submitted_at, a recommendation and an overall comment.
        sa.CheckConstraint("status != 'submitted' OR (submitted_at IS NOT NULL AND recommendation IS NOT NULL "
                           "AND length(overall_comment) > 0)", name="submitted_complete"),
    )

    @property
    def is_submitted(self) -> bool:
        return self.status == ReviewStatus.SUBMITTED

    @property
    def status_label(self):
        return REVIEW_STATUS_LABELS.get(self.status, self.status)

    @property
    def recommendation_label(self):
        return RECOMMENDATION_LABELS.get(self.recommendation, self.recommendation or "")

    @property
    def points_by_criterion(self) -> dict[int, int]:
        return {s.criterion_id: s.points for s in self.scores}


class ReviewScore(db.Model):
    """The points one review gives one rubric criterion (0 … the criterion's max_points)."""

    __tablename__ = "review_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_criterion.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str] = mapped_column(sa.String(1000), default="")

    review: Mapped[Review] = relationship(back_populates="scores")

    __table_args__ = (
        sa.UniqueConstraint("review_id", "criterion_id", name="uq_review_score"),
        sa.CheckConstraint("points >= 0 AND points <= 100", name="points_range"),
    )


__all__ = [
    "ReviewStage", "STAGE_LABELS", "ConflictSource", "CONFLICT_SOURCE_LABELS", "ReviewStatus", "REVIEW_STATUS_LABELS",
    "Recommendation", "RECOMMENDATION_LABELS", "ExpertProfile", "PanelMember", "Conflict", "ReviewAssignment",
    "Review", "ReviewScore", "RankingState", "RankingRowStored",
]


class RankingState(db.Model):
    """The stored ranking of a call (评分排序缓存): `version` is bumped in the same transaction as every change
    the ranking depends on (grants.reviews.ranking_store.mark_ranking_stale); `computed_version` is the
    version the stored rows were computed at. Stale when they differ (or nothing was computed yet)."""

    __tablename__ = "ranking_state"
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    computed_version: Mapped[int | None] = mapped_column()
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RankingRowStored(db.Model):
    """One application's place in its call's stored ranking: the figures compute_ranking gives, kept as
    computed (scores as their exact decimal text). The application's own columns are read live."""

    __tablename__ = "ranking_row"
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"),
                                                primary_key=True)
    category_id: Mapped[int | None] = mapped_column()
    rank_overall: Mapped[int] = mapped_column()
    rank_in_category: Mapped[int] = mapped_column()
    written_score: Mapped[str | None] = mapped_column(sa.String(40))
    pitch_score: Mapped[str | None] = mapped_column(sa.String(40))
    final_score: Mapped[str | None] = mapped_column(sa.String(40))
    std_dev: Mapped[str | None] = mapped_column(sa.String(40))
    spread: Mapped[str | None] = mapped_column(sa.String(40))
    flagged: Mapped[bool] = mapped_column(default=False)
    review_count: Mapped[int] = mapped_column(default=0)
    pitch_review_count: Mapped[int] = mapped_column(default=0)
    assigned_count: Mapped[int] = mapped_column(default=0)
    complete: Mapped[bool] = mapped_column(default=False)
    mean_z: Mapped[float | None] = mapped_column(sa.Float)
    review_sums: Mapped[str] = mapped_column(sa.Text, default="")
    max_points: Mapped[int] = mapped_column(default=100)

    __table_args__ = (
        sa.Index("ix_ranking_row_overall", "call_id", "rank_overall"),
        sa.Index("ix_ranking_row_category", "call_id", "category_id", "rank_in_category"),
    )


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _keep_points_total(session, _flush_context, _instances) -> None:
    """Review.points_total follows its scores whoever writes them (pages, demo data, other domains' seeds);
    only bulk inserts that bypass the ORM must set it themselves."""
    reviews = set()
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Review):
            reviews.add(obj)
        elif isinstance(obj, ReviewScore) and obj.review is not None:
            reviews.add(obj.review)
    for obj in list(session.deleted):
        if isinstance(obj, ReviewScore) and obj.review is not None and obj.review not in session.deleted:
            reviews.add(obj.review)
    if not reviews:
        return
    with session.no_autoflush:
        for review in reviews:
            total = sum(s.points or 0 for s in review.scores if s not in session.deleted)
            if review.points_total != total:
                review.points_total = total
