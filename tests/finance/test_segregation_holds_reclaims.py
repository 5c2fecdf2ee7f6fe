"""Segregation of duties, the second-approval threshold, holds and reclaims."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentHold, PaymentStatus, Reclaim
from grants.finance.services import AlreadyDone, PaymentError
from tests.finance import factories as ff

TODAY = dt.date(2026, 11, 23)


@pytest.fixture()
def call(db):
    return ff.funded_call()


@pytest.fixture()
def fin(call):
    return [ff.finance_user(call) for _ in range(3)]


def _gated_payment(call, *, amount_fen=5_000_000, evaluator=None, pct=100):
    contract = ff.active_contract(call, amount_fen=amount_fen)
    tranche = contract.tranches[1]
    evaluator = ff.assess_tranche(tranche, evaluator=evaluator, payment_pct=pct)
    return db.session.scalars(sa.select(Payment).where(Payment.tranche_id == tranche.id)).one(), evaluator


# --- segregation of duties ---------------------------------------------------------------

def test_evaluator_with_finance_role_may_neither_approve_nor_release(call, fin):
    evaluator_finance = ff.finance_user(call)
    p, _ev = _gated_payment(call, evaluator=evaluator_finance)
    assert services.duty_conflict(p, evaluator_finance, "approve")
    with pytest.raises(PaymentError, match="评估人员"):
        services.approve_payment(p, evaluator_finance)
    services.approve_payment(p, fin[0])
    with pytest.raises(PaymentError, match="评估人员"):
        services.release_payment(p, evaluator_finance, "E1", TODAY)
    services.release_payment(p, fin[1], "E1", TODAY)
    assert p.status == PaymentStatus.RELEASED


def test_requester_may_not_approve(call):
    # The officer who countersigned (and so requested the first payment) also holds the finance role.
    both = ff.factories.user(roles=("officer", "finance"), unit=call.host_unit)
    contract = ff.active_contract(call, officer=both)
    p = ff.first_payment(contract)
    assert p.requested_by_id is None  # the system requests it; the countersigner's act still bars them
    with pytest.raises(PaymentError, match="会签协议而生成"):
        services.approve_payment(p, both)


def test_payment_record_names_the_system_approver_and_releaser(app, call, fin):
    """The reproduction: the handling record named the evaluator as the one who "生成拨款申请"."""
    from grants.core.models import AuditLog

    p, evaluator = _gated_payment(call)
    assert p.requested_by_id is None
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "payment.request",
                                                       AuditLog.object_id == str(p.id))).one()
    assert row.actor_id is None and row.actor_name == "系统"
    assert evaluator.display_name in row.after["basis"]
    services.approve_payment(p, fin[0])
    services.release_payment(p, fin[1], "T-1", TODAY)
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"login": fin[2].username, "password": ff.factories.PASSWORD})
    db.session.refresh(fin[2])
    client.post("/login/2fa", data={"code": ff.factories.totp_code(fin[2])})  # finance signs in with a code
    html = client.get(f"/finance/payments/{p.id}").get_data(as_text=True)
    trail = html.split('id="payment-trail"')[1].split("</ul>")[0]
    requested = trail.split('id="trail-requested"')[1].split("</li>")[0]
    assert "系统自动生成" in requested and f"依据评估人员 {evaluator.display_name} 的评估结果" in requested
    assert fin[0].display_name in trail.split('id="trail-approved"')[1].split("</li>")[0]
    assert fin[1].display_name in trail.split('id="trail-released"')[1].split("</li>")[0]


def test_database_refuses_approver_as_releaser(call, fin):
    p = ff.first_payment(ff.active_contract(call))
    services.approve_payment(p, fin[0])
    db.session.flush()
    # Bypass the service: the CHECK constraint still refuses it.
    p.status, p.release_by_id, p.released_at = PaymentStatus.RELEASED, fin[0].id, dt.datetime.now(dt.UTC)
    p.released_on, p.bank_reference = TODAY, "X"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_release_without_reference(call, fin):
    p = ff.first_payment(ff.active_contract(call))
    services.approve_payment(p, fin[0])
    db.session.flush()
    p.status, p.release_by_id, p.released_at, p.released_on = PaymentStatus.RELEASED, fin[1].id, \
        dt.datetime.now(dt.UTC), TODAY
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- second approval above the threshold ---------------------------------------------------

def test_above_threshold_needs_second_approval_by_another_user(app, call, fin):
    app.config["PAYMENT_SECOND_APPROVAL_FEN"] = 1_000_000  # ¥10,000
    try:
        p = ff.first_payment(ff.active_contract(call, amount_fen=5_000_000))  # first tranche ¥20,000
        assert services.needs_second_approval(p)
        services.approve_payment(p, fin[0])
        with pytest.raises(PaymentError, match="复核"):
            services.release_payment(p, fin[1], "S1", TODAY)
        with pytest.raises(PaymentError, match="另一位"):
            services.second_approve_payment(p, fin[0])
        services.second_approve_payment(p, fin[1])
        assert p.status == PaymentStatus.SECOND_APPROVED and p.second_approved_by_id == fin[1].id
        for who in (fin[0], fin[1]):
            with pytest.raises(PaymentError, match="审核人"):
                services.release_payment(p, who, "S1", TODAY)
        services.release_payment(p, fin[2], "S1", TODAY)
        assert p.status == PaymentStatus.RELEASED
    finally:
        app.config["PAYMENT_SECOND_APPROVAL_FEN"] = services.DEFAULT_SECOND_APPROVAL_FEN


def test_at_threshold_needs_no_second_approval(app, call, fin):
    p = ff.first_payment(ff.active_contract(call, amount_fen=5_000_000))
    app.config["PAYMENT_SECOND_APPROVAL_FEN"] = p.amount_fen  # "above" is strict
    try:
        assert not services.needs_second_approval(p)
        services.approve_payment(p, fin[0])
        with pytest.raises(PaymentError, match="无需复核"):
            services.second_approve_payment(p, fin[1])
        services.release_payment(p, fin[1], "T1", TODAY)
    finally:
        app.config["PAYMENT_SECOND_APPROVAL_FEN"] = services.DEFAULT_SECOND_APPROVAL_FEN


def test_default_threshold_is_200000_yuan(app):
    assert app.config["PAYMENT_SECOND_APPROVAL_FEN"] == 20_000_000


# --- holds -------------------------------------------------------------------------------------

def test_held_payment_cannot_be_approved_or_released(call, fin):
    officer = ff.officer(call)
    p = ff.first_payment(ff.active_contract(call))
    services.approve_payment(p, fin[0])
    with pytest.raises(PaymentError, match="原因"):
        services.hold_payment(p, officer, "  ")
    services.hold_payment(p, officer, "项目负责人变更，待核实")
    assert p.status == PaymentStatus.HELD and p.hold_reason
    with pytest.raises(PaymentError, match="暂停"):
        services.release_payment(p, fin[1], "H1", TODAY)
    with pytest.raises(PaymentError, match="暂停"):
        services.approve_payment(p, fin[1])
    with pytest.raises(AlreadyDone):
        services.hold_payment(p, officer, "再次暂停")
    services.lift_hold(p, officer, "已核实")
    # Lifted: back in the queue, approved afresh.
    assert p.status == PaymentStatus.REQUESTED and p.approved_by_id is None
    services.approve_payment(p, fin[1])
    services.release_payment(p, fin[0], "H1", TODAY)
    hold = db.session.scalars(sa.select(PaymentHold).where(PaymentHold.payment_id == p.id)).one()
    assert (hold.reason, hold.from_status, hold.lift_reason) == ("项目负责人变更，待核实", "approved", "已核实")
    assert hold.placed_by_id == hold.lifted_by_id == officer.id


def test_only_officers_hold_and_released_cannot_be_held(call, fin):
    p = ff.first_payment(ff.active_contract(call))
    with pytest.raises(Exception, match="角色"):
        services.hold_payment(p, fin[0], "财务不能暂停")
    services.approve_payment(p, fin[0])
    services.release_payment(p, fin[1], "H2", TODAY)
    with pytest.raises(PaymentError, match="已支付"):
        services.hold_payment(p, ff.officer(call), "太晚了")


def test_hold_all_payments_of_a_project(call, fin):
    officer = ff.officer(call)
    contract = ff.active_contract(call)
    first = ff.first_payment(contract)
    ff.assess_tranche(contract.tranches[1], payment_pct=80)
    n = services.hold_contract_payments(contract, officer, "审计发现问题")
    assert n == 2
    assert {p.status for p in services.payments_for_contract(contract).values()} == {PaymentStatus.HELD}
    assert first.status == PaymentStatus.HELD


def test_a_payment_requested_during_a_project_hold_is_held_automatically(call, fin):
    from grants.core.models import AuditLog

    officer = ff.officer(call)
    contract = ff.active_contract(call)
    first = ff.first_payment(contract)
    services.approve_payment(first, fin[0])
    assert services.hold_contract_payments(contract, officer, "审计发现问题") == 1
    assert first.status == PaymentStatus.HELD
    project_hold = services.project_hold_in_force(contract.id)
    assert project_hold.reason == "审计发现问题" and project_hold.placed_by_id == officer.id

    # The mid-term tranche is assessed while the hold is in force: its payment is requested and held at once.
    ff.assess_tranche(contract.tranches[1], payment_pct=80)
    mid = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == contract.tranches[1].id)).one()
    assert mid.status == PaymentStatus.HELD and mid.hold_reason == "审计发现问题"
    hold = db.session.scalars(sa.select(PaymentHold).where(PaymentHold.payment_id == mid.id)).one()
    assert (hold.project_hold_id, hold.from_status, hold.placed_by_id) == (project_hold.id, "requested", None)
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "payment.hold",
                                                         AuditLog.object_id == str(mid.id))).one()
    assert audit.actor_id is None and audit.after["automatic"] is True and audit.after["project_hold_id"] == project_hold.id
    with pytest.raises(PaymentError, match="暂停"):
        services.approve_payment(mid, fin[0])

    # Lifting the project hold returns both to where they were before it: requested, approvals cleared.
    assert services.lift_project_hold(contract, officer, "整改完毕") == 2
    assert (first.status, mid.status) == (PaymentStatus.REQUESTED, PaymentStatus.REQUESTED)
    assert first.approved_by_id is None and services.project_hold_in_force(contract.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "project_hold.lift")) == 1
    with pytest.raises(AlreadyDone):
        services.lift_project_hold(contract, officer, "再次解除")

    # Once lifted, the next payment is not held.
    ff.assess_tranche(contract.tranches[2], payment_pct=100)
    last = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == contract.tranches[2].id)).one()
    assert last.status == PaymentStatus.REQUESTED


def test_lifting_a_project_hold_leaves_a_payments_own_hold(call, fin):
    officer = ff.officer(call)
    contract = ff.active_contract(call)
    first = ff.first_payment(contract)
    services.hold_payment(first, officer, "账户待核实")  # its own hold, before the project's
    services.hold_contract_payments(contract, officer, "审计发现问题")
    ff.assess_tranche(contract.tranches[1], payment_pct=100)
    mid = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == contract.tranches[1].id)).one()
    assert services.lift_project_hold(contract, officer, "审计结束") == 1
    assert (first.status, mid.status) == (PaymentStatus.HELD, PaymentStatus.REQUESTED)


def test_a_payment_of_another_project_is_not_held(call, fin):
    officer = ff.officer(call)
    held_contract, other = ff.active_contract(call), ff.active_contract(call)
    services.hold_contract_payments(held_contract, officer, "审计发现问题")
    ff.assess_tranche(other.tranches[1], payment_pct=100)
    mid = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == other.tranches[1].id)).one()
    assert mid.status == PaymentStatus.REQUESTED


# --- return and resubmit ---------------------------------------------------------------------

def test_return_with_reason_then_resubmit(call, fin):
    p = ff.first_payment(ff.active_contract(call))
    services.approve_payment(p, fin[0])
    with pytest.raises(PaymentError):
        services.return_payment(p, fin[1], "")
    services.return_payment(p, fin[1], "收款账号与开户许可证不一致")
    assert p.status == PaymentStatus.RETURNED and p.approved_by_id is None
    services.resubmit_payment(p, ff.officer(call))
    assert p.status == PaymentStatus.REQUESTED


# --- reclaims ---------------------------------------------------------------------------------

def test_reclaims_are_linked_and_capped_at_what_was_paid(call, fin):
    p = ff.first_payment(ff.active_contract(call))  # ¥20,000
    with pytest.raises(PaymentError, match="已支付"):
        services.record_reclaim(p, fin[0], 100, "未支付不能追回")
    services.approve_payment(p, fin[0])
    services.release_payment(p, fin[1], "R1", TODAY)
    services.record_reclaim(p, fin[0], 1_500_000, "结项评估不合格，追回部分资金")
    with pytest.raises(PaymentError, match="最多还可追回 ¥5,000.00") as e:
        services.record_reclaim(p, fin[0], 500_001, "超额")
    assert e.value.field == "amount"
    services.record_reclaim(p, fin[2], 500_000, "追回余额", reference="RET-9")
    db.session.commit()
    rows = db.session.scalars(sa.select(Reclaim).where(Reclaim.payment_id == p.id)).all()
    assert [r.amount_fen for r in rows] == [1_500_000, 500_000]
    assert p.reclaimed_fen == sum(r.amount_fen for r in rows) == p.amount_fen
    assert p.net_paid_fen == 0
    with pytest.raises(PaymentError):
        services.record_reclaim(p, fin[0], 1, "已全部追回")
    with pytest.raises(PaymentError):
        services.record_reclaim(p, fin[0], 0, "零")


def test_database_refuses_reclaiming_more_than_paid(call, fin):
    p = ff.first_payment(ff.active_contract(call))
    services.approve_payment(p, fin[0])
    services.release_payment(p, fin[1], "R2", TODAY)
    db.session.flush()
    p.reclaimed_fen = p.amount_fen + 1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
