"""The organisation's status page per application: stage, next step and by when, the awarded amount with any
cut and its reason, the 公示 link, the review feedback once released; nobody else's organisation sees it."""
from __future__ import annotations

import datetime as dt

from grants.awards import services as aw
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.applications import factories as appf
from tests.awards import factories as af


def _page(client, application_id):
    resp = client.get(f"/applications/{application_id}/status")
    return resp.status_code, resp.get_data(as_text=True)


def _awarded_with_cut(app, db, monkeypatch, clock):
    """¥50,000 requested, ¥40,000 approved ("专家建议压缩设备采购"), on 公示; a second application not funded."""
    with app.test_request_context():
        call = af.scored_call()
        cut = af.scored_application(call, requested_fen=5_000_000, name="银龄互助·幸福邻里")
        other = af.scored_application(call, requested_fen=3_000_000, name="社区儿童课堂")
        af.use_ranking(monkeypatch, [cut, other])
        a, b = af.officers(call)
        clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
        aw.propose_awards(call, a)
        award = next(x for x in aw.awards_of(call) if x.application_id == cut.id)
        aw.adjust_award(award, 4_000_000, "专家建议压缩设备采购", a)
        aw.exclude_award(next(x for x in aw.awards_of(call) if x.application_id == other.id), "名额有限", a)
        aw.approve_awards(call, b)
        notice = aw.publish_notice(call, a)
        db.session.commit()
    return call, cut, other, notice, a


def test_an_awarded_application_shows_amount_cut_reason_and_the_notice(app, client, db, login_as, monkeypatch, clock):
    call, cut, _other, notice, _officer = _awarded_with_cut(app, db, monkeypatch, clock)
    login_as(factories.member(cut.organization))
    code, page = _page(client, cut.id)
    assert code == 200
    assert "拟资助" in page and "¥40,000.00" in page and "¥50,000.00" in page
    assert "-¥10,000.00" in page and "专家建议压缩设备采购" in page
    assert f"/public/notices/{call.id}" in page and notice.ends_on.isoformat() in page
    assert "公示期满无异议后确认立项" in page
    assert 'class="current" aria-current="step">' in page.replace("\n    ", "")


def test_feedback_is_offered_once_the_call_is_finalized(app, client, db, login_as, monkeypatch, clock):
    call, _cut, other, notice, officer = _awarded_with_cut(app, db, monkeypatch, clock)
    member = factories.member(other.organization)
    login_as(member)
    code, page = _page(client, other.id)
    assert code == 200 and "评审已完成" in page  # still scored while the 公示 runs
    clock.set(dt.datetime.combine(notice.ends_on + dt.timedelta(days=1), dt.time(9), tzinfo=SHANGHAI))
    with app.test_request_context():
        aw.finalize_notice(call, officer)
        db.session.commit()
    code, page = _page(client, other.id)
    assert "本次未获资助" in page and f"/awards/applications/{other.id}/feedback" in page


def test_a_returned_application_shows_the_reason_and_the_new_deadline(app, client, db, login_as, clock):
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    with app.test_request_context():
        call = appf.call()
        a = appf.application(call, status="returned", screening_reason="预算表缺少签章",
                             return_deadline_at=dt.datetime(2026, 12, 10, 17, tzinfo=SHANGHAI))
        member = factories.member(a.organization)
    login_as(member)
    code, page = _page(client, a.id)
    assert code == 200
    assert "按审查意见修改后重新提交" in page and "预算表缺少签章" in page and "2026-12-10 17:00" in page


def test_other_organisations_and_other_units_see_nothing(app, client, db, login_as, monkeypatch, clock):
    call, cut, _other, _notice, officer = _awarded_with_cut(app, db, monkeypatch, clock)
    login_as(factories.member(factories.organization()))
    assert _page(client, cut.id)[0] == 403
    login_as(factories.user(unit=factories.host_unit()))
    assert _page(client, cut.id)[0] == 403
    login_as(officer)
    assert _page(client, cut.id)[0] == 200


def test_an_active_project_says_which_report_is_due(app, client, db, login_as):
    from tests.contracts import factories as cf

    with app.test_request_context():
        contract = cf.contract(status="active")
        member = factories.member(contract.organization)
        mid = contract.tranches[1]
        mid.due_on = dt.date(2027, 6, 30)
        db.session.commit()
    login_as(member)
    code, page = _page(client, contract.application_id)
    assert code == 200 and f"提交“{mid.name}”的进度报告" in page and "2027-06-30" in page
    assert contract.number in page
