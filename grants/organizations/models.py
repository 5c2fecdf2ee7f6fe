"""Host units (主办单位, the bureau tree) and applicant organisations (社会组织) with their members."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.models import enum_check
from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class UnitLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"


UNIT_LEVEL_LABELS = {UnitLevel.CITY: _l("市级"), UnitLevel.DISTRICT: _l("区县级"), UnitLevel.STREET: _l("街道级")}
CHILD_LEVEL = {UnitLevel.CITY: UnitLevel.DISTRICT, UnitLevel.DISTRICT: UnitLevel.STREET}


class HostUnit(db.Model):
    """A civil-affairs bureau or street office that runs calls; units form a tree city → district → street."""

    __tablename__ = "host_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(50))
    level: Mapped[str] = mapped_column(sa.String(10))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    # The district name organisations' addresses use, so figures can be grouped by district.
    region_name: Mapped[str] = mapped_column(sa.String(50), default="")
    # The bureau's own 统一社会信用代码 (机关 codes start with 11): the funder's id in open data (CN-USCI-…).
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    parent = relationship("HostUnit", remote_side=[id], lazy="joined", join_depth=2)

    __table_args__ = (sa.CheckConstraint("level IN ('city','district','street')", name="level_known"),)

    @property
    def level_label(self):
        return UNIT_LEVEL_LABELS[UnitLevel(self.level)]


class LegalForm(StrEnum):
    ASSOCIATION = "association"
    SERVICE_INSTITUTION = "service_institution"
    FOUNDATION = "foundation"
    FILED_COMMUNITY = "filed_community"


LEGAL_FORM_LABELS = {
    LegalForm.ASSOCIATION: _l("社会团体"),
    LegalForm.SERVICE_INSTITUTION: _l("社会服务机构"),
    LegalForm.FOUNDATION: _l("基金会"),
    LegalForm.FILED_COMMUNITY: _l("备案的社区社会组织"),
}


class OrgStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    SUSPENDED = "suspended"


ORG_STATUS_LABELS = {OrgStatus.PENDING: _l("待审核"), OrgStatus.VERIFIED: _l("已认证"), OrgStatus.SUSPENDED: _l("已暂停")}

RATINGS = [(0, _l("未评估")), (1, "1A"), (2, "2A"), (3, "3A"), (4, "4A"), (5, "5A")]
INSPECTION_RESULTS = [("", _l("未参检/不适用")), ("qualified", _l("合格")), ("basically", _l("基本合格")),
                      ("unqualified", _l("不合格"))]


class Organization(db.Model):
    """A community social organisation that applies for grants."""

    __tablename__ = "organization"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    legal_form: Mapped[str] = mapped_column(sa.String(30), index=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    filing_number: Mapped[str | None] = mapped_column(sa.String(50))
    filing_office: Mapped[str | None] = mapped_column(sa.String(100))
    registered_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    registration_authority: Mapped[str] = mapped_column(sa.String(100), default="")
    # The unit of the host-unit tree the organisation is registered or filed with (登记/备案机关): its
    # officers, and those of the units above, verify, suspend, blacklist it and review its change requests.
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    legal_representative: Mapped[str] = mapped_column(sa.String(50), default="")
    rating: Mapped[int] = mapped_column(sa.Integer, default=0)
    annual_inspection: Mapped[str] = mapped_column(sa.String(20), default="")
    district: Mapped[str] = mapped_column(sa.String(50), default="", index=True)
    street: Mapped[str] = mapped_column(sa.String(50), default="")
    community: Mapped[str] = mapped_column(sa.String(50), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    business_scope: Mapped[str] = mapped_column(sa.Text, default="")
    contact_name: Mapped[str] = mapped_column(sa.String(50), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(120), default="")
    bank_account_name: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_name: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_account_number: Mapped[str] = mapped_column(sa.String(40), default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=OrgStatus.PENDING, index=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    blacklisted: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)
    blacklist_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)

    members: Mapped[list["OrganizationMember"]] = relationship(back_populates="organization",
                                                               cascade="all, delete-orphan")
    host_unit = relationship("HostUnit", lazy="select")

    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 0 AND 5", name="rating_range"),
        enum_check("status", OrgStatus),
        # Registered organisations carry a credit code; filed ones a filing number instead.
        sa.CheckConstraint("uscc IS NOT NULL OR filing_number IS NOT NULL", name="identified"),
    )

    @property
    def is_filed(self) -> bool:
        return self.legal_form == LegalForm.FILED_COMMUNITY

    @property
    def legal_form_label(self):
        return LEGAL_FORM_LABELS.get(self.legal_form, self.legal_form)

    @property
    def status_label(self):
        return ORG_STATUS_LABELS.get(self.status, self.status)

    @property
    def rating_label(self) -> str:
        return f"{self.rating}A" if self.rating else str(RATINGS[0][1])

    @property
    def is_verified(self) -> bool:
        return self.status == OrgStatus.VERIFIED


class OrganizationMember(db.Model):
    __tablename__ = "organization_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    is_admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    organization: Mapped[Organization] = relationship(back_populates="members", lazy="joined")
    user = relationship("User", back_populates="membership", lazy="joined")


class Invitation(db.Model):
    """An organisation administrator's invitation for a colleague to join as a member."""

    __tablename__ = "invitation"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invitee_name: Mapped[str] = mapped_column(sa.String(50))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    organization: Mapped[Organization] = relationship(lazy="joined")


class ChangeRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


CHANGE_REQUEST_STATUS_LABELS = {ChangeRequestStatus.PENDING: _l("待审核"), ChangeRequestStatus.APPROVED: _l("已批准"),
                                ChangeRequestStatus.REJECTED: _l("已驳回")}


class OrganizationChangeRequest(db.Model):
    """变更申请: a verified organisation asks to change a verified fact (legal form, credit code or filing
    number, registration date, evaluation rating, legal representative). Until an officer of its unit
    approves, every eligibility check keeps using the verified values on the organisation."""

    __tablename__ = "organization_change_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    # Copied from the organisation when filed, so the officers' queue filters by unit without joins.
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    before: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    after: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_file.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default=ChangeRequestStatus.PENDING, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.String(500), default="")

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
    requested_by = relationship("User", foreign_keys=[requested_by_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id], lazy="joined")
    certificate = relationship("StoredFile", lazy="joined")

    __table_args__ = (
        enum_check("status", ChangeRequestStatus),
    )

    @property
    def status_label(self):
        return CHANGE_REQUEST_STATUS_LABELS.get(self.status, self.status)
