"""A pass over 50,000 applications takes well under a second once everything due has been delivered
(the scheduler's steady state); the first pass, which delivers 1,100 reminders, is timed too."""
from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa

from grants.accounts.models import User
from grants.applications.models import Application
from grants.calls.models import Call
from grants.organizations.models import Organization, OrganizationMember
from grants.reminders.jobs import run_pass
from grants.reminders.models import Delivery
from tests import factories

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
ORGS = 2000
APPLICATIONS = 50_000


def _bulk(db):
    unit = factories.host_unit()
    db.session.commit()
    calls = [dict(host_unit_id=unit.id, title=f"第{i}届", year=2000 + i % 27, level="city",
                  status="published" if i < 2 else "archived", open_at=NOW - dt.timedelta(days=30),
                  close_at=NOW + dt.timedelta(days=2) if i < 2 else NOW - dt.timedelta(days=300))
             for i in range(100)]
    db.session.execute(sa.insert(Call), calls)
    call_ids = db.session.scalars(sa.select(Call.id).order_by(Call.id)).all()
    db.session.execute(sa.insert(Organization), [
        dict(name=f"性能测试组织{i}", legal_form="filed_community", filing_number=f"性能备{i}", status="verified")
        for i in range(ORGS)])
    org_ids = db.session.scalars(sa.select(Organization.id).order_by(Organization.id)).all()
    db.session.execute(sa.insert(User), [
        dict(username=f"perf{i}", display_name=f"成员{i}", password_hash="x", email=f"perf{i}@example.org")
        for i in range(ORGS)])
    user_ids = db.session.scalars(sa.select(User.id).where(User.username.like("perf%")).order_by(User.id)).all()
    db.session.execute(sa.insert(OrganizationMember), [
        dict(organization_id=o, user_id=u, is_admin=True) for o, u in zip(org_ids, user_ids)])
    rows = []
    for i in range(APPLICATIONS):
        org = org_ids[i % ORGS]
        if i < 1000:  # drafts in the two open calls
            rows.append(dict(call_id=call_ids[i % 2], organization_id=org, status="draft"))
        elif i < 1100:  # returned, new deadline in two days
            rows.append(dict(call_id=call_ids[i % 2], organization_id=org, status="returned", number=f"P{i}",
                             submitted_at=NOW - dt.timedelta(days=5), return_deadline_at=NOW + dt.timedelta(days=2)))
        else:  # history
            rows.append(dict(call_id=call_ids[2 + i % 98], organization_id=org, status="not_awarded", number=f"P{i}",
                             submitted_at=NOW - dt.timedelta(days=400)))
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(Application), rows[start:start + 5000])
    db.session.commit()


def test_pass_over_50000_applications(db, clock, capsys):
    clock.set(NOW - dt.timedelta(minutes=1))
    run_pass()  # the scheduler was running before the data arrived
    _bulk(db)
    clock.set(NOW)
    t0 = time.perf_counter()
    first = run_pass()
    first_s = time.perf_counter() - t0
    assert first.delivered == 1100 and not first.errors
    steady = []
    for minutes in (1, 2, 3):
        clock.set(NOW + dt.timedelta(minutes=minutes))
        t0 = time.perf_counter()
        result = run_pass()
        steady.append(time.perf_counter() - t0)
        assert result.delivered == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 2200
    with capsys.disabled():
        print(f"\n[reminders perf] {db.engine.dialect.name}: first pass (1,100 reminders) {first_s:.2f} s; "
              f"steady pass over {APPLICATIONS:,} applications {min(steady) * 1000:.0f}–{max(steady) * 1000:.0f} ms")
    assert min(steady) < 1.0
