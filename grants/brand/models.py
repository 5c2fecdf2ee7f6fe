"""品牌项目评选: a selection among finished projects (completed contracts), nominations with reasons, a
panel from the expert pool, conflicts (回避), the experts' scores and the winners.

The review models of grants/reviews are bound to applications and calls, so these mirror them minimally
(panel seat, conflict, review with per-criterion scores); the arithmetic is grants/reviews/scoring.py's."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class SelectionStatus(StrEnum):
    DRAFT = "draft"
    NOMINATING = "nominating"
    SCORING = "scoring"
    DECIDED = "decided"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


SELECTION_STATUS_LABELS = {
    SelectionStatus.DRAFT: _l("草拟中"),
    SelectionStatus.NOMINATING: _l("推荐中"),
    SelectionStatus.SCORING: _l("专家评审中"),
    SelectionStatus.DECIDED: _l("已确定入选"),
    SelectionStatus.PUBLISHED: _l("已公布"),
    SelectionStatus.CANCELLED: _l("已取消"),
}
SELECTION_STATUS_BADGES = {
    "draft": "text-bg-secondary", "nominating": "text-bg-primary", "scoring": "text-bg-info",
    "decided": "text-bg-warning", "published": "text-bg-success", "cancelled": "text-bg-dark",
}


class Aggregation(StrEnum):
    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"


class NominationSource(StrEnum):
    OFFICER = "officer"   # 主管推荐
    SELF = "self"         # 组织自荐, accepted or declined by the officer


NOMINATION_SOURCE_LABELS = {NominationSource.OFFICER: _l("主管推荐"), NominationSource.SELF: _l("组织自荐")}


class NominationStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"


NOMINATION_STATUS_LABELS = {NominationStatus.PROPOSED: _l("待确认"), NominationStatus.ACCEPTED: _l("已入围评审"),
                            NominationStatus.DECLINED: _l("未采纳")}


class BrandSelection(db.Model):
    """One 品牌项目评选 of a host unit: which finished projects may take part, the rubric, the winners."""

    __tablename__ = "brand_selection"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    year: Mapped[int] = mapped_column(sa.Integer)
    # Only completed contracts of these calls may be nominated; empty: any call of the unit's subtree.
    call_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    winners_count: Mapped[int] = mapped_column(sa.Integer)
    aggregation: Mapped[str] = mapped_column(sa.String(20), default=Aggregation.MEAN)
    scoring_deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default=SelectionStatus.DRAFT, index=True)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    host_unit = relationship("HostUnit", lazy="joined", innerjoin=True)
    criteria: Mapped[list["BrandCriterion"]] = relationship(
        back_populates="selection", cascade="all, delete-orphan", order_by="BrandCriterion.sort", lazy="selectin")

    __table_args__ = (
        enum_check("status", SelectionStatus),
        enum_check("aggregation", Aggregation),
        sa.CheckConstraint("winners_count >= 1", name="winners_positive"),
        sa.CheckConstraint("status NOT IN ('decided','published') OR decided_at IS NOT NULL",
                           name="decided_has_time"),
        sa.CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_has_time"),
    )

    @property
    def status_label(self):
        return SELECTION_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return SELECTION_STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def max_points(self) -> int:
        return sum(c.max_points for c in self.criteria)


class BrandCriterion(db.Model):
    """评分细则 of a selection: a criterion weighted by its full marks (成效 30, 创新 20 …)."""

    __tablename__ = "brand_criterion"
    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_selection.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    max_points: Mapped[int] = mapped_column(sa.Integer)
    sort: Mapped[int] = mapped_column(sa.Integer, default=0)

    selection: Mapped[BrandSelection] = relationship(back_populates="criteria")

    __table_args__ = (
        sa.UniqueConstraint("selection_id", "name", name="uq_brand_criterion_name"),
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="points_range"),
    )


class BrandNomination(db.Model):
    """A finished project put up for the selection, with the written reason (推荐理由)."""

    __tablename__ = "brand_nomination"
    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_selection.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    # Copied from the contract so that conflict detection and the public marks need no join.
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10))
    reason: Mapped[str] = mapped_column(sa.Text)
    nominated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    declined_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    is_winner: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    rank: Mapped[int | None] = mapped_column(sa.Integer)

    selection: Mapped[BrandSelection] = relationship(lazy="joined", innerjoin=True)
    contract = relationship("Contract", lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("selection_id", "contract_id", name="uq_brand_nomination"),
        enum_check("source", NominationSource),
        enum_check("status", NominationStatus),
        sa.CheckConstraint("length(reason) > 0", name="has_reason"),
        sa.CheckConstraint("NOT is_winner OR status = 'accepted'", name="winner_accepted"),
    )

    @property
    def source_label(self):
        return NOMINATION_SOURCE_LABELS.get(self.source, self.source)

    @property
    def status_label(self):
        return NOMINATION_STATUS_LABELS.get(self.status, self.status)


class BrandPanelMember(db.Model):
    """An expert of the pool on a selection's panel: they score every accepted nomination they are free of."""

    __tablename__ = "brand_panel_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_selection.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    user = relationship("User", foreign_keys=[user_id], lazy="joined", innerjoin=True)

    __table_args__ = (sa.UniqueConstraint("selection_id", "user_id", name="uq_brand_panel_member"),)


