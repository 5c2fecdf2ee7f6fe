"""Report and rectification reminders: each offset once, overdue escalates to the officers."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.assessments import services as svc
from grants.core.timeutil import SHANGHAI
from grants.reminders.models import Delivery
from tests import factories
from tests.assessments.test_assessment_flow import _assess, _report
from tests.contracts import factories as cf


def _sent(db, rule):
    return [(d.recipient_id, d.occurrence.split("@")[0]) for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.rule == rule, Delivery.channel == "in_app").order_by(Delivery.id))]


def test_report_due_reminders(db, clock):
    from grants.reminders.jobs import run_pass

    c = cf.contract(status="active")
    admin = factories.member(c.organization)
    mid = c.tranches[1]
    mid.due_on = dt.date(2026, 7, 2)
    db.session.commit()
    # the deadline is the end of 2 July (Beijing): each reminder's moment is a midnight
    for day, expected in ((dt.date(2026, 6, 19), "14d"), (dt.date(2026, 6, 26), "7d"), (dt.date(2026, 7, 2), "1d"),
                          (dt.date(2026, 7, 4), "overdue1d")):
        clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI))
        assert not run_pass().errors
        run_pass()
        assert (admin.id, expected) in _sent(db, "report_due")
    assert [o for u, o in _sent(db, "report_due") if u == admin.id] == ["14d", "7d", "1d", "overdue1d"]


def test_rectify_overdue_escalates_to_officers(db, clock):
    from grants.reminders.jobs import run_pass

    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    _assess(_report(c.tranches[1], member), officer, cf.evaluator(), (15, 10, 10, 15, 0, 0),
            rectify_due_on=dt.date(2026, 6, 10))
    db.session.commit()
    clock.set(dt.datetime(2026, 6, 10, 9, 0, tzinfo=SHANGHAI))
    run_pass()
    assert (member.id, "1d") in _sent(db, "rectify_due")
    clock.set(dt.datetime(2026, 6, 11, 9, 0, tzinfo=SHANGHAI))
    run_pass()
    sent = _sent(db, "rectify_due")
    assert (officer.id, "overdue") in sent and (member.id, "overdue") in sent
    assert svc.rectify_deadline_passed(c.tranches[1])
