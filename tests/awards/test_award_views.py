"""Award pages through the test client: draft, refusals with the gap, approval, notice, public pages, objection,
finalize, PDF and applicant feedback — with the real ranking from the review domain."""
from __future__ import annotations

import datetime as dt
import io
import re

from grants.awards import services
from grants.awards.models import Award, Objection
from grants.core.timeutil import SHANGHAI
from grants.extensions import db as _db
from tests import factories
from tests.awards import factories as af


def _officers(call):
    return af.officers(call)


def test_full_flow_through_the_pages(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    call, apps, experts = af.reviewed_call()
    a, b = _officers(call)
    db.session.commit()

    login_as(a)
    r = client.get(f"/awards/calls/{call.id}")
    assert r.status_code == 200 and "示范项目1" in r.text
    r = client.post(f"/awards/calls/{call.id}/propose")
    assert r.status_code == 302
    awards = services.awards_of(call)
    # budget 500,000; 为老 quota 250,000: #1 200,000 (elderly), #2 150,000 elderly no longer fits → skipped,
    # #3 150,000 youth, #4 100,000 elderly does not fit the quota (50,000 left), #5 80,000 youth.
    assert [x.application.project_name for x in awards] == ["示范项目1", "示范项目3", "示范项目5"]

    # raising an amount beyond the quota is refused with the gap and the typed values kept
    first = awards[0]
    first.application.requested_fen = 300_000_00
    db.session.commit()
    r = client.post(f"/awards/{first.id}/adjust", data={"amount": "260000", "reason": "扩大覆盖面"})
    assert r.status_code == 422
    assert "超出配额 ¥10,000.00" in r.text and 'value="260000"' in r.text and "扩大覆盖面" in r.text
    _db.session.expire_all()
    assert _db.session.get(Award, first.id).amount_fen == 200_000_00
    r = client.post(f"/awards/{first.id}/adjust", data={"amount": "abc", "reason": "x"})
    assert r.status_code == 422 and "请输入以元为单位的金额" in r.text

    # the drafter cannot approve
    r = client.post(f"/awards/calls/{call.id}/approve", follow_redirects=True)
    assert "另一名工作人员" in r.text
    login_as(b)
    r = client.post(f"/awards/calls/{call.id}/approve", follow_redirects=True)
    assert "审批通过" in r.text
    r = client.get(f"/awards/calls/{call.id}")
    assert "2026-06-02" in r.text and "2026-06-08" in r.text  # 5 working days Tue 2 – Mon 8 June
    r = client.post(f"/awards/calls/{call.id}/publish", data={"show_panel_names": "y"}, follow_redirects=True)
    assert "公示已发布" in r.text

    # public pages: no log-in, no personal data, panel names shown because the officer chose so
    client.post("/logout")
    r = client.get(f"/public/notices/{call.id}")
    assert r.status_code == 200 and "示范项目1" in r.text and "王评审" in r.text
    assert "2026-06-02" in r.text and "2026-06-08" in r.text
    for org in {x.organization for x in awards}:
        assert org.name in r.text
        assert org.contact_phone not in r.text and org.bank_account_number not in r.text
        assert org.contact_name not in r.text
    assert not re.search(r"1[3-9]\d{9}|0\d{2,3}-\d{7,8}|6228\d{8,}", r.text)
    home = client.get("/")
    assert f"/public/notices/{call.id}" in home.text

    # the notice is published on Mon 1 June and runs from Tue 2 June: an objection the day before is refused
    r = client.get(f"/public/notices/{call.id}/objection")
    assert r.status_code == 200 and 'id="objection-not-yet"' in r.text and "2026-06-02" in r.text
    assert 'id="objection-form"' not in r.text
    r = client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": apps[0].id, "objector_name": "张三", "contact": "13812345678",
        "content": "该项目申报的服务人次与实际情况不符。"})
    assert r.status_code == 409 and "公示期自 2026-06-02 开始" in r.text
    assert _db.session.scalar(_db.select(_db.func.count(Objection.id))) == 0
    clock.set(dt.datetime(2026, 6, 2, 0, 0, 0, tzinfo=SHANGHAI))
    r = client.get(f"/public/notices/{call.id}/objection")
    assert r.status_code == 200
    r = client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": apps[0].id, "objector_name": "", "contact": "", "content": "短"})
    assert r.status_code == 422 and "请填写姓名或单位名称" in r.text and "请填写联系方式" in r.text
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    r = client.post(f"/public/notices/{call.id}/objection", content_type="multipart/form-data", data={
        "application_id": apps[0].id, "objector_name": "张三", "contact": "13812345678",
        "content": "该项目申报的服务人次与实际情况不符。", "evidence": (io.BytesIO(b"GIF89a fake"), "照片.png")})
    assert r.status_code == 422 and "照片.png" in r.text and "不符" in r.text
    assert _db.session.scalar(_db.select(_db.func.count(Objection.id))) == 0
    r = client.post(f"/public/notices/{call.id}/objection", content_type="multipart/form-data", data={
        "application_id": apps[0].id, "objector_name": "张三", "contact": "13812345678",
        "content": "该项目申报的服务人次与实际情况不符。", "evidence": (io.BytesIO(pdf), "服务记录.pdf")})
    assert r.status_code == 200 and "已收到" in r.text
    receipt = re.search(r'id="receipt-no">(YY\d{8}-\w{6})<', r.text).group(1)
    r = client.get(f"/public/notices/{call.id}")
    assert "13812345678" not in r.text and "张三" not in r.text

    # the officer sees the objection; finalize is refused while the notice runs and the objection is open
    login_as(a)
    r = client.get(f"/awards/calls/{call.id}/notice")
    assert "13812345678" in r.text and "还有 1 条异议未处理" in r.text and receipt in r.text
    obj = _db.session.scalars(_db.select(Objection)).one()
    assert obj.receipt_no == receipt and len(obj.evidence) == 1
    link = f"/awards/objections/{obj.id}/evidence/{obj.evidence[0].id}"
    assert link in r.text
    r = client.get(link)
    assert r.status_code == 200 and r.data == pdf
    r.close()
    assert client.get(f"/awards/objections/{obj.id + 1}/evidence/{obj.evidence[0].id}").status_code == 404
    r = client.post(f"/awards/objections/{obj.id}/handle", data={"decision": "reject", "reason": ""},
                    follow_redirects=True)
    assert "请填写处理理由" in r.text
    client.post(f"/awards/objections/{obj.id}/handle", data={"decision": "reject", "reason": "经核实数据属实"})
    r = client.post(f"/awards/calls/{call.id}/finalize", follow_redirects=True)
    assert "公示期至 2026-06-08 结束" in r.text

    # late objection refused on the server (the page would no longer show the form)
    clock.set(dt.datetime(2026, 6, 9, 0, 0, 0, tzinfo=SHANGHAI))
    client.post("/logout")
    r = client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": apps[0].id, "objector_name": "李四", "contact": "x@example.org",
        "content": "迟到的异议迟到的异议。"})
    assert r.status_code == 409 and "公示期已结束" in r.text
    assert _db.session.scalar(_db.select(_db.func.count(Objection.id))) == 1

    login_as(a)
    r = client.post(f"/awards/calls/{call.id}/finalize", follow_redirects=True)
    assert "已定项" in r.text
    _db.session.expire_all()
    assert [x.status for x in apps] == ["confirmed", "not_awarded", "confirmed", "not_awarded", "confirmed"]

    with client.get(f"/awards/calls/{call.id}/summary.pdf") as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data[:4] == b"%PDF"

    # the unfunded applicant sees scores and comments, never the experts' names
    member = factories.member(apps[1].organization)
    _db.session.commit()
    login_as(member)
    assert f"/awards/applications/{apps[1].id}/feedback" in client.get(f"/applications/{apps[1].id}").text
    r = client.get(f"/awards/applications/{apps[1].id}/feedback")
    assert r.status_code == 200 and "需求分析扎实" in r.text and "需求分析" in r.text
    for name in af.EXPERT_NAMES:
        assert name not in r.text
    assert client.get(f"/awards/applications/{apps[0].id}/feedback").status_code == 403


