"""The payment flow: request on payable, approve, second approval above the threshold, release once,
segregation of duties, holds, returns and reclaims capped at what was paid."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core.audit import verify_chain
from grants.core.models import AuditLog
from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentStatus
from grants.finance.services import AlreadyDone, PaymentError
from tests.finance import factories as ff

TODAY = dt.date(2026, 11, 23)


@pytest.fixture()
def world(db):
    call = ff.funded_call()
    contract = ff.active_contract(call, amount_fen=5_000_000)
    return dict(call=call, contract=contract, payment=ff.first_payment(contract),
                f1=ff.finance_user(call), f2=ff.finance_user(call), f3=ff.finance_user(call))


def _audit_count(action: str, payment) -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.action == action, AuditLog.object_id == str(payment.id)))


def test_signing_tranche_requests_its_payment(world):
    p, contract = world["payment"], world["contract"]
    tranche = contract.tranches[0]
    assert p.status == PaymentStatus.REQUESTED
    assert p.amount_fen == tranche.payable_fen == 2_000_000  # 40 % of ¥50,000
    assert (p.contract_id, p.call_id, p.organization_id) == (contract.id, contract.call_id, contract.organization_id)
    assert _audit_count("payment.request", p) == 1


def test_request_is_idempotent_and_skips_zero(world):
    tranche = world["contract"].tranches[0]
    again = services.request_payment(tranche, None)
    assert again.id == world["payment"].id
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    zero = world["contract"].tranches[1]
    zero.payable_fen, zero.withheld_fen = 0, zero.planned_fen
    assert services.request_payment(zero, None) is None
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_unique_tranche_constraint(world):
    p = world["payment"]
    db.session.add(Payment(tranche_id=p.tranche_id, contract_id=p.contract_id, call_id=p.call_id,
                           organization_id=p.organization_id, amount_fen=1))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_approve_then_release_by_another_user(world, clock):
    p, f1, f2 = world["payment"], world["f1"], world["f2"]
    services.approve_payment(p, f1)
    assert p.status == PaymentStatus.APPROVED and p.approved_by_id == f1.id
    with pytest.raises(PaymentError, match="审核人"):
        services.release_payment(p, f1, "B001", TODAY)
    services.release_payment(p, f2, "B001", TODAY)
    db.session.commit()
    assert p.status == PaymentStatus.RELEASED and p.release_by_id == f2.id
    assert p.bank_reference == "B001" and p.released_on == TODAY and p.released_at is not None
    assert p.payee_account_number == world["contract"].party_b_bank_account_number
    tranche = world["contract"].tranches[0]
    assert tranche.status == "paid" and tranche.settled_at is not None
    assert _audit_count("payment.release", p) == 1
    assert verify_chain()[0]


def test_double_submit_releases_once(world):
    p, f1, f2 = world["payment"], world["f1"], world["f2"]
    services.approve_payment(p, f1)
    db.session.commit()
    version = p.version
    services.release_payment(p, f2, "B002", TODAY, expected_version=version)
    db.session.commit()
    for ref in ("B002", "B002-retry"):
        with pytest.raises(AlreadyDone, match="不会重复支付"):
            services.release_payment(p, f2, ref, TODAY, expected_version=version)
        db.session.rollback()
    p = db.session.get(Payment, p.id)
    assert p.bank_reference == "B002"
    assert _audit_count("payment.release", p) == 1


def test_stale_version_is_refused(world):
    p = world["payment"]
    stale = p.version
    services.approve_payment(p, world["f1"])
    db.session.commit()
    with pytest.raises(AlreadyDone):
        services.approve_payment(p, world["f2"], expected_version=stale)


def test_release_needs_reference_and_date_not_in_future(world, clock):
    p = world["payment"]
    services.approve_payment(p, world["f1"])
    with pytest.raises(PaymentError) as e:
        services.release_payment(p, world["f2"], "  ", TODAY)
    assert e.value.field == "bank_reference"
    clock.set(dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC))
    with pytest.raises(PaymentError) as e:
        services.release_payment(p, world["f2"], "B1", dt.date(2026, 11, 24))
    assert e.value.field == "released_on"


def test_bank_reference_is_unique(world):
    p1 = world["payment"]
    other = ff.active_contract(world["call"])
    p2 = ff.first_payment(other)
    for p in (p1, p2):
        services.approve_payment(p, world["f1"])
    services.release_payment(p1, world["f2"], "SAME", TODAY)
    with pytest.raises(PaymentError, match="另一笔"):
        services.release_payment(p2, world["f2"], "SAME", TODAY)


def test_requested_payment_cannot_be_released(world):
    with pytest.raises(Exception) as e:
        services.release_payment(world["payment"], world["f2"], "B3", TODAY)
    assert "不能执行" in getattr(e.value, "message", str(e.value))


def test_only_finance_role_approves(world):
    officer = ff.officer(world["call"])
    with pytest.raises(Exception, match="角色"):
        services.approve_payment(world["payment"], officer)


def test_last_release_settles_the_tranche_and_closes_the_project(world):
    contract, f1, f2 = world["contract"], world["f1"], world["f2"]
    services.approve_payment(world["payment"], f1)
    services.release_payment(world["payment"], f2, "C1", TODAY)
    for i, tranche in enumerate(contract.tranches[1:], start=2):
        ff.assess_tranche(tranche, payment_pct=100 if i == 2 else 80, grade="good" if i == 2 else "pass")
        p = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == tranche.id)).one()
        assert p.amount_fen == tranche.payable_fen
        assert contract.status == "active"
        services.approve_payment(p, f1)
        services.release_payment(p, f2, f"C{i}", TODAY)
    assert [t.status for t in contract.tranches] == ["paid", "paid", "paid"]
    assert contract.status == "completed"
    paid = db.session.scalar(sa.select(sa.func.sum(Payment.amount_fen)).where(Payment.contract_id == contract.id))
    withheld = sum(t.withheld_fen or 0 for t in contract.tranches)
    assert paid + withheld == contract.amount_fen  # every fen accounted for
    assert withheld == contract.tranches[2].planned_fen * 20 // 100
