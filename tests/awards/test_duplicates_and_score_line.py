"""重复申报 and 分数线: an organisation funded (or proposed) in another call of the same year anywhere in the
tree, or a project text very similar to another application of that year, is flagged at screening and on the
award draft; the officer decides with a recorded reason before the list is approved, and a confirmed
duplicate is not funded. A call's minimum final score keeps lower-scoring projects off the award draft."""
from __future__ import annotations

from decimal import Decimal

import pytest

from grants.applications.duplicates import DuplicateError, decide_duplicate, duplicate_flags
from grants.awards import services
from grants.awards.services import AwardError
from grants.core.models import AuditLog
from tests import factories
from tests.awards import factories as af

Y = 100
TEXT = ("本项目面向社区独居老人开展助餐、助浴、陪伴就医等居家养老服务，组织志愿者每周上门探访两次，"
        "建立老人健康档案，联合社区卫生服务中心开展慢病管理讲座，帮助老人提升自我照护能力。"
        "项目招募低龄老人组成互助小组，开展结对帮扶，每月举办一次生日会和文化活动，"
        "为失能半失能老人家庭提供照护技能培训和喘息服务，建立紧急呼叫联络机制，"
        "并通过季度满意度调查和个案回访评估服务成效，形成可复制的社区居家养老服务模式。")
OTHER = ("面向外来务工人员子女开展课后托管与阅读推广，每周三次作业辅导，寒暑假开设科学实验营，"
         "培训家长参与亲子共读，建设社区儿童图书角并招募大学生志愿者担任阅读导师。"
         "项目联合辖区学校和社区党群服务中心，建立儿童成长档案，开展心理健康团体辅导和安全教育，"
         "组织亲子运动会和社区小小志愿者活动，提升儿童的社会交往能力，"
         "通过家长学校和家访帮助家庭改善教育方式，形成学校、家庭、社区协同育人的服务网络。")


def _city_and_district(year=2026):
    city = factories.host_unit(name="南通市民政局")
    district = factories.host_unit(name="崇川区民政局", level="district", parent=city)
    return (af.scored_call(unit=city, title="市级公益创投"), af.scored_call(unit=district, title="区级公益创投"))


def test_an_organisation_funded_in_another_call_of_the_same_year_is_flagged(ctx, db, monkeypatch):
    city_call, district_call = _city_and_district()
    org = factories.organization()
    in_city = af.scored_application(city_call, org=org)
    in_district = af.scored_application(district_call, org=org)
    af.use_ranking(monkeypatch, [in_city, in_district])
    assert duplicate_flags([in_district])[in_district.id] == []  # nothing proposed anywhere yet
    services.propose_awards(city_call, af.officers(city_call)[0])
    flags = duplicate_flags([in_district])[in_district.id]
    assert [(f.kind, f.application_id, f.call_title) for f in flags] == [("funded_elsewhere", in_city.id, "市级公益创投")]
    assert "已列入资助方案" in flags[0].message
    # The same organisation in a call of another year is not a duplicate.
    district_call.year = 2025
    db.session.flush()
    assert duplicate_flags([in_district])[in_district.id] == []


def test_a_very_similar_project_text_of_the_same_year_is_flagged(ctx, db):
    city_call, district_call = _city_and_district()
    a = af.scored_application(city_call)
    b = af.scored_application(district_call)
    c = af.scored_application(district_call)
    a.summary, a.activity_description = TEXT[:100], TEXT[100:]
    b.summary = TEXT.replace("每周上门探访两次", "每周上门探访三次")  # copied with a small change
    c.summary = OTHER
    db.session.flush()
    flags = duplicate_flags([a, b, c])
    assert [(f.kind, f.application_id) for f in flags[a.id]] == [("similar_text", b.id)]
    assert flags[a.id][0].similarity >= 80
    assert [f.application_id for f in flags[b.id]] == [a.id]
    assert flags[c.id] == []
    # A few lines of the same boilerplate in short texts are not a duplicate.
    d, e = af.scored_application(city_call), af.scored_application(district_call)
    d.summary = e.summary = "组建志愿者队伍，开展常态化服务、主题活动和能力培训。一年内建立稳定的服务网络，达成绩效目标。"
    db.session.flush()
    assert duplicate_flags([d, e]) == {d.id: [], e.id: []}