def test_unknown_year_warning_on_the_page(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI))
    call, apps, experts = af.reviewed_call(notice_working_days=7)
    a, b = _officers(call)
    db.session.commit()
    login_as(a)
    client.post(f"/awards/calls/{call.id}/propose")
    login_as(b)
    client.post(f"/awards/calls/{call.id}/approve")
    r = client.get(f"/awards/calls/{call.id}")
    assert "2027 年" in r.text and "/admin/holidays" in r.text and 'id="publish-notice" disabled' in r.text
    r = client.post(f"/awards/calls/{call.id}/publish", follow_redirects=True)
    assert "尚未录入该年的法定节假日" in r.text
    assert services.notice_of(call) is None


def test_admin_may_approve_but_not_draft(client, db, login_as):
    call, apps, experts = af.reviewed_call()
    a, = af.officers(call, 1)
    db.session.commit()
    login_as(a)
    client.post(f"/awards/calls/{call.id}/propose")
    login_as("admin")
    assert client.post(f"/awards/calls/{call.id}/propose").status_code == 403
    assert client.get("/awards").status_code == 200
    r = client.post(f"/awards/calls/{call.id}/approve", follow_redirects=True)
    assert "审批通过" in r.text
    assert client.post(f"/awards/calls/{call.id}/publish").status_code == 403


