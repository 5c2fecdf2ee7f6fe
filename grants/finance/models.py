"""Payments (拨款) of payable tranches, their holds (暂停拨付) and reclaims (追回).

A payment is one row per tranche (unique tranche_id) and is released at most once: the service locks
the row (SELECT … FOR UPDATE on PostgreSQL), the mapper's version counter turns a concurrent second
write into an error, and CHECK constraints refuse a release without its bank reference or by the
approver. What each payment charges to the call's funding sources is computed (ledger.py), not stored.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class PaymentStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    SECOND_APPROVED = "second_approved"
    RELEASED = "released"
    HELD = "held"
    RETURNED = "returned"


PAYMENT_STATUS_LABELS = {
    PaymentStatus.REQUESTED: _l("待审核"),
    PaymentStatus.APPROVED: _l("已审核"),
    PaymentStatus.SECOND_APPROVED: _l("已复核"),
    PaymentStatus.RELEASED: _l("已支付"),
    PaymentStatus.HELD: _l("暂停拨付"),
    PaymentStatus.RETURNED: _l("已退回"),
}
PAYMENT_STATUS_BADGES = {
    "requested": "text-bg-primary", "approved": "text-bg-info", "second_approved": "text-bg-info",
    "released": "text-bg-success", "held": "text-bg-danger", "returned": "text-bg-warning",
}
# Work still in finance's hands (the queue's default filter).
OPEN_STATUSES = (PaymentStatus.REQUESTED, PaymentStatus.APPROVED, PaymentStatus.SECOND_APPROVED,
                 PaymentStatus.HELD, PaymentStatus.RETURNED)
# A hold may be put on anything not yet paid out.
HOLDABLE_STATUSES = (PaymentStatus.REQUESTED, PaymentStatus.APPROVED, PaymentStatus.SECOND_APPROVED)


def _in_list(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in enum) + ")"


class Payment(db.Model):
    """拨款: the payment of one tranche, requested automatically when the tranche becomes payable."""

    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(primary_key=True)
    tranche_id: Mapped[int] = mapped_column(sa.ForeignKey("tranche.id"), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    # Copied from the contract so the queue filters and the ledger group without joins.
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default=PaymentStatus.REQUESTED, index=True)

    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    second_approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    second_approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    release_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The bank's transaction number: one transfer pays one payment.
    bank_reference: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    released_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # Payee as it was paid (from the contract's 乙方 snapshot), for the voucher.
    payee_name: Mapped[str] = mapped_column(sa.String(100), default="")
    payee_bank_name: Mapped[str] = mapped_column(sa.String(100), default="")
    payee_account_number: Mapped[str] = mapped_column(sa.String(40), default="")

    # Running total of this payment's reclaims, so a CHECK can refuse reclaiming more than was paid.
    reclaimed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    hold_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    returned_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Optimistic lock: every UPDATE says "WHERE version = <what I read>", so a stale second writer fails.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    tranche = relationship("Tranche", lazy="joined", innerjoin=True)
    contract = relationship("Contract", lazy="joined", innerjoin=True)
    organization = relationship("Organization", lazy="select")
    call = relationship("Call", lazy="select")
    requested_by = relationship("User", foreign_keys=[requested_by_id], lazy="select")
    approved_by = relationship("User", foreign_keys=[approved_by_id], lazy="select")
    second_approved_by = relationship("User", foreign_keys=[second_approved_by_id], lazy="select")
    release_by = relationship("User", foreign_keys=[release_by_id], lazy="select")
    returned_by = relationship("User", foreign_keys=[returned_by_id], lazy="select")
    reclaims: Mapped[list["Reclaim"]] = relationship(back_populates="payment", order_by="Reclaim.id",
                                                     lazy="select")
    holds: Mapped[list["PaymentHold"]] = relationship(back_populates="payment", order_by="PaymentHold.id",
                                                      lazy="select")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(_in_list("status", PaymentStatus), name="status_known"),
        sa.CheckConstraint("status NOT IN ('approved','second_approved','released') OR "
                           "(approved_by_id IS NOT NULL AND approved_at IS NOT NULL)", name="approved_has_approver"),
        sa.CheckConstraint("status <> 'second_approved' OR second_approved_by_id IS NOT NULL",
                           name="second_has_approver"),
        # released ⇒ who, when, the bank reference and the value date are all there.
        sa.CheckConstraint("status <> 'released' OR (release_by_id IS NOT NULL AND released_at IS NOT NULL "
                           "AND released_on IS NOT NULL AND bank_reference IS NOT NULL AND bank_reference <> '')",
                           name="released_complete"),
        # Segregation of duties, kept by the database as well as by the service.
        sa.CheckConstraint("second_approved_by_id IS NULL OR approved_by_id IS NULL OR "
                           "second_approved_by_id <> approved_by_id", name="second_not_first"),
        sa.CheckConstraint("release_by_id IS NULL OR approved_by_id IS NULL OR release_by_id <> approved_by_id",
                           name="releaser_not_approver"),
        sa.CheckConstraint("release_by_id IS NULL OR second_approved_by_id IS NULL OR "
                           "release_by_id <> second_approved_by_id", name="releaser_not_second"),
        sa.CheckConstraint("status <> 'held' OR hold_reason <> ''", name="held_has_reason"),
        sa.CheckConstraint("reclaimed_fen >= 0 AND reclaimed_fen <= amount_fen", name="reclaim_within_paid"),
        sa.CheckConstraint("reclaimed_fen = 0 OR status = 'released'", name="reclaim_only_released"),
        sa.CheckConstraint("status <> 'returned' OR returned_reason <> ''", name="returned_has_reason"),
        sa.Index("ix_payment_call_status", "call_id", "status"),
    )

    @property
    def status_label(self):
        return PAYMENT_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return PAYMENT_STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def net_paid_fen(self) -> int:
        return self.amount_fen - (self.reclaimed_fen or 0) if self.status == PaymentStatus.RELEASED else 0

    @property
    def voucher_number(self) -> str:
        """拨款通知单编号: year of release + payment id."""
        year = self.released_on.year if self.released_on else (self.requested_at.year if self.requested_at else 0)
        return f"BK{year}-{self.id:06d}"

    def __repr__(self) -> str:  # pragma: no cover
        return f"<Payment {self.id} tranche={self.tranche_id} {self.status} {self.amount_fen}>"


class ProjectHold(db.Model):
    """暂停拨付 of a whole project: while it is in force (not lifted) every payment of the contract, also
    one requested later, is held; lifting it lifts the holds it placed."""

    __tablename__ = "project_hold"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    placed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    lift_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    contract = relationship("Contract", lazy="select")
    placed_by = relationship("User", foreign_keys=[placed_by_id], lazy="joined")
    lifted_by = relationship("User", foreign_keys=[lifted_by_id], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("reason <> ''", name="reason_given"),
        sa.CheckConstraint("lifted_at IS NULL OR lift_reason <> ''", name="lift_reason_given"),
        # At most one hold in force per contract: ten officers pressing "暂停整个项目" at once place one.
        sa.Index("uq_project_hold_in_force", "contract_id", unique=True,
                 postgresql_where=sa.text("lifted_at IS NULL"), sqlite_where=sa.text("lifted_at IS NULL")),
    )

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


class PaymentHold(db.Model):
    """One hold on a payment (暂停拨付) and, once lifted, who lifted it and why."""

    __tablename__ = "payment_hold"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payment.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    from_status: Mapped[str] = mapped_column(sa.String(20))
    placed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    lift_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when the hold was placed as part of a project-wide hold.
    project_hold_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project_hold.id"), index=True)

    payment: Mapped[Payment] = relationship(back_populates="holds")
    placed_by = relationship("User", foreign_keys=[placed_by_id], lazy="joined")
    lifted_by = relationship("User", foreign_keys=[lifted_by_id], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("reason <> ''", name="reason_given"),
        sa.CheckConstraint("lifted_at IS NULL OR lift_reason <> ''", name="lift_reason_given"),
    )


class Reclaim(db.Model):
    """追回: money taken back from the organisation, linked to the payment it came from."""

    __tablename__ = "reclaim"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payment.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    # The bank reference of the money coming back, if it has arrived.
    reference: Mapped[str] = mapped_column(sa.String(64), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    payment: Mapped[Payment] = relationship(back_populates="reclaims")
    recorded_by = relationship("User", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("reason <> ''", name="reason_given"),
    )


class SourceCharge(db.Model):
    """台账分摊: the part of one movement of an award's money (a payment, a withheld amount, a reclaim) charged
    to one of its funding sources.

    Written by ledger.resplit_awards (from the session hook that keeps the dashboard's rows) and never by
    hand: each movement is split against what is left of each source of the award's allocation, so a fully
    settled project's paid + withheld per source is exactly its allocation. No source = an award without
    allocations (未分配来源).
    """

    __tablename__ = "source_charge"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), index=True)
    award_id: Mapped[int] = mapped_column(sa.ForeignKey("award.id", ondelete="CASCADE"), index=True)
    funding_source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call_funding_source.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    tranche_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tranche.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment.id", ondelete="CASCADE"), index=True)
    reclaim_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reclaim.id", ondelete="CASCADE"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("kind IN ('paid','withheld','reclaimed')", name="kind_known"),
        sa.CheckConstraint("kind <> 'paid' OR payment_id IS NOT NULL", name="paid_has_payment"),
        sa.CheckConstraint("kind <> 'withheld' OR tranche_id IS NOT NULL", name="withheld_has_tranche"),
        sa.CheckConstraint("kind <> 'reclaimed' OR reclaim_id IS NOT NULL", name="reclaimed_has_reclaim"),
    )


__all__ = [
    "SourceCharge",
    "PaymentStatus", "PAYMENT_STATUS_LABELS", "OPEN_STATUSES", "HOLDABLE_STATUSES", "Payment", "PaymentHold",
    "ProjectHold",
    "Reclaim",
]
