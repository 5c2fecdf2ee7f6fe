"""The scheduler's status rows: the active instance is shown as soon as it holds the lock (before its first
pass ends), dead instances are aged out after a few missed heartbeats, and the pass's log line counts the
mails whose outcome is uncertain."""
from __future__ import annotations

import datetime as dt
import signal

import sqlalchemy as sa

from grants.core.timeutil import UTC, now
from grants.reminders import scheduler as sched
from grants.reminders.jobs import PassResult
from grants.reminders.mail import MailResult
from grants.reminders.models import SchedulerInstance

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _row(key: str, *, active: bool, silent: dt.timedelta) -> SchedulerInstance:
    return SchedulerInstance(instance_key=key, hostname="h", pid=1, lock_kind="file", is_active=active,
                             started_at=T0 - dt.timedelta(hours=1), heartbeat_at=T0 - silent)


def _keys(db) -> dict[str, bool]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(SchedulerInstance.instance_key, SchedulerInstance.is_active)).all())


def test_dead_instances_are_aged_out_after_a_few_missed_heartbeats(app, db, clock):
    clock.set(T0)
    period = 60  # interval 60 s, standby retry 5 s: a live instance beats at least once a minute
    db.session.add_all([
        _row("dead-standby", active=False, silent=dt.timedelta(seconds=3 * period + 1)),
        _row("live-standby", active=False, silent=dt.timedelta(seconds=3 * period - 1)),
        _row("killed-active", active=True, silent=dt.timedelta(minutes=10)),
    ])
    db.session.commit()
    standby = sched.Heartbeat("file", period_seconds=sched.heartbeat_period(60, 5))
    standby.beat(active=False)
    # a standby cannot tell a killed active instance from one in a long pass: that row stays
    assert _keys(db) == {"live-standby": False, "killed-active": True, standby.key: False}
    # the instance that takes the lock marks the killed one standby, and it goes at once (long silent)
    standby.beat(active=True)
    assert _keys(db) == {"live-standby": False, standby.key: True}
    # two seconds later the other standby has missed its third heartbeat too
    clock.set(T0 + dt.timedelta(seconds=2))
    standby.beat(active=True)
    assert _keys(db) == {standby.key: True}


def test_the_active_instance_is_shown_before_its_first_pass_ends(app, db, monkeypatch, clock):
    clock.set(T0)
    seen = {}
    stop_event = {}

    class FakeScheduler:
        """Runs the job once in this thread, then stops the loop (instead of blocking for ever)."""

        def __init__(self, **_kw):
            self.job = None

        def add_job(self, func, *_a, **_kw):
            self.job = func

        def get_job(self, _id):
            return None

        def start(self):
            self.job()
            stop_event["stop"].set()

        def shutdown(self, wait=False):
            pass

    def slow_first_pass():
        # what the admin's page would read while the pass runs
        rows = db.session.scalars(sa.select(SchedulerInstance)).all()
        seen["rows"] = [(r.is_active, r.next_pass_at, r.last_pass_at) for r in rows]
        return PassResult(at=now())

    import threading

    import apscheduler.schedulers.blocking as blocking

    stop_event["stop"] = threading.Event()
    monkeypatch.setattr(blocking, "BlockingScheduler", FakeScheduler)
    monkeypatch.setattr(sched, "run_pass", slow_first_pass)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        sched.run_forever(app, interval=60, standby_retry=5, echo=lambda *_: None, stop=stop_event["stop"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen["rows"] == [(True, T0, None)]
    assert db.session.scalar(sa.select(sa.func.count(SchedulerInstance.id))) == 0  # retired on the way out


def test_the_scheduler_page_says_a_pass_is_running(client, login_as, db, clock):
    clock.set(T0)
    db.session.add(SchedulerInstance(instance_key="h:1:a", hostname="h", pid=1, lock_kind="file", is_active=True,
                                     heartbeat_at=T0, next_pass_at=T0))
    db.session.commit()
    login_as("admin")
    clock.set(T0 + dt.timedelta(seconds=30))
    html = client.get("/admin/scheduler").get_data(as_text=True)
    assert "活动" in html and "本轮检查进行中" in html and "无心跳" not in html


def test_the_pass_log_line_counts_uncertain_mails():
    line = PassResult(at=T0, mail=MailResult(sent=4, retrying=1, failed=0, uncertain=2)).summary()
    assert "邮件发送 4 封" in line and "结果不明 2 封" in line