def test_officer_of_a_sibling_unit_is_refused(client, db, login_as):
    call, apps, experts = af.reviewed_call()
    db.session.commit()
    login_as("officer")
    assert client.get(f"/awards/calls/{call.id}").status_code == 403
    assert client.post(f"/awards/calls/{call.id}/propose").status_code == 403
    assert client.get(f"/awards/calls/{call.id}/summary.pdf").status_code == 403


def test_upholding_cancels_and_promotes_on_the_pages(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    call, apps, experts = af.reviewed_call()
    a, b = _officers(call)
    db.session.commit()
    login_as(a)
    client.post(f"/awards/calls/{call.id}/propose")
    login_as(b)
    client.post(f"/awards/calls/{call.id}/approve")
    client.post(f"/awards/calls/{call.id}/publish")
    client.post("/logout")
    clock.set(dt.datetime(2026, 6, 2, 10, 0, tzinfo=SHANGHAI))
    client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": apps[0].id, "objector_name": "王五", "contact": "wang@example.org",
        "content": "该组织负责人与评审专家存在利害关系。"})
    obj = _db.session.scalars(_db.select(Objection)).one()
    login_as(b)
    r = client.get(f"/awards/calls/{call.id}/notice")
    assert "可递补：第 2 名" in r.text  # 助残康复 150,000 fits once the 200,000 of #1 is freed
    r = client.post(f"/awards/objections/{obj.id}/handle", follow_redirects=True,
                    data={"decision": "uphold", "reason": "经核查，评审时未申报回避，异议成立。", "promote": "y"})
    assert "已递补“示范项目2”" in r.text
    _db.session.expire_all()
    assert apps[0].status == "cancelled" and apps[1].status == "awarded"
    r = client.get(f"/public/notices/{call.id}")
    assert "示范项目2" in r.text and "因异议成立取消资助" in r.text and "王五" not in r.text
    # a second handling of the same objection is refused
    r = client.post(f"/awards/objections/{obj.id}/handle", follow_redirects=True,
                    data={"decision": "reject", "reason": "再处理一次"})
    assert "该异议已处理" in r.text
