import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core import timeutil
from grants.core.timeutil import SHANGHAI, UTC, CalendarUnknown, HolidayTable, add_working_days, is_workday


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
    overrides = HolidayTable({dt.date(2027, 2, 10): False}, complete_years={2027})
    assert is_workday(dt.date(2027, 2, 10), overrides) is False
    assert is_workday(dt.date(2027, 2, 15), overrides) is True  # plain Monday once the year is confirmed


def test_a_year_with_some_dates_entered_stays_unknown_until_confirmed():
    """Reproduction: one date of 2027 entered made the whole year "known", so a notice in February 2027
    counted Spring Festival days as working days."""
    entered = HolidayTable({dt.date(2027, 1, 1): False})
    with pytest.raises(CalendarUnknown):
        is_workday(dt.date(2027, 2, 10), entered)  # Spring Festival week: not a working day, and not known
    with pytest.raises(CalendarUnknown):
        add_working_days(dt.date(2027, 2, 5), 5, entered)


def test_admin_marks_a_year_complete(db, client, login_as):
    from grants.core.models import Holiday, HolidayYear
    from grants.core.workdays import add_working_days as add_db, year_is_known

    login_as("admin")
    assert client.post("/admin/holidays", data={"day": "2027-02-10", "name": "春节"}).status_code == 302
    assert not year_is_known(2027)
    page = client.get("/admin/holidays").get_data(as_text=True)
    assert "未确认" in page and "确认录入完成" in page
    with pytest.raises(CalendarUnknown):
        add_db(dt.date(2027, 2, 8), 3)
    client.post("/admin/holidays/years", data={"year": "2027", "action": "complete"})
    assert db.session.get(HolidayYear, 2027) is not None and year_is_known(2027)
    assert add_db(dt.date(2027, 2, 8), 3) == dt.date(2027, 2, 12)  # the 10th is the holiday entered
    assert year_is_known(2004) and year_is_known(2026) and not year_is_known(2028)
    # Built-in years need no confirmation; a year with nothing entered cannot be confirmed.
    client.post("/admin/holidays/years", data={"year": "2028", "action": "complete"})
    assert db.session.get(HolidayYear, 2028) is None
    client.post("/admin/holidays/years", data={"year": "2027", "action": "reopen"})
    assert not year_is_known(2027)
    assert db.session.get(Holiday, dt.date(2027, 2, 10)) is not None


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
