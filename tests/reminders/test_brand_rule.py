"""Brand-project scoring deadline: panel experts with accepted nominations left to score are reminded 3 and
1 days before the deadline and once when it has passed; declared conflicts are excused, and an expert who
scored everything hears nothing."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.brand import services as brand
from grants.brand.models import SelectionStatus
from grants.core.timeutil import UTC, now
from grants.reminders.models import Delivery, Notification
from tests import factories
from tests.brand import factories as bf
from tests.contracts import factories as cf

DEADLINE = dt.datetime(2026, 6, 30, 9, 0, tzinfo=UTC)  # 17:00 Beijing time


def _world(app, db, clock):
    clock.set(DEADLINE - dt.timedelta(days=20))
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        call = cf.call(unit)
        s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING, deadline=DEADLINE)
        noms = [brand.nominate_project(s, bf.completed_contract(call, name=f"项目{i}"), f"理由{i}", officer)
                for i in range(2)]
        done, partly, idle = (bf.expert(employer=f"大学{i}") for i in range(3))
        for e in (done, partly, idle):
            brand.invite_expert(s, e, officer)
        brand.start_scoring(s, officer)
        for n in noms:
            brand.declare_conflict(n, done, has_conflict=False)
            brand.save_review(n, done, {c.id: c.max_points for c in s.criteria}, "成效显著", submit=True)
            brand.declare_conflict(n, idle, has_conflict=False)
        brand.declare_conflict(noms[0], partly, has_conflict=True, reason="曾任该组织顾问")
        db.session.commit()
        return s, done, partly, idle


def _fired(db):
    return db.session.execute(sa.select(Delivery.recipient_id, Delivery.occurrence)
                              .where(Delivery.rule == "brand_scoring_due", Delivery.channel == "in_app")
                              .order_by(Delivery.id)).all()


def test_experts_with_projects_left_are_reminded_3_and_1_days_before_and_once_overdue(app, db, clock, run_pass):
    s, done, partly, idle = _world(app, db, clock)
    seen = []
    for hours in range(0, 24 * 9, 3):
        clock.set(DEADLINE - dt.timedelta(days=5) + dt.timedelta(hours=hours))
        before = len(_fired(db))
        run_pass()
        run_pass()
        for r in _fired(db)[before:]:
            seen.append((r.recipient_id, r.occurrence.split("@")[0],
                         round((DEADLINE - now()).total_seconds() / 86400)))
    # One per selection and expert at each occurrence; the expert who scored everything is left alone.
    assert sorted(seen) == sorted((u, o, d) for u in (partly.id, idle.id)
                                  for o, d in (("3d", 3), ("1d", 1), ("overdue", 0)))
    task, *notes = db.session.scalars(sa.select(Notification).where(Notification.user_id == partly.id)
                                      .order_by(Notification.id)).all()
    # The task notice when scoring started gives the deadline in Beijing time too.
    assert task.title == f"品牌项目评审任务：{s.title}" and task.body == "请在 2026-06-30 17:00 前完成评分。"
    assert len(notes) == 3
    assert notes[0].title == f"品牌项目评分即将截止：{s.title}"
    assert "还有 1 个项目未提交评分" in notes[0].body and "2026-06-30 17:00" in notes[0].body
    assert "还有 2 个项目" in db.session.scalar(sa.select(Notification.body).where(
        Notification.user_id == idle.id, Notification.title.like("品牌项目评分%")).limit(1))
    assert "已逾期" in notes[-1].title and notes[-1].link == "/brand/tasks"
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.user_id == done.id, Notification.title.like("品牌项目评分%")))


def test_no_reminder_once_the_selection_is_decided(app, db, clock, run_pass):
    s, _done, _partly, _idle = _world(app, db, clock)
    s.status, s.decided_at = SelectionStatus.DECIDED, DEADLINE
    db.session.commit()
    clock.set(DEADLINE - dt.timedelta(days=1))
    run_pass()
    assert _fired(db) == []
