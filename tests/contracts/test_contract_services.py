"""Contracts: the tranche split, the contract state table, activation and closing."""
from __future__ import annotations

import pytest

from grants.contracts import services
from grants.contracts.models import ContractStatus, TrancheStatus
from grants.contracts.states import CONTRACT_WORKFLOW
from grants.core.money import Money
from grants.core.states import IllegalTransition
from tests import factories
from tests.contracts import factories as cf


def test_split_puts_the_remainder_on_the_last_tranche(db):
    c = cf.contract(amount_fen=100_001)
    assert [t.planned_fen for t in c.tranches] == [40_000, 30_000, 30_001]
    assert sum(t.planned_fen for t in c.tranches) == c.amount_fen


@pytest.mark.parametrize("amount", [1, 2, 3, 99, 100_001, 333_333, 5_000_000, 9_999_999_999])
def test_tranches_always_add_up(db, amount):
    tranches = services.build_tranches(amount, services.DEFAULT_TRANCHES, *_period())
    assert sum(t.planned_fen for t in tranches) == amount
    assert all(t.planned_fen >= 0 for t in tranches)


def _period():
    import datetime as dt

    return dt.date(2027, 1, 1), dt.date(2027, 12, 31)


def test_contract_snapshot_number_and_terms(db):
    a = cf.award(amount_fen=5_000_000)
    officer = factories.user(roles=("officer",), unit=a.call.host_unit)
    c = services.create_contract_from_award(a, officer)
    assert c.number == f"GYCT-{a.call.year}-{a.call.id:03d}-001"
    assert c.party_a_name == a.call.host_unit.name
    assert c.party_b_name == a.organization.name and c.party_b_uscc == a.organization.uscc
    assert c.party_b_bank_account_number == a.organization.bank_account_number
    assert "人民币伍万元整" in c.terms and "¥50,000.00" in c.terms
    assert (c.period_start_on, c.period_end_on) == (a.call.project_start_on, a.call.project_end_on)
    assert [t.trigger for t in c.tranches] == ["signing", "midterm_assessment", "final_assessment"]
    assert c.tranches[1].due_on is not None and c.tranches[2].due_on == c.period_end_on
    second = services.create_contract_from_award(cf.award(a.call), officer)
    assert second.number.endswith("-002")
    with pytest.raises(services.ContractError):
        services.create_contract_from_award(a, officer)


def test_unconfirmed_award_gives_no_contract(db):
    a = cf.award()
    a.status = "approved"
    with pytest.raises(services.ContractError):
        services.create_contract_from_award(a, factories.user())


CONTRACT_TABLE = [
    ("draft", "issue", "officer", "issued"),
    ("issued", "recall", "officer", "draft"),
    ("issued", "sign", "applicant", "signed_by_org"),
    ("signed_by_org", "reject_signature", "officer", "issued"),
    ("signed_by_org", "countersign", "officer", "active"),
    ("active", "complete", "officer", "completed"),
    ("active", "terminate", "officer", "terminated"),
    ("draft", "terminate", "officer", "terminated"),
    ("issued", "terminate", "officer", "terminated"),
    ("signed_by_org", "terminate", "officer", "terminated"),
]


@pytest.mark.parametrize("state,action,role,target", CONTRACT_TABLE)
def test_contract_state_table(state, action, role, target):
    assert CONTRACT_WORKFLOW.target(ContractStatus(state), action) == ContractStatus(target)
    assert role in CONTRACT_WORKFLOW.table[(ContractStatus(state), action)][1]


@pytest.mark.parametrize("state,action", [
    ("draft", "sign"), ("draft", "countersign"), ("issued", "countersign"), ("active", "sign"),
    ("completed", "terminate"), ("terminated", "issue"), ("completed", "issue"),
])
def test_contract_illegal_moves(state, action):
    assert CONTRACT_WORKFLOW.target(ContractStatus(state), action) is None


def test_applicant_cannot_countersign_or_issue(db):
    c = cf.contract(status="issued")
    with pytest.raises(IllegalTransition):
        CONTRACT_WORKFLOW.transition(c, "recall", factories.member(c.organization))


def test_countersign_makes_signing_tranche_payable_and_midterm_due(db):
    c = cf.contract(status="active", amount_fen=100_001)
    first, mid, final = c.tranches
    assert c.status == ContractStatus.ACTIVE and c.countersigned_at is not None
    assert first.status == TrancheStatus.PAYABLE
    assert (first.payment_pct, first.payable_fen, first.withheld_fen) == (100, 40_000, 0)
    assert mid.status == TrancheStatus.DUE and final.status == TrancheStatus.SCHEDULED


def test_payable_tranche_requests_payment_when_finance_exists(db):
    from grants.finance.models import Payment

    c = cf.contract(status="active", amount_fen=100_001)
    payment = db.session.query(Payment).filter_by(tranche_id=c.tranches[0].id).one()
    assert payment.amount_fen == 40_000


def test_sign_requires_name_and_title(db):
    c = cf.contract(status="issued")
    signer = factories.member(c.organization)
    with pytest.raises(services.ContractError) as exc:
        services.sign_contract(c, signer, signer_name="", signer_title="理事长")
    assert exc.value.field == "signer_name"
    assert c.status == ContractStatus.ISSUED


def test_terminate_needs_reason_and_withholds_open_tranches(db):
    c = cf.contract(status="active")
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    with pytest.raises(services.ContractError):
        services.terminate_contract(c, officer, " ")
    services.terminate_contract(c, officer, "乙方擅自变更项目内容")
    assert c.status == ContractStatus.TERMINATED
    first, mid, final = c.tranches
    assert first.status == TrancheStatus.PAYABLE  # already requested: its payment is put on hold
    from grants.finance.models import Payment

    payment = db.session.query(Payment).filter_by(tranche_id=first.id).one()
    assert payment.status == "held" and "乙方擅自变更项目内容" in payment.hold_reason
    assert mid.status == final.status == TrancheStatus.WITHHELD
    assert mid.withheld_fen == mid.planned_fen and mid.payable_fen == 0


def test_settling_the_last_tranche_closes_the_project_and_keeps_the_grade(db):
    c = cf.contract(status="active")
    finance = factories.user(roles=("finance",), unit=c.call.host_unit)
    first, mid, final = c.tranches
    services.settle_tranche(first, finance)
    for t, pct, grade in ((mid, 100, "good"), (final, 80, "pass")):
        if t.status == TrancheStatus.SCHEDULED:
            t.status = TrancheStatus.DUE
        t.status = TrancheStatus.ASSESSED
        t.grade = grade
        services.mark_tranche_payable(t, finance, payment_pct=pct)
    assert c.status == ContractStatus.ACTIVE
    services.settle_tranche(mid, finance)
    assert c.status == ContractStatus.ACTIVE
    services.settle_tranche(final, finance)
    assert c.status == ContractStatus.COMPLETED and c.completed_at is not None
    assert c.application.final_grade == "pass"
    assert final.payable_fen == Money(final.planned_fen).times_ratio(80).fen
