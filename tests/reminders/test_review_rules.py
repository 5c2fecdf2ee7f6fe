"""Review deadlines: experts with unsubmitted written reviews are reminded 3 and 1 days before the
review period ends and once when it has passed; the call's officers get one escalation when overdue."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.reminders.models import CallReminderSetting, Delivery, Notification
from tests import factories
from tests.reviews import factories as rv

END = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.timezone.utc)


def _world(db):
    unit = factories.host_unit()
    officer = factories.user(unit=unit)
    other_unit_officer = factories.user()
    call = rv.review_call(unit, review_start_at=END - dt.timedelta(days=20), review_end_at=END)
    apps = [rv.eligible_application(call) for _ in range(2)]
    slow, done, excused = rv.expert(), rv.expert(), rv.expert()
    a_slow = [rv.assignment(a, slow) for a in apps]
    rv.submitted_review(rv.assignment(apps[0], done), [15, 25, 15, 10, 10])
    rv.assignment(apps[1], excused, declare=True)  # declared a conflict: no review expected
    db.session.commit()
    return call, officer, other_unit_officer, slow, done, excused, a_slow


def _fired(db, rule):
    return db.session.execute(sa.select(Delivery.recipient_id, Delivery.subject_id, Delivery.occurrence)
                              .where(Delivery.rule == rule, Delivery.channel == "in_app").order_by(Delivery.id)).all()


def test_experts_reminded_3_and_1_days_before_and_once_overdue(db, clock, run_pass):
    call, officer, _other, slow, done, excused, a_slow = _world(db)
    days = []
    for hours in range(0, 24 * 9, 3):
        clock.set(END - dt.timedelta(days=5) + dt.timedelta(hours=hours))
        before = len(_fired(db, "review_due"))
        run_pass()
        run_pass()
        for r in _fired(db, "review_due")[before:]:
            days.append((r.recipient_id, r.occurrence.split("@")[0], round((END - clock_now()).total_seconds() / 86400)))
    assert {d[0] for d in days} == {slow.id}
    # One per assignment (two applications) at each occurrence.
    assert [(o, d) for _u, o, d in days] == [("3d", 3), ("3d", 3), ("1d", 1), ("1d", 1), ("overdue", 0), ("overdue", 0)]
    n = db.session.scalars(sa.select(Notification).where(Notification.user_id == slow.id)
                           .order_by(Notification.id)).all()
    assert "即将截止" in n[0].title and "已逾期" in n[-1].title
    assert n[0].link == f"/reviews/assignments/{a_slow[0].id}"


def clock_now():
    from grants.core.timeutil import now

    return now()


def test_officer_gets_one_escalation_when_overdue(db, clock, run_pass):
    call, officer, other_unit_officer, slow, *_ = _world(db)
    clock.set(END - dt.timedelta(hours=1))
    run_pass()
    assert _fired(db, "review_overdue") == []
    for hours in (1, 2, 30, 24 * 6):
        clock.set(END + dt.timedelta(hours=hours))
        run_pass()
    fired = _fired(db, "review_overdue")
    assert [(r.recipient_id, r.subject_id) for r in fired] == [(officer.id, call.id)]
    n = db.session.scalar(sa.select(Notification).where(Notification.user_id == officer.id))
    assert n.kind == "escalation" and "2 份评审未提交" in n.title and f"/reviews/calls/{call.id}/assignments" == n.link


def test_overdue_reminders_caught_up_after_an_outage(db, clock, run_pass):
    call, officer, _o, slow, *_ = _world(db)
    clock.set(END - dt.timedelta(days=4))
    run_pass()
    clock.set(END + dt.timedelta(days=3))  # down for a week over the deadline
    run_pass()
    run_pass()
    assert [r.occurrence.split("@")[0] for r in _fired(db, "review_due")] == ["overdue", "overdue"]
    assert len(_fired(db, "review_overdue")) == 1
    assert all(d.late for d in db.session.scalars(sa.select(Delivery)))


def test_no_review_reminders_once_all_are_in(db, clock, run_pass):
    call, officer, _o, slow, done, excused, a_slow = _world(db)
    for a in a_slow:
        rv.submitted_review(a, [15, 25, 15, 10, 10])
    db.session.commit()
    clock.set(END + dt.timedelta(hours=2))
    run_pass()
    assert _fired(db, "review_due") == [] and _fired(db, "review_overdue") == []


def test_review_reminders_switched_off_for_the_call(db, clock, run_pass):
    call, *_ = _world(db)
    db.session.add_all([CallReminderSetting(call_id=call.id, rule="review_due", enabled=False, offsets=[3, 1, 0]),
                        CallReminderSetting(call_id=call.id, rule="review_overdue", enabled=False, offsets=[0])])
    db.session.commit()
    clock.set(END + dt.timedelta(hours=2))
    run_pass()
    assert _fired(db, "review_due") == [] and _fired(db, "review_overdue") == []
