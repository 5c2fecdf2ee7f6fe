"""Awards (立项 / 资助决定), their charge to funding sources, the public notice (公示) and objections (异议)."""
from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import SHANGHAI, UTC, UTCDateTime, now
from grants.extensions import db


class AwardStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


AWARD_STATUS_LABELS = {
    AwardStatus.DRAFT: _l("草案"),
    AwardStatus.APPROVED: _l("已审批"),
    AwardStatus.CONFIRMED: _l("已立项"),
    AwardStatus.CANCELLED: _l("已取消"),
}
# Awards that commit money (a cancelled award frees its budget).
ACTIVE_AWARD_STATUSES = (AwardStatus.DRAFT, AwardStatus.APPROVED, AwardStatus.CONFIRMED)


class ObjectionStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


OBJECTION_STATUS_LABELS = {
    ObjectionStatus.OPEN: _l("待处理"),
    ObjectionStatus.UPHELD: _l("异议成立"),
    ObjectionStatus.REJECTED: _l("异议不成立"),
}


class Award(db.Model):
    """The decision to fund one application with an amount (立项)."""

    __tablename__ = "award"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call_category.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default=AwardStatus.DRAFT, index=True)
    rank: Mapped[int | None] = mapped_column(sa.Integer)
    adjustment_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # The officer who last proposed or changed the award; the approver must be someone else.
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The officer who set the split across funding sources by hand (None: the proposed split, recharged
    # with the other drafts in rank order).
    allocation_set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    call = relationship("Call", lazy="joined", innerjoin=True)
    application = relationship("Application", lazy="joined", innerjoin=True)
    organization = relationship("Organization", lazy="joined", innerjoin=True)
    category = relationship("CallCategory", lazy="joined")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id], lazy="select")
    approved_by = relationship("User", foreign_keys=[approved_by_id], lazy="select")
    allocations: Mapped[list["AwardAllocation"]] = relationship(
        back_populates="award", cascade="all, delete-orphan", order_by="AwardAllocation.funding_source_id",
        lazy="selectin")

    __table_args__ = (
        sa.Index("ix_award_call_status", "call_id", "status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        enum_check("status", AwardStatus),
        sa.CheckConstraint("status IN ('draft','cancelled') OR (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
                           name="approved_has_approver"),
        sa.CheckConstraint("status != 'confirmed' OR confirmed_at IS NOT NULL", name="confirmed_has_time"),
    )

    @property
    def status_label(self):
        return AWARD_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_AWARD_STATUSES


class AwardAllocation(db.Model):
    """How much of an award is charged to one of the call's funding sources (资金来源)."""

    __tablename__ = "award_allocation"
    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(sa.ForeignKey("award.id", ondelete="CASCADE"), index=True)
    funding_source_id: Mapped[int] = mapped_column(sa.ForeignKey("call_funding_source.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)

    award: Mapped[Award] = relationship(back_populates="allocations")
    funding_source = relationship("CallFundingSource", lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("award_id", "funding_source_id", name="uq_award_allocation_source"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )


class PublicNotice(db.Model):
    """公示: the award list published for N working days, open to objections until the end date."""

    __tablename__ = "public_notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), unique=True)
    starts_on: Mapped[dt.date] = mapped_column(sa.Date)
    ends_on: Mapped[dt.date] = mapped_column(sa.Date)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    show_panel_names: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    call = relationship("Call", lazy="joined", innerjoin=True)
    objections: Mapped[list["Objection"]] = relationship(back_populates="notice", order_by="Objection.id")

    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="period_ordered"),)

    @property
    def closes_at(self) -> dt.datetime:
        """Objections are accepted until the end date's midnight, Beijing time."""
        midnight = dt.datetime.combine(self.ends_on + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI)
        return midnight.astimezone(UTC)

    @property
    def opens_at(self) -> dt.datetime:
        """Objections are accepted from the start date's midnight, Beijing time (not on the publishing day)."""
        midnight = dt.datetime.combine(self.starts_on, dt.time(0, 0), tzinfo=SHANGHAI)
        return midnight.astimezone(UTC)

    @property
    def has_started(self) -> bool:
        return now() >= self.opens_at

    @property
    def is_open_for_objections(self) -> bool:
        return self.finalized_at is None and self.has_started and now() < self.closes_at

    @property
    def has_ended(self) -> bool:
        return now() >= self.closes_at


# Receipt numbers avoid 0/O and 1/I, which are confused when read out on the phone.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_receipt_no() -> str:
    """受理回执号: YY + the Beijing date + 6 random characters (not guessable from the objection's id)."""
    return f"YY{now().astimezone(SHANGHAI):%Y%m%d}-" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))


class Objection(db.Model):
    """异议: filed by anyone during the notice (name and contact required, kept from the public)."""

    __tablename__ = "objection"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("public_notice.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), index=True)
    award_id: Mapped[int | None] = mapped_column(sa.ForeignKey("award.id"), index=True)
    objector_name: Mapped[str] = mapped_column(sa.String(50))
    contact: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default=ObjectionStatus.OPEN, index=True)
    handling_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    # 受理回执号: shown to the objector and sent to their contact, so they can refer to the objection later.
    receipt_no: Mapped[str] = mapped_column(sa.String(20), unique=True, default=new_receipt_no)

    notice: Mapped[PublicNotice] = relationship(back_populates="objections")
    application = relationship("Application", lazy="joined", innerjoin=True)
    award = relationship("Award", lazy="joined")
    handled_by = relationship("User", foreign_keys=[handled_by_id], lazy="select")
    evidence: Mapped[list["ObjectionEvidence"]] = relationship(
        back_populates="objection", cascade="all, delete-orphan", order_by="ObjectionEvidence.id", lazy="selectin")

    __table_args__ = (
        enum_check("status", ObjectionStatus),
        sa.CheckConstraint("status = 'open' OR (handled_at IS NOT NULL AND handled_by_id IS NOT NULL)",
                           name="handled_has_handler"),
    )

    @property
    def status_label(self):
        return OBJECTION_STATUS_LABELS.get(self.status, self.status)


class ObjectionEvidence(db.Model):
    """A file the objector attached as evidence (证明材料); read only by the officers handling the objection."""

    __tablename__ = "objection_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(sa.ForeignKey("objection.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"), unique=True)

    objection: Mapped[Objection] = relationship(back_populates="evidence")
    stored_file = relationship("StoredFile", lazy="joined", innerjoin=True)


__all__ = [
    "AwardStatus", "AWARD_STATUS_LABELS", "ACTIVE_AWARD_STATUSES", "ObjectionStatus", "OBJECTION_STATUS_LABELS",
    "Award", "AwardAllocation", "PublicNotice", "Objection", "ObjectionEvidence",
]
