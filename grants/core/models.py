"""Cross-cutting tables: the audit chain, uploaded files and admin-entered holidays."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


def enum_values_sql(enum) -> str:
    """'a','b',...: every value of the enum (or the given values) quoted for an SQL IN list."""
    return ",".join(f"'{getattr(v, 'value', v)}'" for v in enum)


def enum_check(column: str, enum: type[StrEnum], name: str | None = None) -> sa.CheckConstraint:
    """CHECK (column IN (...every value of enum...)): the one way a status or kind column refuses an unknown
    value at the database. Named `<column>_known` unless `name` says otherwise."""
    return sa.CheckConstraint(f"{column} IN ({enum_values_sql(enum)})", name=name or f"{column}_known")


class AuditLog(db.Model):
    """Append-only record of every state change; each row's hash chains to the previous row."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(100), default="系统")
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(50))
    object_id: Mapped[str] = mapped_column(sa.String(50))
    # The host unit as rows before revision 0004 recorded it (hashed into those rows, so kept as it was).
    host_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"), index=True)
    before: Mapped[Any | None] = mapped_column(sa.JSON)
    after: Mapped[Any | None] = mapped_column(sa.JSON)
    # Sealed rows: the previous row's hash (in seal order) and this row's chained hash. Unsealed rows (just
    # appended, see grants/core/audit.py): no prev_hash, and `hash` is the row's own content hash.
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The chain's order, 1, 2, 3 … without gaps, given when the row is sealed (None: not sealed yet).
    seal_seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    # The host unit(s) whose work this is, from grants.core.audit.units_of (None = platform-wide: seen only by
    # admins and city-level auditors). Rows of hash_version 2 hash them too; older rows got them from the
    # 0004 data migration, outside their hash, which is why the version is kept per row.
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"))
    unit2_id: Mapped[int | None] = mapped_column(sa.ForeignKey("host_unit.id"))
    hash_version: Mapped[int] = mapped_column(sa.Integer, default=2, server_default="1")

    __table_args__ = (
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        # The audit page lists newest first, (time, id) as its keyset, within the viewer's units.
        sa.Index("ix_audit_log_at_id", "at", "id"),
        sa.Index("ix_audit_log_unit_id_id", "unit_id", "id"),
        sa.Index("ix_audit_log_unit2_id_id", "unit2_id", "id"),
    )


class AuditCheckpoint(db.Model):
    """A signed note of the chain head (last id, its hash, row count) at a moment.

    The signature is an HMAC with a key that is not in the database (AUDIT_KEY), so whoever can rewrite the
    audit table cannot forge a checkpoint; copies kept elsewhere also prove rows were not cut off the end.
    """

    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_id: Mapped[int] = mapped_column(sa.Integer)
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    row_count: Mapped[int] = mapped_column(sa.Integer)
    signature: Mapped[str] = mapped_column(sa.String(64))
    # Which process wrote it: "scheduler", "cli" or "web".
    source: Mapped[str] = mapped_column(sa.String(20), default="cli")


class StoredFile(db.Model):
    """An uploaded file kept under UPLOAD_DIR with a random name; served only after a permission check."""

    __tablename__ = "stored_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    extension: Mapped[str] = mapped_column(sa.String(10))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # Which organisation the file belongs to, so permission checks can scope it.
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (sa.CheckConstraint("size > 0", name="size_positive"),)


class Holiday(db.Model):
    """A public holiday (is_workday False) or make-up working day (调休, is_workday True) entered by an
    admin, for years that chinese_calendar does not know yet or to correct it."""

    __tablename__ = "holiday"
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    name: Mapped[str] = mapped_column(sa.String(50), default="")


class HolidayYear(db.Model):
    """A year whose holidays an admin has finished entering (录入完成). Until then a year the built-in
    calendar does not know is unknown, even with some of its days entered: one date of 2027 must not make
    Spring Festival count as working days."""

    __tablename__ = "holiday_year"
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
