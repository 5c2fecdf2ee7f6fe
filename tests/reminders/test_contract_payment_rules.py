"""Contracts issued but unsigned (organisation after 5 days, officers after 8), payments approved but
not released after 3 working days (finance), assessments not done 10 days after the report."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core.models import Holiday
from grants.reminders.models import Delivery, Notification
from tests.contracts import factories as cf
from tests.finance import factories as ff



@pytest.fixture(autouse=True)
def _request_context(app):
    """The contract and finance factories call services that speak Chinese through gettext."""
    with app.test_request_context():
        yield


# A Monday, 10:00 in Beijing.
ISSUED = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.timezone.utc)


def _fired(db, rule):
    return db.session.execute(sa.select(Delivery.recipient_id, Delivery.subject_id, Delivery.occurrence, Delivery.late)
                              .where(Delivery.rule == rule, Delivery.channel == "in_app").order_by(Delivery.id)).all()


def _walk(clock, run_pass, start, days, step_hours=6):
    for hours in range(0, days * 24, step_hours):
        clock.set(start + dt.timedelta(hours=hours))
        run_pass()
        run_pass()


def test_unsigned_contract_reminds_the_organisation_then_the_officer(db, clock, run_pass):
    clock.set(ISSUED)
    run_pass()
    from grants.accounts.models import User, UserRole

    contract = cf.contract(status="issued")
    officers = set(db.session.scalars(sa.select(User.id).join(UserRole).where(
        UserRole.role == "officer", User.host_unit_id == contract.call.host_unit_id)))
    officer = contract.created_by_id
    members = {m.user_id for m in contract.organization.members}
    db.session.commit()
    _walk(clock, run_pass, ISSUED, 12)
    org = _fired(db, "contract_unsigned")
    assert {r.recipient_id for r in org} == members and len(org) == len(members)
    assert all(r.occurrence.startswith("after5d@") and not r.late for r in org)
    esc = _fired(db, "contract_unsigned_officer")
    assert officer in officers and {r.recipient_id for r in esc} == officers and len(esc) == len(officers)
    assert esc[0].occurrence.startswith("after8d@")
    n = db.session.scalar(sa.select(Notification).where(Notification.user_id == officer))
    assert n.kind == "escalation" and contract.number in n.title and n.link == f"/contracts/{contract.id}"


def test_signed_contract_gets_no_reminder(db, clock, run_pass):
    clock.set(ISSUED)
    cf.contract(status="signed_by_org")
    db.session.commit()
    clock.set(ISSUED + dt.timedelta(days=9))
    run_pass()
    assert _fired(db, "contract_unsigned") == [] and _fired(db, "contract_unsigned_officer") == []


def _approved_payment(db, approved_at):
    contract = ff.active_contract()
    payment = ff.first_payment(contract)
    approver = ff.finance_user(contract.call)
    clerk = ff.finance_user(contract.call)
    payment.status, payment.approved_by_id, payment.approved_at = "approved", approver.id, approved_at
    db.session.commit()
    return payment, {approver.id, clerk.id}


def test_payment_unreleased_after_3_working_days(db, clock, run_pass):
    clock.set(ISSUED - dt.timedelta(days=1))
    run_pass()
    payment, finance = _approved_payment(db, ISSUED)  # Monday
    _walk(clock, run_pass, ISSUED, 7, step_hours=3)
    fired = _fired(db, "payment_unreleased")
    assert {r.recipient_id for r in fired} == finance and len(fired) == 2
    # Monday + 3 working days = Thursday, same time.
    due = db.session.scalar(sa.select(Delivery.due_at).where(Delivery.rule == "payment_unreleased"))
    assert due == ISSUED + dt.timedelta(days=3)


def test_payment_working_days_skip_holidays(db, clock, run_pass):
    db.session.add(Holiday(day=dt.date(2026, 11, 4), is_workday=False, name="测试假日"))  # the Wednesday
    db.session.commit()
    clock.set(ISSUED)
    run_pass()
    payment, _finance = _approved_payment(db, ISSUED)
    clock.set(ISSUED + dt.timedelta(days=3, minutes=1))  # Thursday: only 2 working days so far
    run_pass()
    assert _fired(db, "payment_unreleased") == []
    clock.set(ISSUED + dt.timedelta(days=4, minutes=1))  # Friday
    run_pass()
    assert len(_fired(db, "payment_unreleased")) == 2


def test_payment_not_yet_approved_gets_no_reminder(db, clock, run_pass):
    clock.set(ISSUED)
    contract = ff.active_contract()
    ff.finance_user(contract.call)
    assert ff.first_payment(contract).status == "requested"
    db.session.commit()
    clock.set(ISSUED + dt.timedelta(days=6))
    run_pass()
    assert _fired(db, "payment_unreleased") == []


def test_assessment_overdue_10_days_after_the_report(db, clock, run_pass):
    from grants.accounts.models import User, UserRole
    from grants.assessments.models import Assessment, ProgressReport

    clock.set(ISSUED - dt.timedelta(days=1))
    run_pass()
    contract = cf.contract(status="active")
    evaluator = cf.evaluator()
    tranche = contract.tranches[1]
    report = ProgressReport(tranche_id=tranche.id, contract_id=contract.id, kind="midterm", round=1,
                            status="accepted", submitted_at=ISSUED)
    db.session.add(report)
    db.session.flush()
    assessment = Assessment(tranche_id=tranche.id, report_id=report.id, contract_id=contract.id, round=1,
                            evaluator_id=evaluator.id, status="assigned")
    db.session.add(assessment)
    db.session.commit()
    officers = set(db.session.scalars(sa.select(User.id).join(UserRole).where(
        UserRole.role == "officer", User.host_unit_id == contract.call.host_unit_id)))
    clock.set(ISSUED + dt.timedelta(days=10) - dt.timedelta(minutes=1))
    run_pass()
    assert _fired(db, "assessment_overdue") == []
    clock.set(ISSUED + dt.timedelta(days=10, minutes=1))
    run_pass()
    run_pass()
    fired = _fired(db, "assessment_overdue")
    assert {r.recipient_id for r in fired} == {evaluator.id} | officers and len(fired) == 1 + len(officers)
    # The reminder's own notifications (officers also hold the contract's earlier notices, in no set order).
    kinds = dict(db.session.execute(sa.select(Notification.user_id, Notification.kind)
                                    .where(Notification.title.like("评估逾期%"))).all())
    assert kinds[evaluator.id] == "deadline" and {kinds[o] for o in officers} == {"escalation"}
