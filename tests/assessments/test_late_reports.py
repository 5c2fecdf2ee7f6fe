"""Late reports (逾期提交): days late on the contract page, the report page and the officer's contract list,
counted in the organisation record; a report returned and resubmitted keeps its first submission's date."""
from __future__ import annotations

import datetime as dt

from grants.assessments import services as svc
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.contracts import factories as cf


def _bj(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


def _report(tranche, member):
    report = svc.start_report(tranche, member)
    svc.save_report(report, narrative="全年完成入户探访 2400 人次，组织集体活动 36 场。",
                    achieved={o.kind: o.target for o in report.outputs},
                    spent={s.id: s.budget_fen // 2 for s in report.spending}, actor=member, uploads=[cf.upload()])
    return report


def test_a_report_five_months_late_is_flagged_everywhere(app, client, db, login_as, clock):
    clock.set(_bj(5, 1))
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    tranche = c.tranches[1]
    tranche.due_on = dt.date(2026, 6, 30)
    db.session.commit()

    # overdue while nothing is submitted: the contract page and the list say so
    clock.set(_bj(7, 5))
    assert tranche.report_overdue_days == 5
    login_as(officer)
    assert "报告已逾期 5 天" in client.get(f"/contracts/{c.id}").text
    assert "报告已逾期 5 天" in client.get("/contracts").text

    # submitted on 2026-11-30: 153 days late; returned and resubmitted later, still measured from the first
    clock.set(_bj(11, 30, 23))
    with app.test_request_context():
        report = _report(tranche, member)
        svc.submit_report(report, member)
        assert report.days_late == 153
        clock.set(_bj(12, 2))
        svc.return_report(report, officer, "请补充签到表")
        clock.set(_bj(12, 20))
        svc.submit_report(report, member)
        assert report.days_late == 153 and report.submitted_at > report.first_submitted_at
    db.session.commit()
    marker = "逾期 153 天提交"
    assert marker in client.get(f"/contracts/{c.id}").text
    assert marker in client.get(f"/reports/{report.id}").text
    listing = client.get("/contracts").text
    assert marker in listing and "报告已逾期" not in listing
    record = client.get(f"/organizations/{c.organization_id}/record").text
    assert "逾期提交报告 1 次" in record and "最长 153 天" in record


def test_a_report_on_its_due_date_is_not_late(app, client, db, login_as, clock):
    clock.set(_bj(5, 1))
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    officer = factories.user(roles=("officer",), unit=c.call.host_unit)
    c.tranches[1].due_on = dt.date(2026, 6, 30)
    clock.set(dt.datetime(2026, 6, 30, 23, 59, tzinfo=SHANGHAI))
    with app.test_request_context():
        report = _report(c.tranches[1], member)
        svc.submit_report(report, member)
    db.session.commit()
    assert report.days_late == 0 and c.tranches[1].report_overdue_days == 0
    login_as(officer)
    for url in (f"/contracts/{c.id}", f"/reports/{report.id}", "/contracts",
                f"/organizations/{c.organization_id}/record"):
        assert "late-marker" not in client.get(url).text and "逾期提交报告" not in client.get(url).text

