"""A steady pass over 50,000 applications (everything due already delivered) runs a few dozen SQL statements,
as a pass over none does: each rule runs a fixed number of queries, plus its ledger look-up in chunks of 900
subjects, never a query per row. Its time is printed for information; the time target is measured by bench/reminder_pass.py, not
asserted here, because a timed test fails on a busy machine for reasons that are not the code's."""
from __future__ import annotations

import datetime as dt
import time

import pytest
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


class _StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _seen(self, *args):
        self.count += 1

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.mark.slow
def test_pass_over_50000_applications(db, clock, capsys):
    clock.set(NOW - dt.timedelta(minutes=2))
    run_pass()  # the scheduler was running before the data arrived
    clock.set(NOW - dt.timedelta(minutes=1))
    with _StatementCounter(db.engine) as empty:
        run_pass()
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
        with _StatementCounter(db.engine) as full:
            result = run_pass()
        steady.append(time.perf_counter() - t0)
        assert result.delivered == 0
        # A handful more than the empty pass (the ledger look-ups of 1,100 candidates, in chunks of 900);
        # a query per row would add thousands.
        assert full.count <= empty.count + 10, f"{full.count} statements against {empty.count}: a query per row?"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 2200
    with capsys.disabled():
        print(f"\n[reminders perf] {db.engine.dialect.name}: first pass (1,100 reminders) {first_s:.2f} s; "
              f"steady pass over {APPLICATIONS:,} applications {min(steady) * 1000:.0f}–{max(steady) * 1000:.0f} ms, "
              f"{empty.count} statements")
