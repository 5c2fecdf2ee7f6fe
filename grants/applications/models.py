"""Applications (申报书): the proposal an organisation submits to a call, with its parts."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    UNDER_REVIEW = "under_review"
    SCORED = "scored"
    SHORTLISTED = "shortlisted"
    PITCHED = "pitched"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    ApplicationStatus.DRAFT: _l("草稿"),
    ApplicationStatus.SUBMITTED: _l("已提交"),
    ApplicationStatus.ELIGIBLE: _l("形式审查通过"),
    ApplicationStatus.INELIGIBLE: _l("形式审查不通过"),
    ApplicationStatus.RETURNED: _l("退回修改"),
    ApplicationStatus.WITHDRAWN: _l("已撤回"),
    ApplicationStatus.UNDER_REVIEW: _l("专家评审中"),
    ApplicationStatus.SCORED: _l("已评分"),
    ApplicationStatus.SHORTLISTED: _l("入围路演"),
    ApplicationStatus.PITCHED: _l("已路演"),
    ApplicationStatus.AWARDED: _l("拟资助"),
    ApplicationStatus.NOT_AWARDED: _l("未获资助"),
    ApplicationStatus.CONFIRMED: _l("已立项"),
    ApplicationStatus.CANCELLED: _l("已取消资助"),
}
STATUS_BADGES = {
    "draft": "text-bg-secondary", "submitted": "text-bg-primary", "eligible": "text-bg-success",
    "ineligible": "text-bg-danger", "returned": "text-bg-warning", "withdrawn": "text-bg-light",
    "under_review": "text-bg-info", "scored": "text-bg-info", "shortlisted": "text-bg-info",
    "pitched": "text-bg-info", "awarded": "text-bg-success", "not_awarded": "text-bg-secondary",
    "confirmed": "text-bg-success", "cancelled": "text-bg-danger",
}
# States in which the organisation may still change the application.
EDITABLE_STATES = {ApplicationStatus.DRAFT, ApplicationStatus.RETURNED}


class OutputKind(StrEnum):
    SERVICE_SESSIONS = "service_sessions"
    BENEFICIARIES = "beneficiaries"
    ACTIVITIES = "activities"
    VOLUNTEERS = "volunteers"
    VOLUNTEER_HOURS = "volunteer_hours"


OUTPUT_LABELS = {
    OutputKind.SERVICE_SESSIONS: _l("服务人次"),
    OutputKind.BENEFICIARIES: _l("受益人数"),
    OutputKind.ACTIVITIES: _l("活动场次"),
    OutputKind.VOLUNTEERS: _l("志愿者人数"),
    OutputKind.VOLUNTEER_HOURS: _l("志愿服务时长（小时）"),
}


class BudgetKind(StrEnum):
    PERSONNEL = "personnel"
    ACTIVITY = "activity"
    MATERIALS = "materials"
    PUBLICITY = "publicity"
    MANAGEMENT = "management"
    OTHER = "other"


BUDGET_KIND_LABELS = {
    BudgetKind.PERSONNEL: _l("人员费用"),
    BudgetKind.ACTIVITY: _l("活动费用"),
    BudgetKind.MATERIALS: _l("物资费用"),
    BudgetKind.PUBLICITY: _l("宣传费用"),
    BudgetKind.MANAGEMENT: _l("管理费用"),
    BudgetKind.OTHER: _l("其他费用"),
}


class FundedBy(StrEnum):
    GRANT = "grant"
    OWN = "own"


FUNDED_BY_LABELS = {FundedBy.GRANT: _l("申请资助"), FundedBy.OWN: _l("自筹配套")}

CERTIFICATE_LEVELS = [("", _l("无")), ("assistant", _l("助理社会工作师")), ("social_worker", _l("社会工作师")),
                      ("senior", _l("高级社会工作师"))]


class Application(db.Model):
    """One organisation's proposal (申报书) to one call."""

    __tablename__ = "application"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call_category.id"), index=True)
    # Assigned on the first submission: <year>-<call id>-<sequence>.
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    project_name: Mapped[str] = mapped_column(sa.String(100), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    need_analysis: Mapped[str] = mapped_column(sa.Text, default="")
    objectives: Mapped[str] = mapped_column(sa.Text, default="")
    target_groups: Mapped[str] = mapped_column(sa.Text, default="")
    activity_description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=ApplicationStatus.DRAFT)
    requested_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Derived from the budget lines on every save; stored so lists and exports need no sums.
    own_funding_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_budget_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    declaration_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    screening_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    # A returned application may be resubmitted until this moment instead of the call's close_at.
    return_deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    screened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    screened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set by the final assessment (later issue); 'fail' bars the organisation from the next call.
    final_grade: Mapped[str | None] = mapped_column(sa.String(20))
    # The bureau's own project number of a funded project brought in by the history import; None otherwise.
    import_ref: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    call = relationship("Call", lazy="joined", innerjoin=True)
    organization = relationship("Organization", lazy="joined", innerjoin=True)
    category = relationship("CallCategory", lazy="joined")
    screened_by = relationship("User", foreign_keys=[screened_by_id], lazy="select")

    service_areas: Mapped[list["ServiceArea"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ServiceArea.position")
    activities: Mapped[list["ActivityPlanItem"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ActivityPlanItem.position")
    output_targets: Mapped[list["OutputTarget"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="OutputTarget.id")
    team_members: Mapped[list["TeamMember"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="TeamMember.position")
    budget_lines: Mapped[list["BudgetLine"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="BudgetLine.position")
    attachments: Mapped[list["ApplicationAttachment"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationAttachment.id")

    __table_args__ = (
        sa.Index("ix_application_call_status", "call_id", "status"),
        # the officers' list reads a call's applications newest first, a page at a time
        sa.Index("ix_application_call_submitted", "call_id", "submitted_at", "id"),
        # the district menu of that list reads the call's organisations from the index alone
        sa.Index("ix_application_call_org", "call_id", "organization_id"),
        enum_check("status", ApplicationStatus),
        sa.CheckConstraint("requested_fen >= 0 AND own_funding_fen >= 0 AND total_budget_fen >= 0",
                           name="amounts_not_negative"),
        sa.CheckConstraint("status IN ('draft','withdrawn') OR submitted_at IS NOT NULL", name="submitted_has_time"),
        sa.CheckConstraint("status = 'draft' OR number IS NOT NULL OR status = 'withdrawn'", name="submitted_numbered"),
        sa.CheckConstraint("status != 'returned' OR return_deadline_at IS NOT NULL", name="returned_has_deadline"),
    )

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATES

    @property
    def deadline_at(self) -> dt.datetime:
        """Until when the organisation may submit: the call's close, or the new deadline after a return."""
        if self.status == ApplicationStatus.RETURNED and self.return_deadline_at is not None:
            return self.return_deadline_at
        return self.call.close_at

    @property
    def grant_lines_fen(self) -> int:
        return sum(line.amount_fen for line in self.budget_lines if line.funded_by == FundedBy.GRANT)

    @property
    def display_name(self) -> str:
        return self.project_name or str(_l("（未命名项目）"))


class ServiceArea(db.Model):
    """A street (街道/乡镇) and community (社区/村) the project serves."""

    __tablename__ = "service_area"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    street: Mapped[str] = mapped_column(sa.String(50), default="")
    community: Mapped[str] = mapped_column(sa.String(50), default="")
    application: Mapped[Application] = relationship(back_populates="service_areas")


class ActivityPlanItem(db.Model):
    __tablename__ = "activity_plan_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    title: Mapped[str] = mapped_column(sa.String(100), default="")
    start_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    end_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    application: Mapped[Application] = relationship(back_populates="activities")


class OutputTarget(db.Model):
    """A promised output (绩效目标); one per kind and application."""

    __tablename__ = "output_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[int] = mapped_column(sa.Integer, default=0)
    application: Mapped[Application] = relationship(back_populates="output_targets")

    __table_args__ = (
        sa.UniqueConstraint("application_id", "kind"),
        enum_check("kind", OutputKind),
        sa.CheckConstraint("target >= 0", name="target_not_negative"),
    )

    @property
    def label(self):
        return OUTPUT_LABELS.get(self.kind, self.kind)


class TeamMember(db.Model):
    __tablename__ = "team_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    name: Mapped[str] = mapped_column(sa.String(50), default="")
    role: Mapped[str] = mapped_column(sa.String(50), default="")
    is_social_worker: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    certificate_no: Mapped[str] = mapped_column(sa.String(50), default="")
    certificate_level: Mapped[str] = mapped_column(sa.String(20), default="")
    application: Mapped[Application] = relationship(back_populates="team_members")

    @property
    def certificate_label(self):
        return dict(CERTIFICATE_LEVELS).get(self.certificate_level, self.certificate_level)


class BudgetLine(db.Model):
    """A budget row (预算明细); amount = unit price × quantity, paid by the grant or by own money."""

    __tablename__ = "budget_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    kind: Mapped[str] = mapped_column(sa.String(20), default=BudgetKind.ACTIVITY)
    item: Mapped[str] = mapped_column(sa.String(100), default="")
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(sa.Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    funded_by: Mapped[str] = mapped_column(sa.String(10), default=FundedBy.GRANT)
    application: Mapped[Application] = relationship(back_populates="budget_lines")

    __table_args__ = (
        enum_check("kind", BudgetKind),
        sa.CheckConstraint("funded_by IN ('grant','own')", name="funded_by_known"),
        sa.CheckConstraint("unit_price_fen >= 0 AND quantity >= 0", name="not_negative"),
        sa.CheckConstraint("amount_fen = unit_price_fen * quantity", name="amount_is_product"),
    )

    @property
    def kind_label(self):
        return BUDGET_KIND_LABELS.get(self.kind, self.kind)

    @property
    def funded_by_label(self):
        return FUNDED_BY_LABELS.get(self.funded_by, self.funded_by)


class ApplicationAttachment(db.Model):
    """An uploaded file of an application, optionally answering one of the call's attachment requirements."""

    __tablename__ = "application_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachment_requirement.id"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    application: Mapped[Application] = relationship(back_populates="attachments")
    stored_file = relationship("StoredFile", lazy="joined", innerjoin=True)
    requirement = relationship("AttachmentRequirement", lazy="joined")


class DuplicateDecision(StrEnum):
    CLEARED = "cleared"
    CONFIRMED = "confirmed"


DUPLICATE_DECISION_LABELS = {
    DuplicateDecision.CLEARED: _l("经核查不属于重复资助，可继续"),
    DuplicateDecision.CONFIRMED: _l("属于重复申报/重复资助，不予资助"),
}


class DuplicateReview(db.Model):
    """重复申报认定: the officer's decision, with its reason, on an application flagged as funded (or proposed)
    in another call of the same year or as very similar to another application of that year. The flags seen
    when deciding are kept with it."""

    __tablename__ = "duplicate_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    decided_by = relationship("User", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("decision IN ('cleared','confirmed')", name="decision_known"),
        sa.CheckConstraint("reason <> ''", name="reason_given"),
    )

    @property
    def decision_label(self):
        return DUPLICATE_DECISION_LABELS.get(self.decision, self.decision)


__all__ = [
    "DuplicateDecision", "DUPLICATE_DECISION_LABELS", "DuplicateReview",
    "ApplicationStatus", "STATUS_LABELS", "EDITABLE_STATES", "OutputKind", "OUTPUT_LABELS", "BudgetKind",
    "BUDGET_KIND_LABELS", "FundedBy", "FUNDED_BY_LABELS", "Application", "ServiceArea", "ActivityPlanItem",
    "OutputTarget", "TeamMember", "BudgetLine", "ApplicationAttachment",
]
