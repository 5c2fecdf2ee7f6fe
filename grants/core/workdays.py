"""Working days with the admin-entered holiday table layered over chinese_calendar."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.core import timeutil
from grants.core.models import Holiday
from grants.extensions import db


def holiday_overrides() -> dict[dt.date, bool]:
    return dict(db.session.execute(sa.select(Holiday.day, Holiday.is_workday)).all())


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The date n working days after `start`, using the holiday table where the library is silent."""
    return timeutil.add_working_days(start, n, holiday_overrides())


def is_workday(day: dt.date) -> bool:
    return timeutil.is_workday(day, holiday_overrides())
