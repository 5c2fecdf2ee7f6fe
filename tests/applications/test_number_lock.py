"""Many organisations submitting to one call at the same moment (the deadline rush): every submission gets
its own number, 1…n without gaps, nobody waits on anybody in a circle (a deadlock answered 409 before the
call row was locked FOR NO KEY UPDATE), and the audit rows seal into one intact chain."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, ApplicationStatus
from grants.applications.services import submit_application
from grants.core.audit import seal_and_commit, verify_audit
from grants.extensions import db
from tests import factories
from tests.applications import factories as af

pytestmark = pytest.mark.postgres_only


def test_simultaneous_submissions_get_distinct_numbers_without_deadlocks(app, db, clock):
    clock.set(af.CLOSE_AT.replace(hour=9))
    n = 12
    with app.test_request_context():
        unit = factories.host_unit()
        call = af.call(unit)
        pairs = []
        for _ in range(n):
            org = factories.organization(unit=unit)
            user = factories.member(org)
            pairs.append((af.application(call, org).id, user.id))
        db.session.commit()
    barrier = threading.Barrier(n, timeout=30)
    outcomes: list = [None] * n

    def submit(i):
        app_id, user_id = pairs[i]
        with app.app_context(), app.test_request_context():
            try:
                from grants.accounts.models import User

                application = db.session.get(Application, app_id)
                user = db.session.get(User, user_id)
                barrier.wait()
                problems = submit_application(application, user)
                db.session.commit()
                outcomes[i] = problems or "ok"
            except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes == ["ok"] * n
    db.session.expire_all()
    rows = db.session.execute(sa.select(Application.status, Application.number)
                              .where(Application.id.in_([a for a, _u in pairs]))).all()
    assert {s for s, _n in rows} == {ApplicationStatus.SUBMITTED}
    assert sorted(int(num.rsplit("-", 1)[1]) for _s, num in rows) == list(range(1, n + 1))
    seal_and_commit()
    assert verify_audit().intact
