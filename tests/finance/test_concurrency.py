"""Exactly-once release under concurrency. On PostgreSQL two threads, each with its own session and
connection, release the same payment at the same moment (a Barrier lines them up): one release, one
audit row, the tranche paid once. SQLite serialises writers, so there the sequential double submit
(test_payment_flow.py) covers it; this file needs PostgreSQL and fails in CI without it."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from grants.core.audit import verify_chain
from grants.core.models import AuditLog
from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentStatus
from tests import factories
from tests.finance import factories as ff

TODAY = dt.date(2026, 11, 20)


# Row locks are what is under test: these run in the suite's PostgreSQL pass (deselected on SQLite).
pytestmark = pytest.mark.postgres_only


@pytest.fixture()
def approved(db):
    call = ff.funded_call()
    contract = ff.active_contract(call)
    p = ff.first_payment(contract)
    approver = ff.finance_user(call)
    releasers = [ff.finance_user(call), ff.finance_user(call)]
    services.approve_payment(p, approver)
    db.session.commit()
    return dict(payment_id=p.id, tranche_id=p.tranche_id, releaser_ids=[u.id for u in releasers],
                contract_id=contract.id)


def _race(app, n, work):
    """Run work(i) in n threads with their own app context (own session and connection), all
    released together by a barrier; returns [(i, outcome)]."""
    barrier = threading.Barrier(n, timeout=20)
    results: list = [None] * n

    def run(i):
        with app.app_context(), app.test_request_context():
            try:
                results[i] = work(i, barrier)
            except Exception as exc:  # noqa: BLE001 - the outcome is what we check
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock never released?)"
    return results


def _release_counts(payment_id):
    db.session.expire_all()
    audits = db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.action == "payment.release", AuditLog.object_id == str(payment_id)))
    tranche_pays = db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "tranche.pay"))
    return audits, tranche_pays


def test_two_finance_users_release_at_the_same_moment(app, approved):
    def work(i, barrier):
        from grants.accounts.models import User

        actor = db.session.get(User, approved["releaser_ids"][i])
        p = db.session.get(Payment, approved["payment_id"])
        assert p.status == PaymentStatus.APPROVED  # both read "approved" before either writes
        barrier.wait()
        services.release_payment(p, actor, f"BANK-{i}", TODAY, expected_version=p.version)
        db.session.commit()
        return "released"

    results = _race(app, 2, work)
    assert results.count("released") == 1, results
    loser = next(r for r in results if r != "released")
    assert isinstance(loser, services.AlreadyDone), repr(loser)
    p = db.session.get(Payment, approved["payment_id"])
    winner = results.index("released")
    assert p.status == PaymentStatus.RELEASED and p.bank_reference == f"BANK-{winner}"
    assert p.release_by_id == approved["releaser_ids"][winner]
    assert _release_counts(p.id) == (1, 1)
    assert verify_chain()[0]


def test_same_user_double_submit_and_retries_at_once(app, approved):
    """Five identical submits (double click, proxy retries) from one user at the same moment."""
    def work(i, barrier):
        from grants.accounts.models import User

        actor = db.session.get(User, approved["releaser_ids"][0])
        p = db.session.get(Payment, approved["payment_id"])
        version = p.version
        barrier.wait()
        services.release_payment(p, actor, "BANK-SAME", TODAY, expected_version=version)
        db.session.commit()
        return "released"

    results = _race(app, 5, work)
    assert results.count("released") == 1, results
    assert all(isinstance(r, services.AlreadyDone) for r in results if r != "released"), results
    assert _release_counts(approved["payment_id"]) == (1, 1)


def test_concurrent_http_releases(app, approved):
    """Two logged-in finance users post the release form at the same moment."""
    from grants.accounts.models import User

    users = [db.session.get(User, uid) for uid in approved["releaser_ids"]]
    names = [u.username for u in users]
    codes = [factories.totp_code(u) for u in users]  # finance signs in with a code from their app
    version = db.session.get(Payment, approved["payment_id"]).version
    db.session.commit()

    def work(i, barrier):
        client = app.test_client()
        r = client.post("/login", data={"login": names[i], "password": factories.PASSWORD})
        assert r.status_code == 302
        if r.headers["Location"].endswith("/login/2fa"):
            assert client.post("/login/2fa", data={"code": codes[i]}).status_code == 302
        barrier.wait()
        r = client.post(f"/finance/payments/{approved['payment_id']}/release",
                        data={"bank_reference": f"HTTP-{i}", "released_on": TODAY.isoformat(), "version": version})
        follow = client.get(r.headers["Location"])
        return r.status_code, follow.get_data(as_text=True)

    results = _race(app, 2, work)
    assert all(not isinstance(r, Exception) for r in results), results
    assert [code for code, _page in results] == [302, 302]
    pages = [page for _code, page in results]
    assert sum("已确认支付" in page for page in pages) == 1
    assert sum("不会重复支付" in page or "已被其他人处理" in page for page in pages) == 1
    assert _release_counts(approved["payment_id"]) == (1, 1)


def test_concurrent_reclaims_never_exceed_what_was_paid(app, approved):
    with app.test_request_context():
        p = db.session.get(Payment, approved["payment_id"])
        from grants.accounts.models import User

        services.release_payment(p, db.session.get(User, approved["releaser_ids"][0]), "RC-1", TODAY)
        db.session.commit()
        amount = p.amount_fen

    def work(i, barrier):
        from grants.accounts.models import User

        actor = db.session.get(User, approved["releaser_ids"][1])
        p = db.session.get(Payment, approved["payment_id"])
        barrier.wait()
        services.record_reclaim(p, actor, amount * 2 // 3, f"并发追回 {i}")
        db.session.commit()
        return "recorded"

    results = _race(app, 3, work)
    assert results.count("recorded") == 1, results
    db.session.expire_all()
    p = db.session.get(Payment, approved["payment_id"])
    assert p.reclaimed_fen == amount * 2 // 3
