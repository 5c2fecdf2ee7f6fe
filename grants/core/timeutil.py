"""Time: UTC storage, Beijing-time display, a movable clock for tests, and working days.

Every 'now' in the code goes through now() so tests move the clock instead of sleeping.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")

_frozen_now: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware UTC (or the frozen test clock)."""
    if _frozen_now is not None:
        return _frozen_now
    return dt.datetime.now(UTC)


def set_clock(when: dt.datetime | None) -> None:
    """Freeze the clock at `when` (aware), or release it with None. Used by tests and demos."""
    global _frozen_now
    if when is not None and when.tzinfo is None:
        raise ValueError("clock must be timezone-aware")
    _frozen_now = when.astimezone(UTC) if when else None


def today_local(tz: ZoneInfo = SHANGHAI) -> dt.date:
    return now().astimezone(tz).date()


def to_local(value: dt.datetime | None, tz: ZoneInfo = SHANGHAI) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


def local_to_utc(naive_local: dt.datetime, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    """A wall-clock time entered in a form (Beijing time) → aware UTC."""
    return naive_local.replace(tzinfo=tz).astimezone(UTC)


def format_local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; always returns aware UTC, also from SQLite (which drops tz)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --- working days ------------------------------------------------------------

class HolidayTable(dict):
    """Admin-entered days (date → is a working day) and the years whose entry an admin marked complete."""

    def __init__(self, days=(), complete_years=()):
        super().__init__(days)
        self.complete_years = frozenset(complete_years)


class CalendarUnknown(LookupError):
    """The year is beyond chinese_calendar and has no admin-entered holidays."""


def is_workday(day: dt.date, overrides: dict[dt.date, bool] | None = None) -> bool:
    """Monday–Friday minus public holidays plus make-up working days (调休).

    `overrides` (date → is working day) come from the admin-entered Holiday table and win over
    the library, which only knows the years the State Council has already announced.
    """
    if overrides and day in overrides:
        return overrides[day]
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # A year the library does not know counts as known only once an admin marked its holidays complete:
        # one date of 2027 entered must not make Spring Festival working days.
        if day.year in getattr(overrides, "complete_years", ()):
            return day.weekday() < 5
        raise CalendarUnknown(f"{day.year} 年的节假日安排尚未录入（或尚未确认录入完成），"
                              f"请管理员在“节假日设置”中录入并确认")


def add_working_days(start: dt.date, n: int, overrides: dict[dt.date, bool] | None = None) -> dt.date:
    """The date n working days after `start` (start itself not counted)."""
    day = start
    remaining = n
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_workday(day, overrides):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, overrides: dict[dt.date, bool] | None = None) -> int:
    """Working days in (start, end]."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day, overrides):
            count += 1
    return count
