"""A missed rectification deadline withholds the tranche in the scheduler's pass: once, audited as the
system, the organisation and the officers told by the rectification reminder; after an outage the next
pass does it; the officer's button still works; a failed final flags a reclaim that finance can reach."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.assessments import services as svc
from grants.contracts.models import ContractStatus, TrancheStatus
from grants.core.models import AuditLog
from grants.core.timeutil import SHANGHAI
from grants.reminders.jobs import run_pass
from grants.reminders.models import Delivery, Notification
from tests import factories
from tests.assessments.test_assessment_flow import _assess, _report
from tests.contracts import factories as cf

FAIL = (15, 10, 10, 15, 0, 0)  # 50 points: fail, rectification


def bj(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture()
def rectifying(db, clock):
    clock.set(bj(1, 10))
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    _assess(_report(c.tranches[1], member), officer, cf.evaluator(), FAIL, rectify_due_on=dt.date(2026, 6, 10))
    db.session.commit()
    return dict(contract=c, tranche=c.tranches[1], member=member, officer=officer)


def _withhold_audits(db, tranche):
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "tranche.withhold",
                                                        AuditLog.object_id == str(tranche.id))).all()


def _rectify_deliveries(db):
    return {(d.recipient_id, d.occurrence.split("@")[0]) for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.rule == "rectify_due", Delivery.channel == "in_app"))}


def test_the_pass_withholds_once_when_the_deadline_has_passed(db, clock, rectifying):
    tranche, member, officer = rectifying["tranche"], rectifying["member"], rectifying["officer"]
    clock.set(bj(10, 23))  # 23:00 on the deadline day: still in time
    assert run_pass().actions == 0
    assert tranche.status == TrancheStatus.RECTIFYING
    clock.set(bj(11, 0))  # midnight: the deadline has passed
    result = run_pass()
    assert result.actions == 1 and not result.errors
    db.session.expire_all()
    assert tranche.status == TrancheStatus.WITHHELD and tranche.withheld_fen == tranche.planned_fen
    assert tranche.payable_fen == 0 and tranche.rectify_lapsed_at == bj(11, 0)
    audits = _withhold_audits(db, tranche)
    assert len(audits) == 1 and audits[0].actor_id is None and audits[0].actor_name == "系统"
    # The same pass's reminder tells the organisation and, as escalation, the officers that it was withheld.
    assert {(member.id, "overdue"), (officer.id, "overdue")} <= _rectify_deliveries(db)
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id == member.id)
                              .order_by(Notification.id.desc())).first()
    assert "不予拨付" in note.title and "不予拨付" in note.body
    # The next report (the final one) is now due.
    assert rectifying["contract"].tranches[2].status == TrancheStatus.DUE
    # Further passes change nothing and send nothing more.
    sent = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    for hours in (1, 24, 24 * 7):
        clock.advance(dt.timedelta(hours=hours))
        assert run_pass().actions == 0
    assert len(_withhold_audits(db, tranche)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == sent


def test_a_pass_at_a_given_moment_judges_the_deadline_by_that_moment(db, clock, rectifying):
    """`scheduler run` may be given the pass's time: the deadline is judged by it, not by the wall clock."""
    tranche = rectifying["tranche"]
    clock.set(bj(9))
    assert svc.withhold_lapsed_rectifications(bj(11, 0)) == 1
    db.session.commit()
    assert tranche.status == TrancheStatus.WITHHELD and tranche.rectify_lapsed_at == bj(11, 0)


def test_after_an_outage_the_next_pass_withholds_once(db, clock, rectifying):
    tranche = rectifying["tranche"]
    clock.set(bj(9))
    run_pass()
    clock.set(bj(14, 15))  # no pass ran from the 9th to the 14th
    assert run_pass().actions == 1
    db.session.expire_all()
    assert tranche.status == TrancheStatus.WITHHELD
    late = db.session.scalars(sa.select(Delivery).where(Delivery.rule == "rectify_due",
                                                        Delivery.recipient_id == rectifying["member"].id,
                                                        Delivery.channel == "in_app",
                                                        Delivery.occurrence.like("overdue@%"))).all()
    assert len(late) == 1 and late[0].late
    run_pass()
    assert len(_withhold_audits(db, tranche)) == 1


def test_a_moved_deadline_is_respected(db, clock, rectifying):
    tranche = rectifying["tranche"]
    clock.set(bj(9))
    svc.set_rectify_deadline(tranche, rectifying["officer"], dt.date(2026, 6, 20))
    db.session.commit()
    clock.set(bj(15))
    assert run_pass().actions == 0
    assert tranche.status == TrancheStatus.RECTIFYING


def test_the_officers_button_still_works_and_the_pass_then_does_nothing(db, clock, rectifying):
    tranche = rectifying["tranche"]
    clock.set(bj(11, 10))
    svc.withhold_after_deadline(tranche, rectifying["officer"])
    db.session.commit()
    assert run_pass().actions == 0
    audits = _withhold_audits(db, tranche)
    assert len(audits) == 1 and audits[0].actor_id == rectifying["officer"].id
    assert (rectifying["member"].id, "overdue") in _rectify_deliveries(db)


