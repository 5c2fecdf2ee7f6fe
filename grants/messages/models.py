"""One message of a thread. A thread is the set of messages of one subject (an application or a contract)."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class SubjectType(StrEnum):
    APPLICATION = "application"
    CONTRACT = "contract"


class Message(db.Model):
    """A message to the other side, or (internal) a note the organisation never sees."""

    __tablename__ = "message"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(sa.String(20))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    # Whose record the thread belongs to (the organisation record lists its threads by it).
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # True: written by staff for staff (内部备注), never shown to the organisation nor sent to it.
    internal: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    from_staff: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    attachment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_file.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    author = relationship("User", lazy="joined")
    attachment = relationship("StoredFile", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("subject_type IN ('application','contract')", name="subject_known"),
        sa.CheckConstraint("NOT internal OR from_staff", name="internal_by_staff"),
        sa.Index("ix_message_subject", "subject_type", "subject_id", "created_at"),
    )
