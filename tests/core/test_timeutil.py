import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core import timeutil
from grants.core.timeutil import SHANGHAI, UTC, CalendarUnknown, add_working_days, is_workday


def test_clock_can_be_moved(clock):
    when = dt.datetime(2026, 5, 1, 1, 2, 3, tzinfo=UTC)
    clock.set(when)
    assert timeutil.now() == when
    clock.advance(dt.timedelta(seconds=1))
    assert timeutil.now() == when + dt.timedelta(seconds=1)


def test_clock_rejects_naive():
    with pytest.raises(ValueError):
        timeutil.set_clock(dt.datetime(2026, 1, 1))


def test_local_conversion():
    utc = timeutil.local_to_utc(dt.datetime(2026, 3, 31, 17, 0))
    assert utc == dt.datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    assert timeutil.format_local(utc) == "2026-03-31 17:00"
    assert timeutil.to_local(utc).tzinfo == SHANGHAI


def test_working_days_skip_national_day_and_count_makeup_days():
    # 2026 National Day: 1–7 Oct off; Sunday 27 Sep and Saturday 10 Oct are make-up working days? use the library.
    assert not is_workday(dt.date(2026, 10, 1))
    assert is_workday(dt.date(2026, 9, 30))
    # 5 working days after Wed 30 Sep 2026 skips the whole Golden Week.
    end = add_working_days(dt.date(2026, 9, 30), 5)
    assert end > dt.date(2026, 10, 8)
    # A plain week: Monday + 5 working days = next Monday.
    assert add_working_days(dt.date(2026, 11, 23), 5) == dt.date(2026, 11, 30)


def test_make_up_working_day_counts():
    # Sunday 4 Jan 2026 is a make-up working day (调休) for New Year.
    assert is_workday(dt.date(2026, 1, 4)) is True


def test_unknown_year_needs_admin_holidays():
    with pytest.raises(CalendarUnknown, match="节假日安排尚未录入"):
        is_workday(dt.date(2027, 2, 10))
    overrides = {dt.date(2027, 2, 10): False}
    assert is_workday(dt.date(2027, 2, 10), overrides) is False
    assert is_workday(dt.date(2027, 2, 15), overrides) is True  # plain Monday once the year is entered


def test_utc_column_round_trip(db):
    from grants.core.models import AuditLog  # any table with a UTCDateTime column

    local = dt.datetime(2026, 6, 1, 8, 0, tzinfo=SHANGHAI)
    row = AuditLog(at=local, action="x", object_type="t", object_id="1", prev_hash="0", hash="h" * 64)
    db.session.add(row)
    db.session.flush()
    db.session.expire_all()
    back = db.session.scalar(sa.select(AuditLog.at))
    assert back.tzinfo is not None and back == local


def test_utc_column_rejects_naive(db):
    from grants.core.models import AuditLog

    db.session.add(AuditLog(at=dt.datetime(2026, 1, 1), action="x", object_type="t", object_id="1",
                            prev_hash="0", hash="i" * 64))
    with pytest.raises(Exception):
        db.session.flush()
    db.session.rollback()


def test_holiday_table_overrides_library(db):
    from grants.core.models import Holiday
    from grants.core.workdays import add_working_days as add_db

    db.session.add(Holiday(day=dt.date(2026, 11, 24), is_workday=False, name="测试假日"))
    db.session.flush()
    assert add_db(dt.date(2026, 11, 23), 1) == dt.date(2026, 11, 25)
