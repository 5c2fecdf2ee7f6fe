"""Contracts (资助协议) and their tranches (拨付节点)."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now, today_local
from grants.extensions import db


def _in_list(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in enum) + ")"


class ContractStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    SIGNED_BY_ORG = "signed_by_org"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


CONTRACT_STATUS_LABELS = {
    ContractStatus.DRAFT: _l("草拟中"),
    ContractStatus.ISSUED: _l("待乙方签署"),
    ContractStatus.SIGNED_BY_ORG: _l("乙方已签署"),
    ContractStatus.ACTIVE: _l("履行中"),
    ContractStatus.COMPLETED: _l("已结项"),
    ContractStatus.TERMINATED: _l("已终止"),
}
CONTRACT_STATUS_BADGES = {
    "draft": "text-bg-secondary", "issued": "text-bg-primary", "signed_by_org": "text-bg-info",
    "active": "text-bg-success", "completed": "text-bg-dark", "terminated": "text-bg-danger",
}


class TrancheStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    REPORT_SUBMITTED = "report_submitted"
    ASSESSED = "assessed"
    PAYABLE = "payable"
    RECTIFYING = "rectifying"
    WITHHELD = "withheld"
    PAID = "paid"


TRANCHE_STATUS_LABELS = {
    TrancheStatus.SCHEDULED: _l("未到期"),
    TrancheStatus.DUE: _l("待提交报告"),
    TrancheStatus.REPORT_SUBMITTED: _l("报告已提交"),
    TrancheStatus.ASSESSED: _l("已评估"),
    TrancheStatus.PAYABLE: _l("待拨付"),
    TrancheStatus.RECTIFYING: _l("整改中"),
    TrancheStatus.WITHHELD: _l("暂缓/不予拨付"),
    TrancheStatus.PAID: _l("已拨付"),
}
TRANCHE_STATUS_BADGES = {
    "scheduled": "text-bg-light", "due": "text-bg-primary", "report_submitted": "text-bg-info",
    "assessed": "text-bg-info", "payable": "text-bg-warning", "rectifying": "text-bg-danger",
    "withheld": "text-bg-dark", "paid": "text-bg-success",
}
# A settled tranche needs nothing more: the money went out, or it never will.
SETTLED_TRANCHE_STATES = frozenset({TrancheStatus.PAID, TrancheStatus.WITHHELD})


class Contract(db.Model):
    """资助协议 between the bureau (甲方) and the organisation (乙方), made from a confirmed award."""

    __tablename__ = "contract"
    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(sa.ForeignKey("award.id"), unique=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    # Per-call prefix and sequence: HT<year>-<call id>-<seq>.
    seq: Mapped[int] = mapped_column(sa.Integer)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    project_name: Mapped[str] = mapped_column(sa.String(100))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default=ContractStatus.DRAFT, index=True)
    period_start_on: Mapped[dt.date] = mapped_column(sa.Date)
    period_end_on: Mapped[dt.date] = mapped_column(sa.Date)
    terms: Mapped[str] = mapped_column(sa.Text, default="")

    # 甲方 and the 乙方 snapshot: what both parties signed, even if the profile changes later.
    party_a_name: Mapped[str] = mapped_column(sa.String(100))
    party_b_name: Mapped[str] = mapped_column(sa.String(100))
    party_b_uscc: Mapped[str] = mapped_column(sa.String(50), default="")  # 统一社会信用代码 or 备案号
    party_b_bank_account_name: Mapped[str] = mapped_column(sa.String(100), default="")
    party_b_bank_name: Mapped[str] = mapped_column(sa.String(100), default="")
    party_b_bank_account_number: Mapped[str] = mapped_column(sa.String(40), default="")

    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signer_name: Mapped[str] = mapped_column(sa.String(50), default="")
    signer_title: Mapped[str] = mapped_column(sa.String(50), default="")
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_scan_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_file.id"))
    countersigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    countersigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    terminated_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    terminated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when a final assessment fails: earlier payments should be reclaimed (追回), see reclaim_suggested().
    reclaim_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reclaim_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Optimistic lock, as on payments: every transition re-reads the row locked (services._locked) and every
    # UPDATE says "WHERE version = <what I read>", so of fifty simultaneous countersigns one is written.
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")

    call = relationship("Call", lazy="joined", innerjoin=True)
    organization = relationship("Organization", lazy="joined", innerjoin=True)
    application = relationship("Application", lazy="select")
    award = relationship("Award", lazy="select")
    signed_scan = relationship("StoredFile", lazy="select")
    countersigned_by = relationship("User", foreign_keys=[countersigned_by_id], lazy="select")
    tranches: Mapped[list["Tranche"]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="Tranche.seq")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "seq", name="uq_contract_call_seq"),
        sa.CheckConstraint(_in_list("status", ContractStatus), name="status_known"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("period_end_on >= period_start_on", name="period_ordered"),
        sa.CheckConstraint("status IN ('draft') OR issued_at IS NOT NULL", name="issued_has_time"),
        sa.CheckConstraint("status IN ('draft','issued') OR status = 'terminated' OR "
                           "(signed_at IS NOT NULL AND signer_name <> '')", name="signed_has_signer"),
        sa.CheckConstraint("status NOT IN ('active','completed') OR countersigned_at IS NOT NULL",
                           name="active_countersigned"),
        sa.CheckConstraint("status <> 'terminated' OR (terminated_at IS NOT NULL AND terminated_reason <> '')",
                           name="terminated_has_reason"),
    )
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self):
        return CONTRACT_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return CONTRACT_STATUS_BADGES.get(self.status, "text-bg-secondary")


class Tranche(db.Model):
    """拨付节点: a scheduled part of the contract amount, paid on signing or after an assessment."""

    __tablename__ = "tranche"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(50))
    percent: Mapped[int] = mapped_column(sa.Integer)
    trigger: Mapped[str] = mapped_column(sa.String(30))
    planned_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default=TrancheStatus.SCHEDULED, index=True)
    # When the organisation's report for this tranche is due (gated tranches only).
    due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # After a failed assessment: the rectified report must be in by this date (整改期限).
    rectify_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    rectify_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Set when the tranche was withheld because no rectified report came by rectify_due_on (逾期未整改),
    # whether by the scheduler or an officer: the rectification reminder tells the people concerned.
    rectify_lapsed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    payment_pct: Mapped[int | None] = mapped_column(sa.Integer)
    payable_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    withheld_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    grade: Mapped[str | None] = mapped_column(sa.String(20))
    payable_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship(back_populates="tranches")

    __table_args__ = (
        sa.UniqueConstraint("contract_id", "seq", name="uq_tranche_contract_seq"),
        sa.CheckConstraint(_in_list("status", TrancheStatus), name="status_known"),
        sa.CheckConstraint("trigger IN ('signing','midterm_assessment','final_assessment')", name="trigger_known"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
        sa.CheckConstraint("planned_fen >= 0", name="planned_nonneg"),
        sa.CheckConstraint("payment_pct IS NULL OR payment_pct BETWEEN 0 AND 100", name="payment_pct_range"),
        # What is paid plus what is withheld is exactly what was planned: no fen is lost.
        sa.CheckConstraint("payable_fen IS NULL OR (payable_fen >= 0 AND withheld_fen IS NOT NULL "
                           "AND withheld_fen >= 0 AND payable_fen + withheld_fen = planned_fen)",
                           name="payable_plus_withheld"),
        sa.CheckConstraint("status NOT IN ('payable','paid') OR payable_fen IS NOT NULL", name="payable_has_amount"),
        sa.CheckConstraint("status <> 'withheld' OR withheld_fen IS NOT NULL", name="withheld_has_amount"),
    )

    @property
    def status_label(self):
        return TRANCHE_STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return TRANCHE_STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def trigger_label(self):
        from grants.calls.models import TRANCHE_TRIGGER_LABELS

        return TRANCHE_TRIGGER_LABELS.get(self.trigger, self.trigger)

    @property
    def is_gated(self) -> bool:
        """Paid only after an assessment (中期 / 结项)."""
        return self.trigger != "signing"

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_TRANCHE_STATES

    @property
    def report_overdue_days(self) -> int:
        """Days since the report's deadline while no report has been submitted (the tranche still waits)."""
        if self.status != TrancheStatus.DUE or self.due_on is None:
            return 0
        return max(0, (today_local() - self.due_on).days)

    @property
    def report_kind(self) -> str | None:
        return {"midterm_assessment": "midterm", "final_assessment": "final"}.get(self.trigger)

    @property
    def grade_label(self):
        from grants.calls.models import GRADE_LABELS

        return GRADE_LABELS.get(self.grade, self.grade) if self.grade else ""


__all__ = [
    "ContractStatus", "CONTRACT_STATUS_LABELS", "TrancheStatus", "TRANCHE_STATUS_LABELS", "SETTLED_TRANCHE_STATES",
    "Contract", "Tranche",
]
