"""Factories for payments: a call with funding sources, a confirmed award charged to them, an active
contract (its first tranche payable, so its payment is requested), assessed gated tranches and the
finance users who approve and release."""
from __future__ import annotations

from grants.awards.models import AwardAllocation
from grants.calls.models import CallFundingSource
from grants.core.timeutil import now
from grants.extensions import db
from tests import factories
from tests.contracts import factories as contract_factories

SOURCES = (("welfare_lottery", 60_000_000), ("fiscal_matching", 40_000_000))


def funded_call(unit=None, *, sources=SOURCES, **kwargs):
    """A finalized call with its tranche template (40/30/30), score bands and funding sources."""
    c = contract_factories.call(unit, **kwargs)
    c.funding_sources = [CallFundingSource(kind=k, name="", amount_fen=a) for k, a in sources]
    db.session.flush()
    return c


def award(call_, *, amount_fen: int = 5_000_000, shares: tuple[int, ...] | None = None, org=None):
    """A confirmed award charged to the call's sources: `shares` are fen per source (default: 60/40)."""
    a = contract_factories.award(call_, org, amount_fen=amount_fen)
    srcs = call_.funding_sources
    if shares is None:
        first = amount_fen * 3 // 5
        shares = (first, amount_fen - first) if len(srcs) > 1 else (amount_fen,)
    for src, fen in zip(srcs, shares):
        if fen:
            db.session.add(AwardAllocation(award_id=a.id, funding_source_id=src.id, amount_fen=fen))
    db.session.flush()
    db.session.refresh(a)
    return a


def active_contract(call_=None, *, amount_fen: int = 5_000_000, shares=None, officer=None, org=None):
    """An active (countersigned) contract: its signing tranche is payable and its payment requested."""
    call_ = call_ or funded_call()
    a = award(call_, amount_fen=amount_fen, shares=shares, org=org)
    officer = officer or factories.user(roles=("officer",), unit=call_.host_unit)
    return contract_factories.contract(a, status="active", officer=officer)


def finance_user(call_, **kwargs):
    return factories.user(roles=("finance",), unit=call_.host_unit, **kwargs)


def officer(call_, **kwargs):
    return factories.user(roles=("officer",), unit=call_.host_unit, **kwargs)


def first_payment(contract):
    from grants.finance.models import Payment

    tranche = contract.tranches[0]
    return db.session.query(Payment).filter_by(tranche_id=tranche.id).one()


def assess_tranche(tranche, *, evaluator=None, payment_pct: int = 100, grade: str = "good", score: int = 80):
    """Record a submitted assessment by `evaluator` and make the tranche payable at `payment_pct`."""
    from grants.assessments.models import Assessment, ProgressReport
    from grants.contracts.services import mark_tranche_payable

    evaluator = evaluator or factories.user(roles=("evaluator",))
    report = ProgressReport(tranche_id=tranche.id, contract_id=tranche.contract_id,
                            kind=tranche.report_kind or "midterm", status="accepted", submitted_at=now())
    db.session.add(report)
    db.session.flush()
    db.session.add(Assessment(tranche_id=tranche.id, report_id=report.id, contract_id=tranche.contract_id,
                              evaluator_id=evaluator.id, status="submitted", total_score=score, grade=grade,
                              payment_pct=payment_pct, passed=payment_pct > 0, submitted_at=now()))
    tranche.status = "assessed"
    tranche.grade = grade
    db.session.flush()
    mark_tranche_payable(tranche, evaluator, payment_pct=payment_pct)
    db.session.flush()
    return evaluator


def world_objects(app, org) -> dict:
    """For the route-permission walk: a released payment to `org` in a call of a unit no test user belongs to."""
    import datetime as dt

    from grants.finance import services

    with app.test_request_context():
        call_ = funded_call(factories.host_unit(name="别处财政局"))
        contract = active_contract(call_, org=org)
        payment = first_payment(contract)
        services.approve_payment(payment, finance_user(call_))
        services.release_payment(payment, finance_user(call_), "WORLD-001", dt.date(2026, 11, 2))
        db.session.flush()
    return {"payment_id": payment.id}