def test_the_officer_decides_with_a_reason_and_the_draft_waits_for_it(ctx, db, monkeypatch):
    city_call, district_call = _city_and_district()
    org = factories.organization()
    in_city = af.scored_application(city_call, org=org, requested_fen=100_000 * Y)
    in_district = af.scored_application(district_call, org=org, requested_fen=50_000 * Y)
    other = af.scored_application(district_call, requested_fen=50_000 * Y)
    af.use_ranking(monkeypatch, [in_city, in_district, other])
    services.propose_awards(city_call, af.officers(city_call)[0])
    a, b = af.officers(district_call)
    services.propose_awards(district_call, a)
    assert "尚未认定" in services.approval_problem(district_call, b)
    with pytest.raises(AwardError):
        services.approve_awards(district_call, b)

    with pytest.raises(DuplicateError) as err:
        decide_duplicate(in_district, "cleared", "  ", a)
    assert err.value.field == "reason"
    review = decide_duplicate(in_district, "cleared", "市级项目为助老服务，区级项目为青少年服务，不属重复资助", a)
    assert review.flags[0]["kind"] == "funded_elsewhere" and review.flags[0]["application_id"] == in_city.id
    assert db.session.query(AuditLog).filter_by(action="application.duplicate_decision").count() == 1
    assert services.approval_problem(district_call, b) is None

    # Confirmed a duplicate: it may not be approved, and a new draft leaves it out.
    decide_duplicate(in_district, "confirmed", "同一项目重复申报", a)
    assert "须先移出" in services.approval_problem(district_call, b)
    proposed = services.propose_awards(district_call, a)
    assert [x.application_id for x in proposed] == [other.id]
    with pytest.raises(AwardError) as err:
        services.include_application(district_call, in_district, 10_000 * Y, "补录", a)
    assert "重复" in err.value.message


def test_the_award_draft_respects_the_score_line(ctx, db, monkeypatch):
    call = af.scored_call()
    apps = [af.scored_application(call, requested_fen=50_000 * Y) for _ in range(4)]  # scores 95, 94, 93, 92
    af.use_ranking(monkeypatch, apps)
    call.min_final_score = Decimal("93.50")
    db.session.flush()
    officer = af.officers(call)[0]
    proposed = services.propose_awards(call, officer)
    assert [x.application_id for x in proposed] == [apps[0].id, apps[1].id]
    with pytest.raises(AwardError) as err:
        services.include_application(call, apps[2], 10_000 * Y, "预算有余", officer)
    assert "分数线" in err.value.message
    call.min_final_score = None
    db.session.flush()
    assert len(services.propose_awards(call, officer)) == 4


@pytest.mark.parametrize("text, ok", [("70", True), ("72.5", True), ("100", True), ("", True), ("101", False),
                                      ("NaN", False), ("7e1", False), ("²", False), ("-1", False),
                                      ("9" * 400, False), ("70.123", False)])
def test_the_score_line_field_takes_a_score_or_nothing(app, text, ok):
    from werkzeug.datastructures import MultiDict

    from grants.calls.forms import ScoreLineField
    from flask_wtf import FlaskForm

    class F(FlaskForm):
        line = ScoreLineField("分数线")

    with app.test_request_context():
        form = F(formdata=MultiDict({"line": text}), meta={"csrf": False})
        assert form.validate() is ok
        if ok and text:
            assert form.line.data == Decimal(text)


def test_draft_page_and_application_page_show_the_flags(client, db, login_as, monkeypatch):
    with client.application.test_request_context():
        city_call, district_call = _city_and_district()
        org = factories.organization()
        in_city = af.scored_application(city_call, org=org)
        in_district = af.scored_application(district_call, org=org)
        af.use_ranking(monkeypatch, [in_city, in_district])
        services.propose_awards(city_call, af.officers(city_call)[0])
        services.propose_awards(district_call, af.officers(district_call)[0])
        officer = factories.user(roles=("officer",), unit=district_call.host_unit)
        db.session.commit()
    login_as(officer)
    r = client.get(f"/awards/calls/{district_call.id}")
    assert r.status_code == 200 and "重复申报提示 1 条" in r.text and "待认定" in r.text
    r = client.get(f"/applications/{in_district.id}")
    assert r.status_code == 200 and 'id="duplicate-flags"' in r.text and "市级公益创投" in r.text
    r = client.post(f"/applications/{in_district.id}/duplicate", data={"decision": "cleared", "reason": ""},
                    follow_redirects=True)
    assert "请填写认定理由" in r.text
    r = client.post(f"/applications/{in_district.id}/duplicate",
                    data={"decision": "cleared", "reason": "\x00不同服务对象"}, follow_redirects=True)
    assert r.status_code == 200
    r = client.post(f"/applications/{in_district.id}/duplicate",
                    data={"decision": "cleared", "reason": "服务对象不同"}, follow_redirects=True)
    assert "已保存重复申报认定" in r.text and "经核查不属于重复资助" in r.text
    # An officer of the city (the district's parent) may decide too; one of another tree may not.
    stranger = factories.user(roles=("officer",), unit=factories.host_unit(name="别处民政局"))
    db.session.commit()
    login_as(stranger)
    assert client.post(f"/applications/{in_district.id}/duplicate",
                       data={"decision": "confirmed", "reason": "x"}).status_code in (403, 404)
