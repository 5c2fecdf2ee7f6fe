"""公示 ending: the call's officers are told a day before and when it has ended, with open objections."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.awards.models import Objection, PublicNotice
from grants.reminders.models import Delivery, Notification
from tests import factories
from tests.reminders import factories as rf

ENDS_ON = dt.date(2026, 12, 4)  # the notice runs to the end of this day, Beijing time
CLOSES_AT = dt.datetime(2026, 12, 4, 16, 0, tzinfo=dt.timezone.utc)


def _world(db):
    unit = factories.host_unit()
    officer = factories.user(unit=unit)
    factories.user()  # an officer of another unit
    call = rf.call(close_at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc), unit=unit, status="notice")
    notice = PublicNotice(call_id=call.id, starts_on=dt.date(2026, 11, 27), ends_on=ENDS_ON)
    db.session.add(notice)
    db.session.flush()
    app = rf.application(call, factories.organization(), status="awarded")
    handled = dict(handled_by_id=officer.id, handled_at=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc),
                   handling_reason="经核实预算合理")
    db.session.add_all([Objection(notice_id=notice.id, application_id=app.id, objector_name="王某", contact="139",
                                  content="预算不实", status=s, **(handled if s != "open" else {}))
                        for s in ("open", "open", "rejected")])
    db.session.commit()
    return officer, notice


def test_officer_told_a_day_before_and_at_the_end(db, clock, run_pass):
    officer, notice = _world(db)
    fired = []
    for hours in range(0, 24 * 5, 2):
        clock.set(CLOSES_AT - dt.timedelta(days=3) + dt.timedelta(hours=hours))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
        run_pass()
        run_pass()
        rows = db.session.execute(sa.select(Delivery.recipient_id, Delivery.occurrence, Delivery.due_at)
                                  .where(Delivery.channel == "in_app").order_by(Delivery.id)).all()[before:]
        fired += rows
    assert [(r.recipient_id, r.occurrence.split("@")[0], r.due_at) for r in fired] == [
        (officer.id, "1d", CLOSES_AT - dt.timedelta(days=1)), (officer.id, "overdue", CLOSES_AT)]
    texts = db.session.scalars(sa.select(Notification.body).order_by(Notification.id)).all()
    assert all("2 件异议尚未处理" in t for t in texts)


def test_finalized_notice_is_quiet(db, clock, run_pass):
    officer, notice = _world(db)
    notice.finalized_at = CLOSES_AT - dt.timedelta(days=2)
    db.session.commit()
    clock.set(CLOSES_AT + dt.timedelta(hours=1))
    run_pass()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
