"""The open data's version: one row whose counter moves, in the same transaction, whenever a published
figure changes (grants/disclosure/cache.py keeps it); the cached files and their ETags are named by it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.timeutil import UTCDateTime, now
from grants.extensions import db


class OpenDataVersion(db.Model):
    """A single row (id 1). `token` is drawn when the row is created, so files cached for another database
    (or for this one before it was emptied) never answer for this one's version numbers."""

    __tablename__ = "open_data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=1)
    token: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
