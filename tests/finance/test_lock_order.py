"""Races the issue reproduced on PostgreSQL (gunicorn -w 4), each now a test with threads, each with its own
session and connection, lined up by a barrier (as in test_concurrency.py):
- "暂停整个项目" at the same moment as a finance approve/release deadlocked (the hold took the audit chain's
  lock, then the payment rows; approve/release the other way round) — now one lock order;
- ten simultaneous project holds placed four holds in force — now one (and a partial unique index);
- fifty simultaneous countersigns: four succeeded — now one, the others refused (twelve threads here);
- a lost race (a unique violation, a stale version) is one friendly message, never a 500;
- a single-use invitation link used twice at once added two members — now one.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core.audit import verify_chain
from grants.core.models import AuditLog
from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentStatus, ProjectHold
from tests import factories
from tests.finance import factories as ff
from tests.finance.test_concurrency import _race

pytestmark = pytest.mark.postgres_only


@pytest.fixture()
def scene(db):
    call = ff.funded_call()
    contract = ff.active_contract(call)
    p = ff.first_payment(contract)
    officers = [ff.officer(call) for _ in range(3)]
    finance = [ff.finance_user(call), ff.finance_user(call)]
    db.session.commit()
    return dict(contract_id=contract.id, payment_id=p.id, officer_ids=[u.id for u in officers],
                finance_ids=[u.id for u in finance], call=call)


def _user(uid):
    from grants.accounts.models import User

    return db.session.get(User, uid)


def _contract(cid):
    from grants.contracts.models import Contract

    return db.session.get(Contract, cid)


def test_project_hold_and_approve_at_once_do_not_deadlock(app, scene):
    """Twenty rounds of hold-the-project against approve (then release): no deadlock, one of the two wins
    each round and the other is refused with a message or follows in order."""
    for _round in range(20):
        pid, cid = scene["payment_id"], scene["contract_id"]
        version = db.session.get(Payment, pid).version
        db.session.commit()

        def work(i, barrier):
            barrier.wait()
            if i == 0:
                services.hold_contract_payments(_contract(cid), _user(scene["officer_ids"][0]), "核查票据")
            else:
                services.approve_payment(db.session.get(Payment, pid), _user(scene["finance_ids"][0]),
                                         expected_version=version)
            db.session.commit()
            return "ok"

        results = _race(app, 2, work)
        deadlocks = [r for r in results if isinstance(r, Exception) and "deadlock" in str(r).lower()]
        assert not deadlocks, deadlocks
        assert all(r == "ok" or isinstance(r, services.PaymentError) for r in results), results
        db.session.expire_all()
        p = db.session.get(Payment, pid)
        assert p.status == PaymentStatus.HELD  # the hold wins either way: before approve, or after it
        services.lift_project_hold(_contract(cid), _user(scene["officer_ids"][1]), "核查完毕")
        db.session.commit()
    assert verify_chain()[0]


def test_project_hold_and_release_at_once_do_not_deadlock(app, scene):
    pid, cid = scene["payment_id"], scene["contract_id"]
    services.approve_payment(db.session.get(Payment, pid), _user(scene["finance_ids"][0]))
    db.session.commit()
    version = db.session.get(Payment, pid).version
    db.session.commit()

    def work(i, barrier):
        barrier.wait()
        if i == 0:
            services.hold_contract_payments(_contract(cid), _user(scene["officer_ids"][0]), "核查票据")
        else:
            services.release_payment(db.session.get(Payment, pid), _user(scene["finance_ids"][1]), "BANK-1",
                                     dt.date(2026, 11, 20), expected_version=version)
        db.session.commit()
        return "ok"

    results = _race(app, 2, work)
    assert all(r == "ok" or isinstance(r, services.PaymentError) for r in results), results
    db.session.expire_all()
    assert db.session.get(Payment, pid).status in (PaymentStatus.HELD, PaymentStatus.RELEASED)


def test_ten_simultaneous_project_holds_place_one(app, scene):
    cid = scene["contract_id"]

    def work(i, barrier):
        barrier.wait()
        services.hold_contract_payments(_contract(cid), _user(scene["officer_ids"][i % 3]), f"暂停 {i}")
        db.session.commit()
        return "ok"

    results = _race(app, 10, work)
    assert all(r == "ok" for r in results), results  # the later ones join the hold in force
    holds = db.session.scalars(sa.select(ProjectHold).where(ProjectHold.contract_id == cid)).all()
    assert [h.in_force for h in holds] == [True]
    # One lift clears it: the banner goes and payments go ahead.
    services.lift_project_hold(_contract(cid), _user(scene["officer_ids"][0]), "核查完毕")
    db.session.commit()
    assert services.project_hold_in_force(cid) is None


def test_simultaneous_countersigns_sign_once(app, db):
    """Twelve at once (the connection pool holds fifteen; the issue's fifty came through four workers)."""
    from tests.contracts import factories as cf

    c = cf.contract(status="signed_by_org")
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    db.session.commit()
    cid, oid = c.id, officer.id

    def work(i, barrier):
        from grants.contracts import services as cs

        contract = _contract(cid)
        barrier.wait()
        cs.countersign_contract(contract, _user(oid))
        db.session.commit()
        return "signed"

    results = _race(app, 12, work)
    assert results.count("signed") == 1, [r for r in results if r != "signed"][:3]
    assert all(r == "signed" or type(r).__name__ == "IllegalTransition" for r in results), \
        {type(r).__name__ for r in results}
    audits = db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.action.like("contract.countersign%"), AuditLog.object_id == str(cid)))
    assert audits == 1
    assert verify_chain()[0]