class BrandConflict(db.Model):
    """回避 for one expert and one nomination, with the same rules as grants.reviews.models.Conflict."""

    __tablename__ = "brand_conflict"
    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_nomination.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))
    has_conflict: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        sa.UniqueConstraint("nomination_id", "expert_id", name="uq_brand_conflict"),
        sa.CheckConstraint("source IN ('auto','declared','officer')", name="source_known"),
        sa.CheckConstraint("has_conflict OR source = 'declared'", name="only_declared_clears"),
        sa.CheckConstraint("NOT has_conflict OR source != 'declared' OR length(reason) > 0",
                           name="declared_conflict_has_reason"),
    )

    @property
    def source_label(self):
        from grants.reviews.models import CONFLICT_SOURCE_LABELS

        return CONFLICT_SOURCE_LABELS.get(self.source, self.source)


class BrandReview(db.Model):
    """One panel expert's scores of one nomination."""

    __tablename__ = "brand_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_nomination.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # Σ points of the scores, so the ranking reads one row per review.
    points_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    scores: Mapped[list["BrandScore"]] = relationship(back_populates="review", cascade="all, delete-orphan",
                                                      lazy="selectin", order_by="BrandScore.criterion_id")

    __table_args__ = (
        sa.UniqueConstraint("nomination_id", "expert_id", name="uq_brand_review"),
        sa.CheckConstraint("status IN ('draft','submitted')", name="status_known"),
        sa.CheckConstraint("points_total >= 0", name="points_total_nonneg"),
        sa.CheckConstraint("status != 'submitted' OR (submitted_at IS NOT NULL AND length(comment) > 0)",
                           name="submitted_complete"),
    )

    @property
    def is_submitted(self) -> bool:
        return self.status == "submitted"

    @property
    def points_by_criterion(self) -> dict[int, int]:
        return {s.criterion_id: s.points for s in self.scores}


class BrandScore(db.Model):
    __tablename__ = "brand_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_review.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("brand_criterion.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(sa.Integer)

    review: Mapped[BrandReview] = relationship(back_populates="scores")

    __table_args__ = (
        sa.UniqueConstraint("review_id", "criterion_id", name="uq_brand_score"),
        sa.CheckConstraint("points >= 0 AND points <= 100", name="points_range"),
    )


__all__ = [
    "SelectionStatus", "SELECTION_STATUS_LABELS", "NominationSource", "NominationStatus", "BrandSelection",
    "BrandCriterion", "BrandNomination", "BrandPanelMember", "BrandConflict", "BrandReview", "BrandScore",
]
