"""Reports and assessments: ratios by band, the rectification loop, reclaim on a failed final,
and the evaluator recorded apart from the payment duties."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.assessments import services as svc
from grants.assessments.models import AssessmentStatus, ReportStatus
from grants.contracts.models import TrancheStatus
from grants.contracts.services import reclaim_suggested
from grants.core.money import Money
from grants.core.timeutil import UTC
from tests import factories
from tests.contracts import factories as cf


def _setup(amount_fen=100_001):
    c = cf.contract(status="active", amount_fen=amount_fen)
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    return c, member, officer


def _report(tranche, member, narrative="本期完成入户探访 1200 人次，组织集体活动 8 场。"):
    report = svc.start_report(tranche, member)
    svc.save_report(report, narrative=narrative, achieved={o.kind: o.target // 2 for o in report.outputs},
                    spent={s.id: s.budget_fen // 3 for s in report.spending}, actor=member,
                    uploads=[cf.upload()])
    svc.submit_report(report, member)
    return report


def _assess(report, officer, evaluator, scores, satisfaction=92, **kwargs):
    assessment = svc.accept_report(report, officer, evaluator)
    criteria = svc.criteria_for(report.contract.call)
    points = {c.id: s for c, s in zip(criteria, scores)}
    band = svc.submit_assessment(assessment, evaluator, points=points, satisfaction_pct=satisfaction, **kwargs)
    return assessment, band


def test_report_starts_from_targets_and_grant_budget_lines(db):
    c, member, _officer = _setup()
    mid = c.tranches[1]
    report = svc.start_report(mid, member)
    assert report.kind == "midterm" and report.round == 1
    assert {(o.kind, o.target) for o in report.outputs} == {("service_sessions", 3000), ("beneficiaries", 150)}
    grant_lines = [b for b in c.application.budget_lines if b.funded_by == "grant"]
    assert [s.budget_fen for s in report.spending] == [b.amount_fen for b in grant_lines]


def test_incomplete_report_is_refused_and_kept(db):
    c, member, _officer = _setup()
    report = svc.start_report(c.tranches[1], member)
    svc.save_report(report, narrative="进展顺利，已开展多次活动。", achieved={}, spent={}, actor=member)
    with pytest.raises(svc.AssessmentError) as exc:
        svc.submit_report(report, member)
    assert exc.value.field == "evidence"
    assert report.status == ReportStatus.DRAFT and report.narrative.startswith("进展顺利")


def test_officer_returns_report_with_comments(db):
    c, member, officer = _setup()
    report = _report(c.tranches[1], member)
    with pytest.raises(svc.AssessmentError):
        svc.return_report(report, officer, "")
    svc.return_report(report, officer, "请补充活动签到表")
    assert report.status == ReportStatus.RETURNED and c.tranches[1].status == TrancheStatus.DUE
    svc.submit_report(report, member)
    assert report.status == ReportStatus.SUBMITTED


# score rows: 项目实施 30, 人力物资投入 20, 财务管理 20, 项目成效 30, bonus 5, penalty 10
@pytest.mark.parametrize("scores,total,grade,pct", [
    ((30, 20, 20, 30, 5, 0), 100, "excellent", 100),
    ((27, 18, 18, 25, 0, 0), 88, "excellent", 100),
    ((25, 15, 15, 20, 0, 0), 75, "good", 100),
    ((20, 14, 14, 20, 0, 0), 68, "pass", 80),
    ((20, 14, 14, 20, 0, 8), 60, "pass", 80),
    ((20, 14, 14, 20, 3, 10), 61, "pass", 80),
])
def test_band_gives_grade_and_payment_ratio(db, scores, total, grade, pct):
    c, member, officer = _setup()
    mid = c.tranches[1]
    assessment, band = _assess(_report(mid, member), officer, cf.evaluator(), scores)
    assert (assessment.total_score, assessment.grade, assessment.payment_pct) == (total, grade, pct)
    assert mid.status == TrancheStatus.PAYABLE and mid.grade == grade
    assert mid.payable_fen == Money(30_000).times_ratio(pct).fen
    assert mid.payable_fen + mid.withheld_fen == mid.planned_fen
    assert c.tranches[2].status == TrancheStatus.DUE  # the final report is next


def test_score_out_of_range_is_refused(db):
    c, member, officer = _setup()
    evaluator = cf.evaluator()
    assessment = svc.accept_report(_report(c.tranches[1], member), officer, evaluator)
    criteria = svc.criteria_for(c.call)
    with pytest.raises(svc.AssessmentError) as exc:
        svc.submit_assessment(assessment, evaluator, points={criteria[0].id: 31}, satisfaction_pct=90)
    assert exc.value.field == f"points-{criteria[0].id}"
    assert assessment.status == AssessmentStatus.ASSIGNED


def test_fail_rectify_pass(db, clock):
    clock.set(dt.datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    c, member, officer = _setup()
    mid = c.tranches[1]
    evaluator = cf.evaluator()
    first, band = _assess(_report(mid, member), officer, evaluator, (15, 10, 10, 15, 0, 0))
    assert band.grade == "fail" and first.passed is False
    assert mid.status == TrancheStatus.RECTIFYING and mid.rectify_due_on == dt.date(2026, 6, 15)
    assert mid.payable_fen is None
    report2 = _report(mid, member, narrative="整改：补充签到表和票据，完善财务台账。")
    assert report2.round == 2
    second, band = _assess(report2, officer, evaluator, (22, 16, 15, 22, 0, 0))
    assert second.round == 2 and band.grade == "good"
    assert mid.status == TrancheStatus.PAYABLE and mid.payable_fen == mid.planned_fen


def test_fail_rectify_fail_withholds(db):
    c, member, officer = _setup()
    mid = c.tranches[1]
    evaluator = cf.evaluator()
    _assess(_report(mid, member), officer, evaluator, (15, 10, 10, 15, 0, 0))
    _assess(_report(mid, member), officer, evaluator, (16, 10, 10, 15, 0, 0))
    assert mid.status == TrancheStatus.WITHHELD
    assert (mid.payable_fen, mid.withheld_fen) == (0, mid.planned_fen)
    assert not reclaim_suggested(c)  # only a failed FINAL assessment suggests a reclaim
    assert c.tranches[2].status == TrancheStatus.DUE


def test_failed_final_assessment_flags_reclaim_and_keeps_grade(db):
    c, member, officer = _setup()
    mid, final = c.tranches[1], c.tranches[2]
    evaluator = cf.evaluator()
    _assess(_report(mid, member), officer, evaluator, (25, 15, 15, 20, 0, 0))
    _assess(_report(final, member), officer, evaluator, (10, 10, 10, 10, 0, 0))
    assert final.status == TrancheStatus.RECTIFYING and not reclaim_suggested(c)
    _assess(_report(final, member), officer, evaluator, (10, 10, 10, 12, 0, 0))
    assert final.status == TrancheStatus.WITHHELD
    assert reclaim_suggested(c) and "结项评估不合格" in c.reclaim_reason
    assert c.application.final_grade == "fail"


def test_rectified_report_refused_after_deadline_then_withheld(db, clock):
    clock.set(dt.datetime(2027, 6, 1, 2, 0, tzinfo=UTC))
    c, member, officer = _setup()
    mid = c.tranches[1]
    _assess(_report(mid, member), officer, cf.evaluator(), (15, 10, 10, 15, 0, 0),
            rectify_due_on=dt.date(2027, 6, 10))
    with pytest.raises(svc.AssessmentError):
        svc.withhold_after_deadline(mid, officer)  # not yet
    clock.set(dt.datetime(2027, 6, 10, 15, 59, tzinfo=UTC))  # 23:59 Beijing, still in time to start
    report2 = svc.start_report(mid, member)
    svc.save_report(report2, narrative="整改报告初稿，补充材料中。", achieved={}, spent={}, actor=member,
                    uploads=[cf.upload()])
    clock.set(dt.datetime(2027, 6, 10, 16, 0, tzinfo=UTC))  # 00:00 Beijing on the 11th
    with pytest.raises(svc.AssessmentError):
        svc.submit_report(report2, member)
    svc.withhold_after_deadline(mid, officer)
    assert mid.status == TrancheStatus.WITHHELD and mid.withheld_fen == mid.planned_fen


def test_evaluator_is_recorded_and_must_be_an_evaluator(db):
    c, member, officer = _setup()
    report = _report(c.tranches[1], member)
    with pytest.raises(svc.AssessmentError):
        svc.accept_report(report, officer, factories.user(roles=("finance",)))
    with pytest.raises(svc.AssessmentError):
        svc.accept_report(report, officer, member)
    evaluator = cf.evaluator()
    assessment = svc.accept_report(report, officer, evaluator)
    assert assessment.evaluator_id == evaluator.id and assessment.assigned_by_id == officer.id
    other = cf.evaluator()
    with pytest.raises(svc.AssessmentError):
        svc.submit_assessment(assessment, other, points={}, satisfaction_pct=90)


def test_finance_sees_the_evaluator_as_a_conflict(db):
    from grants.finance.models import Payment
    from grants.finance.services import duty_conflict, tranche_evaluator_ids

    c, member, officer = _setup()
    mid = c.tranches[1]
    evaluator = factories.user(roles=("evaluator", "finance"), unit=c.call.host_unit)
    _assess(_report(mid, member), officer, evaluator, (25, 15, 15, 20, 0, 0))
    assert tranche_evaluator_ids(mid) == {evaluator.id}
    payment = db.session.query(Payment).filter_by(tranche_id=mid.id).one()
    assert duty_conflict(payment, evaluator, "approve")


def test_rubric_page_validates_and_locks(app, client, login_as, db):
    app.config["WTF_CSRF_ENABLED"] = False
    c, member, officer = _setup()
    db.session.commit()
    login_as(officer)
    page = client.get(f"/calls/{c.call_id}/assessment-rubric")
    assert page.status_code == 200 and "项目实施" in page.text
    bad = {"crit-0-name": "项目实施", "crit-0-max": "40", "crit-0-kind": "normal",
           "crit-1-name": "项目成效", "crit-1-max": "50", "crit-1-kind": "normal",
           "crit-2-name": "宣传报道", "crit-2-max": "5", "crit-2-kind": "bonus"}
    resp = client.post(f"/calls/{c.call_id}/assessment-rubric", data=bad)
    assert resp.status_code == 400 and "合计应为 100 分（当前 90 分）" in resp.text and "宣传报道" in resp.text
    good = {**bad, "crit-1-max": "60"}
    assert client.post(f"/calls/{c.call_id}/assessment-rubric", data=good).status_code == 302
    criteria = svc.criteria_for(c.call)
    assert [(x.name, x.max_points, x.kind) for x in criteria] == [
        ("项目实施", 40, "normal"), ("项目成效", 60, "normal"), ("宣传报道", 5, "bonus")]
    evaluator = cf.evaluator()
    _assess(_report(c.tranches[1], member), officer, evaluator, (40, 40, 5))
    assert c.tranches[1].grade == "excellent"  # 80 + 5 bonus = 85
    db.session.commit()
    resp = client.post(f"/calls/{c.call_id}/assessment-rubric", data=good)
    assert resp.status_code == 400 and "不能再修改" in resp.text
    login_as("officer")  # another unit
    assert client.get(f"/calls/{c.call_id}/assessment-rubric").status_code == 403


def test_parties_are_notified(db):
    import sqlalchemy as sa

    from grants.reminders.models import Notification

    c, member, officer = _setup()
    evaluator = cf.evaluator()
    _assess(_report(c.tranches[1], member), officer, evaluator, (15, 10, 10, 15, 0, 0))
    titles = {n.user_id: [] for n in db.session.scalars(sa.select(Notification))}
    for n in db.session.scalars(sa.select(Notification)):
        titles[n.user_id].append(n.title)
    assert any(t.startswith("新的评估任务") for t in titles[evaluator.id])
    admin_titles = sum((titles.get(m.user_id, []) for m in c.organization.members if m.is_admin), [])
    assert any(t.startswith("资助协议已生效") for t in admin_titles)
    assert any(t.startswith("评估结果") for t in admin_titles)


def test_score_bands_read_as_ranges(app):
    from grants.assessments.services import DEFAULT_BANDS, Band, band_ranges

    with app.test_request_context():
        assert [(label, b.grade) for label, b in band_ranges(DEFAULT_BANDS)] == [
            ("85 分及以上", "excellent"), ("70–84 分", "good"), ("60–69 分", "pass"), ("60 分以下", "fail")]
        assert [label for label, _b in band_ranges([Band(0, "pass", 100, False)])] == ["0–100 分"]