def test_concurrent_countersign_pages_give_one_success_and_friendly_refusals(app, db):
    """Through HTTP: every loser sees a page with a message (302 with a flash, or 409), never a 500."""
    from tests.contracts import factories as cf

    c = cf.contract(status="signed_by_org")
    officers = [factories.user(roles=("officer",), unit=c.call.host_unit) for _ in range(6)]
    db.session.commit()
    cid, names = c.id, [o.username for o in officers]

    def work(i, barrier):
        client = app.test_client()
        assert client.post("/login", data={"login": names[i], "password": factories.PASSWORD}).status_code == 302
        barrier.wait()
        r = client.post(f"/contracts/{cid}/countersign", headers={"Referer": f"http://localhost/contracts/{cid}"})
        return r.status_code

    results = _race(app, 6, work)
    assert all(code in (302, 409) for code in results), results
    db.session.expire_all()
    assert _contract(cid).status == "active"


def test_single_use_invitation_used_twice_at_once_adds_one_member(app, db):
    from grants.organizations.models import OrganizationMember
    from grants.organizations.services import invite_member

    org = factories.organization()
    admin = factories.member(org)
    inv = invite_member(org, "小李", admin)
    db.session.commit()
    token, org_id = inv.token, org.id
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OrganizationMember)
                               .where(OrganizationMember.organization_id == org_id))

    def work(i, barrier):
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/join/{token}", data={"display_name": "小李", "username": f"xiaoli{i}",
                                                "mobile": f"1380000000{i}", "password": "Qinghe-Shuiyun-88",
                                                "confirm": "Qinghe-Shuiyun-88"})
        return r.status_code

    results = _race(app, 4, work)
    assert all(code in (200, 302, 404, 409) for code in results), results
    after = db.session.scalar(sa.select(sa.func.count()).select_from(OrganizationMember)
                              .where(OrganizationMember.organization_id == org_id))
    assert after == before + 1


def test_contract_generated_twice_at_once_gives_one_contract_and_a_message(app, db):
    """Reproduction: concurrent contract generation kept the data right (a unique constraint) but gave the
    loser a 500; now the loser gets the page with the one message."""
    from grants.contracts.models import Contract
    from tests.contracts import factories as cf

    award = cf.award()
    officers = [factories.user(roles=("officer",), unit=award.call.host_unit) for _ in range(4)]
    db.session.commit()
    award_id, names = award.id, [o.username for o in officers]

    def work(i, barrier):
        client = app.test_client()
        assert client.post("/login", data={"login": names[i], "password": factories.PASSWORD}).status_code == 302
        barrier.wait()
        r = client.post(f"/awards/{award_id}/contract", headers={"Referer": "http://localhost/contracts"})
        return r.status_code, client.get("/contracts").get_data(as_text=True) if r.status_code == 302 else ""

    results = _race(app, 4, work)
    assert all(not isinstance(r, Exception) and r[0] in (302, 409) for r in results), results
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contract)
                             .where(Contract.award_id == award_id)) == 1
