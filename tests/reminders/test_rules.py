"""The rules fire at each offset exactly once, late reminders collapse, switched-off rules stay quiet."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.applications.models import ApplicationStatus
from grants.reminders.models import CallReminderSetting, Delivery, Notification, OutboxMail, ReminderRule
from grants.reminders.registry import latest_due
from tests import factories
from tests.reminders import factories as rf

CLOSE = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)  # 17:00 in Beijing


def _setup(db, with_email=True):
    org = factories.organization()
    admin = factories.member(org, email="admin@example.org" if with_email else None)
    colleague = factories.member(org, is_admin=False, email="colleague@example.org" if with_email else None)
    c = rf.call(close_at=CLOSE)
    app = rf.application(c, org)
    db.session.commit()
    return org, admin, colleague, c, app


def _deliveries(db, rule="call_closing"):
    return db.session.execute(sa.select(Delivery.recipient_id, Delivery.occurrence, Delivery.channel, Delivery.late)
                              .where(Delivery.rule == rule).order_by(Delivery.id)).all()


def _occurrences(db, rule="call_closing", channel="in_app"):
    return [d.occurrence.split("@")[0] for d in _deliveries(db, rule) if d.channel == channel]


def test_latest_due_picks_the_most_recent_offset_and_lapses_after_the_deadline():
    d = CLOSE
    assert latest_due(d, (7, 3, 1), d - dt.timedelta(days=8)) is None
    assert latest_due(d, (7, 3, 1), d - dt.timedelta(days=7)).offset == 7
    assert latest_due(d, (7, 3, 1), d - dt.timedelta(days=2)).offset == 3
    assert latest_due(d, (7, 3, 1), d - dt.timedelta(hours=1)).offset == 1
    assert latest_due(d, (7, 3, 1), d) is None
    assert latest_due(d, (3, -1, -7), d + dt.timedelta(days=2)).offset == -1
    assert latest_due(d, (3, -1, -7), d + dt.timedelta(days=8)).occurrence.startswith("overdue7d@")


def test_call_closing_fires_at_7_3_1_days_exactly_once_each(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    day = dt.timedelta(days=1)
    # Step the clock only across the moments that matter (a second before, at, and an hour after each
    # offset's moment and the close), with two passes at each step: each offset fires once, at its moment.
    second, hour = dt.timedelta(seconds=1), dt.timedelta(hours=1)
    moments = [CLOSE - n * day for n in (7, 3, 1)] + [CLOSE]
    steps = sorted({CLOSE - 10 * day, CLOSE + 2 * day} | {m + d for m in moments for d in (-second, 0 * second, hour)})
    for at in steps:
        clock.set(at)
        before = len(_occurrences(db))
        run_pass()
        run_pass()
        fired = len(_occurrences(db)) - before
        assert fired == (2 if at in moments[:3] else 0), (at, fired)  # admin and colleague, at the moment itself
    assert sorted(_occurrences(db)) == sorted(["7d", "7d", "3d", "3d", "1d", "1d"])  # admin and colleague
    # Nobody got anything twice, on any channel.
    rows = _deliveries(db)
    assert len(rows) == len(set(rows))
    assert not any(r.late for r in rows)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 6


def test_each_offset_fires_on_its_day(db, clock, run_pass):
    _setup(db)
    expected = {7: "7d", 3: "3d", 1: "1d"}
    for days_before in range(9, -1, -1):
        clock.set(CLOSE - dt.timedelta(days=days_before) + dt.timedelta(minutes=1))
        before = len(_occurrences(db))
        run_pass()
        new = _occurrences(db)[before:]
        if days_before in expected:
            assert set(new) == {expected[days_before]}, (days_before, new)
            assert len(new) == 2  # the organisation's two members
        else:
            assert new == [], (days_before, new)


def test_responsible_person_gets_critical_kind_others_cc(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    clock.set(CLOSE - dt.timedelta(days=2))
    run_pass()
    kinds = dict(db.session.execute(sa.select(Notification.user_id, Notification.kind)).all())
    assert kinds == {admin.id: "deadline", colleague.id: "deadline_cc"}
    n = db.session.scalar(sa.select(Notification).where(Notification.user_id == admin.id))
    assert c.title in n.title and app.project_name in n.body
    assert n.link == f"/applications/{app.id}"


def test_submitted_applications_and_unpublished_calls_get_nothing(db, clock, run_pass):
    org = factories.organization()
    factories.member(org)
    c = rf.call(close_at=CLOSE)
    rf.application(c, org, status=ApplicationStatus.SUBMITTED)
    draft_call = rf.call(close_at=CLOSE, status="draft")
    rf.application(draft_call, org)
    db.session.commit()
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    assert _deliveries(db) == []


def test_outage_sends_one_late_reminder_not_a_flood(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    clock.set(CLOSE - dt.timedelta(days=10))
    run_pass()
    assert _deliveries(db) == []
    # The scheduler is down for 9.5 days: the 7-, 3- and 1-day reminders were all missed.
    clock.set(CLOSE - dt.timedelta(hours=12))
    run_pass()
    run_pass()
    assert _occurrences(db) == ["1d", "1d"]
    assert all(d.late for d in _deliveries(db))
    n = db.session.scalar(sa.select(Notification).where(Notification.user_id == admin.id))
    assert n.late and "延后送达" in n.body
    assert db.session.scalar(sa.select(OutboxMail.subject).where(OutboxMail.to_address == "admin@example.org")) \
        .endswith("【补发】申报即将截止：" + c.title)


def test_new_data_after_the_moment_is_not_late(db, clock, run_pass):
    """A draft started 20 hours before the close gets the 1-day reminder at once, not marked late."""
    clock.set(CLOSE - dt.timedelta(days=2))
    run_pass()
    clock.set(CLOSE - dt.timedelta(hours=20))
    run_pass()
    _setup(db)
    run_pass()
    assert _occurrences(db) == ["1d", "1d"]
    assert not any(d.late for d in _deliveries(db))
    assert "延后" not in db.session.scalars(sa.select(Notification.body)).first()


def test_three_day_outage_sends_each_missed_reminder_once(db, clock, run_pass):
    _setup(db)
    clock.set(CLOSE - dt.timedelta(days=7) + dt.timedelta(minutes=5))
    run_pass()  # the 7-day reminder, on time
    clock.set(CLOSE - dt.timedelta(days=3) + dt.timedelta(hours=2))  # down over the 3-day moment
    run_pass()
    clock.set(CLOSE - dt.timedelta(days=1) + dt.timedelta(minutes=5))
    run_pass()
    rows = [d for d in _deliveries(db) if d.channel == "in_app" and d.recipient_id == _deliveries(db)[0].recipient_id]
    assert [(r.occurrence.split("@")[0], r.late) for r in rows] == [("7d", False), ("3d", True), ("1d", False)]


def test_moved_deadline_starts_afresh(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    clock.set(CLOSE - dt.timedelta(hours=20))
    run_pass()
    assert _occurrences(db) == ["1d", "1d"]
    c.close_at = CLOSE + dt.timedelta(days=7)  # the officer extends the call
    db.session.commit()
    run_pass()
    assert _occurrences(db) == ["1d", "1d"]  # the new 7-day moment has not come yet
    clock.set(CLOSE + dt.timedelta(minutes=1))
    run_pass()
    assert _occurrences(db) == ["1d", "1d", "7d", "7d"]


def test_rule_switched_off_for_a_call_does_not_fire(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    other = rf.call(close_at=CLOSE)
    other_app = rf.application(other, org)
    db.session.add(CallReminderSetting(call_id=c.id, rule="call_closing", enabled=False, offsets=[7, 3, 1]))
    db.session.commit()
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    subjects = set(db.session.scalars(sa.select(Delivery.subject_id)))
    assert subjects == {other_app.id}


def test_per_call_offsets_replace_the_defaults(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    db.session.add(CallReminderSetting(call_id=c.id, rule="call_closing", enabled=True, offsets=[14, 2]))
    db.session.commit()
    fired = []
    for days_before in range(16, 0, -1):
        clock.set(CLOSE - dt.timedelta(days=days_before) + dt.timedelta(minutes=1))
        before = len(_occurrences(db))
        run_pass()
        fired += [(days_before, o) for o in _occurrences(db)[before:]]
    assert fired == [(14, "14d"), (14, "14d"), (2, "2d"), (2, "2d")]


def test_rule_switched_off_platform_wide(db, clock, run_pass):
    _setup(db)
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()  # seeds the rows
    db.session.execute(sa.delete(Delivery))
    db.session.execute(sa.update(ReminderRule).where(ReminderRule.rule == "call_closing").values(enabled=False))
    db.session.commit()
    run_pass()
    assert _deliveries(db) == []


def test_returned_application_deadline_in_3_and_1_days(db, clock, run_pass):
    org = factories.organization()
    admin = factories.member(org)
    c = rf.call(close_at=CLOSE - dt.timedelta(days=20))
    deadline = CLOSE
    app = rf.application(c, org, status=ApplicationStatus.RETURNED, return_deadline_at=deadline)
    db.session.commit()
    fired = []
    for hours in range(0, 24 * 6, 4):
        clock.set(deadline - dt.timedelta(days=5) + dt.timedelta(hours=hours))
        before = len(_occurrences(db, "return_deadline"))
        run_pass()
        run_pass()
        fired += _occurrences(db, "return_deadline")[before:]
    assert fired == ["3d", "1d"]
    n = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    assert [x.user_id for x in n] == [admin.id, admin.id]
    assert "退回修改" in n[0].title and n[0].link == f"/applications/{app.id}"


def test_inactive_members_get_nothing(db, clock, run_pass):
    org, admin, colleague, c, app = _setup(db)
    colleague.is_active_account = False
    db.session.commit()
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    assert {d.recipient_id for d in _deliveries(db)} == {admin.id}


def test_member_without_email_gets_in_app_only(db, clock, run_pass):
    _setup(db, with_email=False)
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    assert {d.channel for d in _deliveries(db)} == {"in_app"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0
