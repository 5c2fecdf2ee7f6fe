"""Officer pages scoped to the unit subtree; the form; documents; public pages without log-in."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from grants.calls.models import Call, CallDocument, CallStatus
from grants.core.timeutil import SHANGHAI
from grants.extensions import db as _db
from tests import factories
from tests.calls import factories as cf


@pytest.fixture()
def tree(db):
    """city → two districts; an officer in each district and one in the city."""
    city = factories.host_unit(level="city")
    d1 = factories.host_unit(level="district", parent=city)
    d2 = factories.host_unit(level="district", parent=city)
    users = {
        "city": factories.user(roles=("officer",), unit=city),
        "d1": factories.user(roles=("officer",), unit=d1),
        "d2": factories.user(roles=("officer",), unit=d2),
        "auditor_d1": factories.user(roles=("auditor",), unit=d1),
    }
    calls = {
        "city": cf.call(unit=city, title="市级活动"),
        "d1": cf.call(unit=d1, title="一区活动"),
        "d2": cf.call(unit=d2, title="二区活动"),
    }
    db.session.commit()
    return {"units": {"city": city, "d1": d1, "d2": d2}, "users": users, "calls": calls}


def test_district_officer_sees_only_their_subtree(client, login_as, tree):
    login_as(tree["users"]["d1"])
    page = client.get("/calls").get_data(as_text=True)
    assert "一区活动" in page and "市级活动" not in page and "二区活动" not in page
    for key in ("city", "d2"):
        cid = tree["calls"][key].id
        assert client.get(f"/calls/{cid}").status_code == 403
        assert client.get(f"/calls/{cid}/edit").status_code == 403
        assert client.post(f"/calls/{cid}/edit", data={"title": "改"}).status_code == 403
        assert client.post(f"/calls/{cid}/publish").status_code == 403
    assert client.get(f"/calls/{tree['calls']['d1'].id}/edit").status_code == 200


def test_city_officer_sees_the_districts(client, login_as, tree):
    login_as(tree["users"]["city"])
    page = client.get("/calls").get_data(as_text=True)
    assert all(t in page for t in ("市级活动", "一区活动", "二区活动"))
    assert client.get(f"/calls/{tree['calls']['d1'].id}").status_code == 200


def test_auditor_reads_but_cannot_edit(client, login_as, tree):
    login_as(tree["users"]["auditor_d1"])
    assert client.get(f"/calls/{tree['calls']['d1'].id}").status_code == 200
    assert client.get(f"/calls/{tree['calls']['city'].id}").status_code == 403
    assert client.get(f"/calls/{tree['calls']['d1'].id}/edit").status_code == 403
    assert client.get("/calls/new").status_code == 403


def test_officer_cannot_create_for_a_sibling_unit(client, login_as, tree):
    login_as(tree["users"]["d1"])
    resp = client.post("/calls/new", data={"title": "越权", "year": "2026", "host_unit_id": tree["units"]["d2"].id,
                                           "operator_organization_id": "0", "min_rating": "0",
                                           "aggregation": "mean"})
    assert resp.status_code in (200, 403)
    assert _db.session.scalar(sa.select(Call).where(Call.title == "越权")) is None


def _form_data(unit_id, **extra):
    data = {
        "title": "2026年崇川区公益创投", "year": "2026", "host_unit_id": str(unit_id), "operator_organization_id": "0",
        "description": "征集公告正文", "min_rating": "0", "aggregation": "mean", "require_verified": "y",
        "exclude_blacklisted": "y", "notice_working_days": "5", "max_applications_per_org": "1",
        "reviewers_per_application": "5", "pitch_weight_pct": "40",
        "min_grant": "20000", "max_grant": "100,000.00",
        "funding_sources-0-kind": "welfare_lottery", "funding_sources-0-name": "福彩", "funding_sources-0-amount": "600000",
        "funding_sources-3-kind": "fiscal_matching", "funding_sources-3-amount": "400000",
        "funding_sources-4-kind": "social", "funding_sources-4-amount": "",  # a blank row is dropped
        "categories-0-name": "为老服务", "categories-0-quota": "500000", "categories-1-name": "助残服务",
        "attachment_requirements-0-name": "登记证书", "attachment_requirements-0-required": "y",
        "attachment_requirements-0-allowed_types": "pdf, jpg",
        "open_at": "2026-04-01T09:00", "close_at": "2026-04-30T17:00",
        "review_start_at": "2026-05-06T09:00", "review_end_at": "2026-05-20T17:00",
        "project_start_on": "2026-07-01", "project_end_on": "2027-06-30",
    }
    for i, (n, p) in enumerate([("需求分析", 20), ("项目设计", 30), ("可行性", 20), ("预算合理性", 15), ("创新性", 15)]):
        data[f"written_criteria-{i}-name"] = n
        data[f"written_criteria-{i}-max_points"] = str(p)
    for i, (n, p, t) in enumerate([("首期", 40, "signing"), ("中期", 30, "midterm_assessment"),
                                   ("尾款", 30, "final_assessment")]):
        data.update({f"tranches-{i}-name": n, f"tranches-{i}-percent": str(p), f"tranches-{i}-trigger": t})
    for i, (m, g, p) in enumerate([(85, "excellent", 100), (70, "good", 100), (60, "pass", 80), (0, "fail", 0)]):
        data.update({f"score_bands-{i}-min_score": str(m), f"score_bands-{i}-grade": g,
                     f"score_bands-{i}-payment_pct": str(p)})
    data["score_bands-3-rectification"] = "y"
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_create_through_the_form(client, login_as, tree, clock):
    clock.set(dt.datetime(2026, 3, 1, tzinfo=SHANGHAI))
    officer = login_as(tree["users"]["d1"])
    assert "需求分析" in client.get("/calls/new").get_data(as_text=True)  # defaults shown
    resp = client.post("/calls/new", data=_form_data(officer.host_unit_id))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    call = _db.session.scalar(sa.select(Call).where(Call.title == "2026年崇川区公益创投"))
    assert call.host_unit_id == officer.host_unit_id and call.level == "district"
    assert call.max_grant_fen == 10_000_000 and call.min_grant_fen == 2_000_000
    assert [(s.kind, s.amount_fen) for s in call.funding_sources] == [("welfare_lottery", 60_000_000),
                                                                      ("fiscal_matching", 40_000_000)]
    assert [(c.name, c.quota_fen) for c in call.categories] == [("为老服务", 50_000_000), ("助残服务", None)]
    assert call.attachment_requirements[0].allowed_types == ["pdf", "jpg"]
    # Beijing time entered, UTC stored
    assert call.close_at == dt.datetime(2026, 4, 30, 9, 0, tzinfo=dt.timezone.utc)
    assert call.score_bands[-1].rectification is True
    detail = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "信息完整，可以发布" in detail and "2026-04-30 17:00" in detail
    assert client.post(f"/calls/{call.id}/publish").status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Call, call.id).status == CallStatus.PUBLISHED


@pytest.mark.parametrize("extra,field_error", [
    ({"max_grant": "十万"}, "金额格式不正确"),
    ({"tranches-0-percent": "abc"}, "请填写整数"),
    ({"tranches-0-percent": "120"}, "比例应在 1 到 100 之间"),
    ({"categories-1-name": "为老服务"}, "与上面的行重复"),
    ({"written_criteria-0-max_points": ""}, "请填写分值"),
    ({"attachment_requirements-0-allowed_types": "exe"}, "可选类型"),
    ({"close_at": "明天"}, "时间格式不正确"),
    ({"title": ""}, "请填写活动名称"),
])
def test_bad_input_is_shown_next_to_the_field_and_kept(client, login_as, tree, extra, field_error):
    officer = login_as(tree["users"]["d1"])
    resp = client.post("/calls/new", data=_form_data(officer.host_unit_id, **extra))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and field_error in page
    assert "征集公告正文" in page and "福彩" in page  # nothing typed is lost
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 3


def test_publish_check_panel_lists_problems_and_publish_refuses(client, login_as, tree):
    officer = login_as(tree["users"]["d1"])
    call = tree["calls"]["d1"]
    call.funding_sources.clear()
    call.tranches[0].percent = 10
    _db.session.commit()
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "发布检查" in page and "请至少填写一项资金来源" in page and "各拨付节点比例之和为 70%" in page
    client.post(f"/calls/{call.id}/publish")
    _db.session.expire_all()
    assert _db.session.get(Call, call.id).status == CallStatus.DRAFT


def test_edit_a_published_call_extends_the_deadline_only(client, login_as, tree):
    officer = login_as(tree["users"]["d1"])
    call = tree["calls"]["d1"]
    call.status = CallStatus.PUBLISHED
    _db.session.commit()
    later = (call.close_at + dt.timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    earlier = (call.close_at - dt.timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    assert "只能延后" in page
    resp = client.post(f"/calls/{call.id}/edit", data={"close_at": earlier, "description": "x"})
    assert resp.status_code == 200 and "只能延长" in resp.get_data(as_text=True)
    resp = client.post(f"/calls/{call.id}/edit", data={"close_at": later, "description": "延期",
                                                      "project_start_on": str(call.project_start_on),
                                                      "project_end_on": str(call.project_end_on),
                                                      "review_start_at": call.review_start_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
                                                      "review_end_at": call.review_end_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")})
    assert resp.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Call, call.id).description == "延期"


def test_copy_button_creates_a_draft(client, login_as, tree):
    login_as(tree["users"]["city"])
    prev = tree["calls"]["city"]
    prev.status = CallStatus.ARCHIVED
    _db.session.commit()
    assert "从上一届复制" in client.get("/calls").get_data(as_text=True)
    resp = client.post(f"/calls/{prev.id}/copy")
    assert resp.status_code == 302
    new = _db.session.scalar(sa.select(Call).where(Call.previous_call_id == prev.id))
    assert new.status == CallStatus.DRAFT and new.year == prev.year + 1


def test_district_officer_cannot_copy_the_city_call(client, login_as, tree):
    login_as(tree["users"]["d1"])
    prev = tree["calls"]["city"]
    prev.status = CallStatus.ARCHIVED
    _db.session.commit()
    assert client.post(f"/calls/{prev.id}/copy").status_code == 403


# --- documents -------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _upload(client, call_id, name="征集公告.pdf", data=PDF):
    return client.post(f"/calls/{call_id}/documents", data={"title": "征集公告", "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_documents_upload_and_public_download(client, login_as, tree):
    login_as(tree["users"]["d1"])
    call = tree["calls"]["d1"]
    assert _upload(client, call.id).status_code == 302
    resp = _upload(client, call.id, name="x.exe", data=b"MZ\x90\x00")
    doc = _db.session.scalar(sa.select(CallDocument).where(CallDocument.call_id == call.id))
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(CallDocument)) == 1
    client.post("/logout")
    url = f"/public/calls/{call.id}/documents/{doc.id}"
    with client.get(url) as r:
        assert r.status_code == 404  # draft: not public
    _db.session.get(Call, call.id).status = CallStatus.PUBLISHED
    _db.session.commit()
    with client.get(url) as r:
        assert r.status_code == 200 and r.data == PDF
    other = tree["calls"]["d2"]
    other.status = CallStatus.PUBLISHED
    _db.session.commit()
    with client.get(f"/public/calls/{other.id}/documents/{doc.id}") as r:
        assert r.status_code == 404  # the document belongs to another call


def test_wrong_type_refused_with_message(client, login_as, tree):
    login_as(tree["users"]["d1"])
    call = tree["calls"]["d1"]
    resp = _upload(client, call.id, name="x.exe", data=b"MZ\x90\x00")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "不支持的文件类型" in page


def test_sibling_officer_cannot_upload_or_delete(client, login_as, tree):
    login_as(tree["users"]["d1"])
    doc_call = tree["calls"]["d1"]
    _upload(client, doc_call.id)
    doc = _db.session.scalar(sa.select(CallDocument))
    login_as(tree["users"]["d2"])
    assert _upload(client, doc_call.id).status_code == 403
    assert client.post(f"/calls/{doc_call.id}/documents/{doc.id}/delete").status_code == 403
    with client.get(f"/calls/{doc_call.id}/documents/{doc.id}") as r:
        assert r.status_code == 403


# --- public pages -------------------------------------------------------------------------

def test_public_pages_show_published_calls_only(client, tree, clock):
    calls = tree["calls"]
    calls["city"].status = CallStatus.PUBLISHED
    calls["d2"].status = CallStatus.ARCHIVED
    calls["d2"].title = "往届活动"
    _db.session.commit()
    listing = client.get("/public/calls").get_data(as_text=True)
    assert "市级活动" in listing and "往届活动" in listing and "一区活动" not in listing
    assert "还剩 20 天" in listing
    assert client.get(f"/public/calls/{calls['d1'].id}").status_code == 404
    assert client.get("/public/calls/999999").status_code == 404
    detail = client.get(f"/public/calls/{calls['city'].id}").get_data(as_text=True)
    for text in ("申报截止", "为老服务", "需求分析", "首期 40%", "福彩公益金", "85 分及以上 优秀", "登记证书或备案证明"):
        assert text in detail, text
    home = client.get("/").get_data(as_text=True)
    assert "市级活动" in home and "/public/calls" in home


def test_public_countdown_follows_the_clock(client, tree, clock):
    call = tree["calls"]["city"]
    call.status = CallStatus.PUBLISHED
    _db.session.commit()
    clock.set(call.close_at - dt.timedelta(days=2, hours=1))
    assert "还剩 3 天" in client.get(f"/public/calls/{call.id}").get_data(as_text=True)
    clock.set(call.close_at)
    page = client.get(f"/public/calls/{call.id}").get_data(as_text=True)
    assert "申报已于" in page and "还剩" not in page


def test_public_list_query_count_is_fixed(client, tree, app):
    """The public list loads calls with their funding and categories in a fixed number of queries."""
    from sqlalchemy import event

    for c in tree["calls"].values():
        c.status = CallStatus.PUBLISHED
    _db.session.commit()

    def count():
        n = [0]

        def before(*args, **kwargs):
            n[0] += 1
        _db.session.expunge_all()
        event.listen(_db.engine, "before_cursor_execute", before)
        try:
            client.get("/public/calls").close()
        finally:
            event.remove(_db.engine, "before_cursor_execute", before)
        return n[0]

    city_id = tree["units"]["city"].id
    few = count()
    city = _db.session.get(type(tree["units"]["city"]), city_id)
    for i in range(15):
        cf.call(unit=city, title=f"更多活动{i}", status=CallStatus.PUBLISHED)
    _db.session.commit()
    assert count() == few


def test_edit_a_draft_through_the_form_keeps_and_replaces_rows(client, login_as, tree, clock):
    clock.set(dt.datetime(2026, 3, 1, tzinfo=SHANGHAI))
    officer = login_as(tree["users"]["d1"])
    client.post("/calls/new", data=_form_data(officer.host_unit_id))
    call = _db.session.scalar(sa.select(Call).where(Call.title == "2026年崇川区公益创投"))
    page = client.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="为老服务"' in page and 'value="600000"' in page and 'value="2026-04-30T17:00"' in page
    data = _form_data(officer.host_unit_id, **{"categories-1-name": None, "categories-7-name": "青少年服务",
                                               "title": "改过的名称"})
    data.pop("host_unit_id")
    resp = client.post(f"/calls/{call.id}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    _db.session.expire_all()
    call = _db.session.get(Call, call.id)
    assert call.title == "改过的名称"
    assert [c.name for c in call.categories] == ["为老服务", "青少年服务"]


def test_officer_list_query_count_is_fixed(client, login_as, tree):
    from sqlalchemy import event

    login_as(tree["users"]["city"])

    def count():
        n = [0]

        def before(*args, **kwargs):
            n[0] += 1
        _db.session.expunge_all()  # the test and the requests share one session: start cold
        event.listen(_db.engine, "before_cursor_execute", before)
        try:
            client.get("/calls").close()
        finally:
            event.remove(_db.engine, "before_cursor_execute", before)
        return n[0]

    unit_model = type(tree["units"]["city"])
    ids = [tree["units"][k].id for k in ("d2", "city")]
    few = count()
    d2, city = (_db.session.get(unit_model, i) for i in ids)
    for i in range(20):
        cf.call(unit=d2, title=f"区级活动{i}", status=CallStatus.ARCHIVED)
    for i in range(20):
        cf.call(unit=city, title=f"市级草稿{i}")
    _db.session.commit()
    assert count() == few


@pytest.mark.parametrize("status,code", [(s, 404 if s == CallStatus.DRAFT else 200) for s in CallStatus])
def test_public_detail_by_status(client, db, status, code):
    call = cf.call(status=status, title="状态测试活动")
    db.session.commit()
    resp = client.get(f"/public/calls/{call.id}")
    assert resp.status_code == code
    listing = client.get("/public/calls").get_data(as_text=True)
    assert ("状态测试活动" in listing) == (code == 200)