def test_a_lapsed_final_rectification_flags_a_reclaim_and_closes_the_project(db, clock):
    clock.set(bj(1, 10))
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    finance = factories.user(roles=("finance",), unit=c.call.host_unit)
    first, mid, final = c.tranches
    first.status, mid.status = TrancheStatus.PAID, TrancheStatus.PAID
    for t in (first, mid):
        t.payable_fen, t.withheld_fen, t.payment_pct = t.planned_fen, 0, 100
    final.status = TrancheStatus.DUE
    db.session.flush()
    _assess(_report(final, member), officer, cf.evaluator(), FAIL, rectify_due_on=dt.date(2026, 6, 10))
    db.session.commit()
    assert final.status == TrancheStatus.RECTIFYING and c.reclaim_flagged_at is None
    clock.set(bj(11, 9))
    assert run_pass().actions == 1
    db.session.expire_all()
    assert final.status == TrancheStatus.WITHHELD
    assert c.reclaim_flagged_at is not None and "逾期未整改" in c.reclaim_reason
    assert c.status == ContractStatus.COMPLETED and c.application.final_grade == "fail"
    told = db.session.scalars(sa.select(Notification).where(Notification.user_id == finance.id)).all()
    assert any("建议追回" in n.title for n in told)


@pytest.mark.postgres_only
def test_two_passes_at_once_withhold_once(app, db, clock, rectifying):
    """Two schedulers' passes in two threads (own sessions and connections), lined up by a barrier."""
    import threading

    tranche_id = rectifying["tranche"].id
    clock.set(bj(11, 9))
    barrier = threading.Barrier(2, timeout=20)
    done: list = [None, None]

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                done[i] = svc.withhold_lapsed_rectifications(bj(11, 9))
            except Exception as exc:  # noqa: BLE001 - the outcome is checked below
                done[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(done) == [0, 1], done
    db.session.expire_all()
    from grants.contracts.models import Tranche

    assert db.session.get(Tranche, tranche_id).status == TrancheStatus.WITHHELD
    assert len(_withhold_audits(db, db.session.get(Tranche, tranche_id))) == 1


@pytest.mark.parametrize("final_scores,grade,eligible", [
    ((25, 20, 20, 20, 0, 0), "excellent", True),   # 85 points
    ((10, 10, 10, 12, 0, 0), "fail", False),       # 42 points: rectification, deadline missed, withheld
])
def test_the_final_grade_closes_the_project_and_decides_the_next_call(db, clock, final_scores, grade, eligible):
    """Project closes when its final tranche is settled (paid, or withheld after a failed final), its final
    grade stays on the organisation's record, and the next call's rule excludes a failed organisation."""
    from grants.applications.services import eligibility_problems
    from grants.finance import services as finance
    from grants.finance.models import Payment
    from tests.applications import factories as af
    from tests.finance import factories as ff

    clock.set(bj(1, 10))
    call = ff.funded_call()
    c = ff.active_contract(call)
    member = factories.member(c.organization)
    officer, evaluator = ff.officer(call), cf.evaluator()
    fin = [ff.finance_user(call) for _ in range(2)]

    def pay_out(tranche):
        p = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == tranche.id)).one()
        finance.approve_payment(p, fin[0])
        finance.release_payment(p, fin[1], f"REF{tranche.id}", dt.date(2026, 6, 1))

    first, mid, final = c.tranches
    pay_out(first)
    _assess(_report(mid, member), officer, evaluator, (25, 20, 20, 20, 0, 0))
    pay_out(mid)
    _assess(_report(final, member), officer, evaluator, final_scores, rectify_due_on=dt.date(2026, 6, 10))
    if final.status == TrancheStatus.PAYABLE:
        assert c.status == ContractStatus.ACTIVE  # not yet: the last payment is still to be released
        pay_out(final)
    db.session.commit()
    if final.status == TrancheStatus.RECTIFYING:
        clock.set(bj(11, 9))
        assert run_pass().actions == 1
        db.session.expire_all()
    assert final.status in (TrancheStatus.PAID, TrancheStatus.WITHHELD)
    assert c.status == ContractStatus.COMPLETED and c.completed_at is not None
    assert c.application.final_grade == grade
    assert (c.reclaim_flagged_at is not None) is (grade == "fail")

    next_call = af.call(unit=call.host_unit, year=2027, previous_call_id=call.id, exclude_failed_previous=True)
    application = af.application(next_call, c.organization)
    problems = eligibility_problems(application)
    assert (not any("上一届" in p for p in problems)) is eligible


def test_one_broken_tranche_does_not_keep_the_others_from_being_withheld(db, clock, rectifying, monkeypatch):
    other = cf.contract(status="active")
    member = factories.member(other.organization)
    _assess(_report(other.tranches[1], member), rectifying["officer"], cf.evaluator(), FAIL,
            rectify_due_on=dt.date(2026, 6, 10))
    db.session.commit()
    broken_id = rectifying["tranche"].id
    real = svc.withhold_after_deadline

    def flaky(tranche, actor, at=None):
        if tranche.id == broken_id:
            raise RuntimeError("disk full")
        return real(tranche, actor, at)

    monkeypatch.setattr(svc, "withhold_after_deadline", flaky)
    clock.set(bj(11, 9))
    result = run_pass()
    assert any("could not be withheld" in e and str(broken_id) in e for e in result.errors)
    db.session.expire_all()
    assert (rectifying["tranche"].status, other.tranches[1].status) == (TrancheStatus.RECTIFYING,
                                                                       TrancheStatus.WITHHELD)
    monkeypatch.undo()
    assert run_pass().actions == 1  # the next pass tries it again
