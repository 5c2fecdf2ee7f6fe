"""Two transactions that change one project at the same moment both commit, and its summary row holds both
changes (the refresh takes a row lock on the application). SQLite serialises writers, so this needs
PostgreSQL: it runs in the suite's PostgreSQL pass."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from grants.dashboard.models import ProjectSummary
from grants.extensions import db
from grants.finance.models import Payment, Reclaim
from tests.dashboard.test_views import _programme
from tests.finance import factories as ff

pytestmark = pytest.mark.postgres_only


def test_two_reclaims_on_one_project_at_the_same_moment(app, db):
    with app.test_request_context():
        call, contracts = _programme(db, 1)
        contract = contracts[0]
        payment_id, app_id = ff.first_payment(contract).id, contract.application_id
        actor_id = ff.finance_user(call).id
        db.session.commit()
    before = db.session.get(ProjectSummary, app_id).reclaimed_fen
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list = [None, None]

    def work(i):
        from grants.accounts.models import User

        with app.app_context(), app.test_request_context():
            try:
                # Written straight, not through record_reclaim, whose lock on the payment would make the
                # two take turns before they reach the summary.
                db.session.add(Reclaim(payment_id=payment_id, amount_fen=1_000 * (i + 1), reason=f"追回{i}",
                                       recorded_by_id=db.session.get(User, actor_id).id))
                db.session.flush()
                barrier.wait()  # both have written their reclaim; now both commit (and refresh) at once
                db.session.commit()
                outcomes[i] = "ok"
            except Exception as exc:  # noqa: BLE001 - the outcome is what we check
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock never released?)"
    assert outcomes == ["ok", "ok"], outcomes
    db.session.expire_all()
    reclaims = db.session.scalar(sa.select(sa.func.sum(Reclaim.amount_fen)).join(Payment)
                                 .where(Payment.id == payment_id))
    assert db.session.get(ProjectSummary, app_id).reclaimed_fen == reclaims == before + 3_000
