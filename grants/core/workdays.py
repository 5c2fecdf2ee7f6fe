"""Working days with the admin-entered holiday table layered over chinese_calendar."""
from __future__ import annotations

import datetime as dt

import chinese_calendar
import sqlalchemy as sa
from flask_babel import gettext as _

from grants.core import timeutil
from grants.core.audit import record
from grants.core.models import Holiday, HolidayYear
from grants.extensions import db


def holiday_overrides() -> timeutil.HolidayTable:
    """The holiday table and the years marked complete (HolidayYear)."""
    return timeutil.HolidayTable(db.session.execute(sa.select(Holiday.day, Holiday.is_workday)).all(),
                                 db.session.scalars(sa.select(HolidayYear.year)).all())


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The date n working days after `start`, using the holiday table where the library is silent."""
    return timeutil.add_working_days(start, n, holiday_overrides())


def is_workday(day: dt.date) -> bool:
    return timeutil.is_workday(day, holiday_overrides())


def library_knows(year: int) -> bool:
    """Whether chinese_calendar has the State Council's holidays of this year (2004–2026 in this release)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def year_is_known(year: int) -> bool:
    return library_knows(year) or db.session.get(HolidayYear, year) is not None


def mark_year_complete(year: int, actor) -> None:
    """录入完成: the admin confirms every holiday and make-up day of the year is entered; only then do
    working-day deadlines in that year (notices, rectifications) count on it."""
    if library_knows(year):
        raise ValueError(_("%(y)s 年的节假日已内置，无需确认", y=year))
    if db.session.get(HolidayYear, year) is not None:
        return
    entered = db.session.scalar(sa.select(sa.func.count()).select_from(Holiday).where(
        Holiday.day >= dt.date(year, 1, 1), Holiday.day <= dt.date(year, 12, 31))) or 0
    if not entered:
        raise ValueError(_("%(y)s 年尚未录入任何节假日，请先录入国务院公布的放假安排", y=year))
    db.session.add(HolidayYear(year=year, completed_by_id=getattr(actor, "id", None)))
    record(actor, "holiday_year.complete", object_type="holiday_year", object_id=year, after={"days": entered})


def reopen_year(year: int, actor) -> None:
    """Take the confirmation back (a correction is coming): the year is unknown again until confirmed."""
    row = db.session.get(HolidayYear, year)
    if row is None:
        return
    db.session.delete(row)
    record(actor, "holiday_year.reopen", object_type="holiday_year", object_id=year)
