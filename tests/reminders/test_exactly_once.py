"""Idempotency: `scheduler run --once` twice, two passes at once, a duplicate insert — one delivery each."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from grants.reminders.models import Delivery, Notification, OutboxMail
from tests import factories
from tests.reminders import factories as rf

CLOSE = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)


def _world(db, orgs=3, members=2):
    c = rf.call(close_at=CLOSE)
    for _ in range(orgs):
        org = factories.organization()
        for i in range(members):
            factories.member(org, is_admin=i == 0, email=f"m{org.id}-{i}@example.org")
        rf.application(c, org)
    db.session.commit()
    return c


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_run_once_twice_sends_nothing_twice(app, db, clock):
    _world(db)
    clock.set(CLOSE - dt.timedelta(days=3) + dt.timedelta(minutes=1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["scheduler", "run", "--once"])
    assert first.exit_code == 0, first.output
    assert "送达 6 条" in first.output
    second = runner.invoke(args=["scheduler", "run", "--once"])
    assert second.exit_code == 0, second.output
    assert "送达 0 条" in second.output
    db.session.expire_all()
    assert _count(db, Notification) == 6
    assert _count(db, OutboxMail) == 6
    assert _count(db, Delivery) == 12  # in-app and e-mail per recipient


def test_two_passes_at_once_deliver_each_reminder_once(app, db, clock):
    _world(db, orgs=6, members=3)
    clock.set(CLOSE - dt.timedelta(days=1) + dt.timedelta(minutes=1))
    from grants.reminders.jobs import run_pass

    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(run_pass())
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(r.errors for r in results), [r.errors for r in results]
    assert sum(r.delivered for r in results) == 18
    db.session.expire_all()
    assert _count(db, Notification) == 18
    assert _count(db, OutboxMail) == 18
    keys = db.session.execute(sa.select(Delivery.rule, Delivery.subject_id, Delivery.recipient_id,
                                        Delivery.occurrence, Delivery.channel)).all()
    assert len(keys) == len(set(keys)) == 36


def test_a_unit_already_in_the_ledger_rolls_back_whole(app, db, clock):
    """The pre-check can be raced; the unique key cannot: a unit whose ledger row exists sends nothing."""
    from grants.reminders import jobs
    from grants.reminders.channels import active_channels
    from grants.reminders.registry import RULES, RuleContext, Settings

    _world(db, orgs=1, members=1)
    clock.set(CLOSE - dt.timedelta(days=1) + dt.timedelta(minutes=1))
    first = jobs.run_pass()
    assert first.delivered == 1
    # Replay the same unit of work as a racing pass would (its look-up saw no ledger row yet).
    with app.test_request_context("/"):
        ctx = RuleContext(jobs.now(), Settings.load(), jobs._safe_url_for)
        due = next(iter(RULES["call_closing"].find(ctx)))
        result = jobs.PassResult(at=ctx.now)
        user = jobs._recipients([due.recipient_id])[0][due.recipient_id]
        try:
            jobs.deliver("call_closing", due, user, set(), False, active_channels())
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            result.duplicates += 1
    assert result.duplicates == 1
    assert _count(db, Notification) == 1
    assert _count(db, OutboxMail) == 1


@pytest.mark.slow
def test_simulated_month_with_two_schedulers_sends_no_duplicate(app, db, clock):
    """Two instances' passes interleaved every 3 hours for a month: exactly the expected reminders."""
    from grants.reminders.jobs import run_pass

    c = _world(db, orgs=2, members=2)
    start = CLOSE - dt.timedelta(days=25)
    clock.set(start)
    while clock.advance(dt.timedelta(hours=3)) < start + dt.timedelta(days=30):
        run_pass()
        run_pass()
    occ = [o.split("@")[0] for o in db.session.scalars(
        sa.select(Delivery.occurrence).where(Delivery.channel == "in_app", Delivery.subject_id.isnot(None)))]
    assert sorted(occ) == sorted(["7d", "3d", "1d"] * 4)
    assert c.id
