"""An organisation applies through the API only: start, edit with budget lines, outputs and attachments,
see every problem in Chinese, submit before the deadline, and nothing after it."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from grants.applications.models import Application
from grants.core.timeutil import UTC
from tests import factories
from tests.applications import factories as app_factories

OPEN = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

DRAFT = {
    "project_name": "银龄互助·幸福邻里",
    "summary": "为社区独居老人提供探访、助餐和精神慰藉服务。",
    "need_analysis": "社区 60 岁以上老人 1200 人，其中独居 180 人。",
    "objectives": "一年内建立邻里互助网络，覆盖 150 名独居老人。",
    "target_groups": "独居、空巢老人",
    "activity_description": "组建志愿者队伍，开展每周探访、月度集体生日会和健康讲座。",
    "requested_fen": 5_000_000,
    "declaration": True,
    "service_areas": [{"street": "和平桥街道", "community": "桃坞路社区"}],
    "activities": [{"title": "志愿者招募培训", "start_on": "2027-01-10", "end_on": "2027-02-28", "description": "招募 30 名志愿者"}],
    "output_targets": [{"kind": "service_sessions", "target": 3000}, {"kind": "beneficiaries", "target": 150}],
    "team_members": [{"name": "吴佳", "role": "项目负责人", "is_social_worker": True, "certificate_no": "SW2020001",
                      "certificate_level": "social_worker"}],
    "budget_lines": [
        {"kind": "personnel", "item": "项目社工补贴", "unit_price_fen": 1_000_000, "quantity": 1, "funded_by": "grant"},
        {"kind": "management", "item": "项目管理费", "unit_price_fen": 250_000, "quantity": 1, "funded_by": "grant"},
        {"kind": "activity", "item": "探访与活动", "unit_price_fen": 3_750_000, "quantity": 1, "funded_by": "grant"},
        {"kind": "materials", "item": "慰问物资", "unit_price_fen": 125_000, "quantity": 10, "funded_by": "own"},
    ],
}


@pytest.fixture()
def setting(db, clock, make_token):
    clock.set(OPEN)
    call = app_factories.call()
    member = factories.user_with_role("applicant")
    db.session.commit()
    return {"call": call, "member": member, "token": make_token(member, scopes=["applications:write"], days=90)}


def _start(api, setting):
    resp = api(setting["token"]).post("/api/v1/applications", json={"call_id": setting["call"].id})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_apply_edit_attach_and_submit(db, api, setting):
    caller = api(setting["token"])
    listed = api(None).get("/api/v1/calls?open=true").get_json()["items"]
    assert [c["id"] for c in listed] == [setting["call"].id] and listed[0]["close_at"] == "2026-12-31T18:00:00+08:00"
    detail = api(None).get(f"/api/v1/calls/{setting['call'].id}").get_json()
    category = detail["categories"][0]["id"]
    required = [r for r in detail["attachment_requirements"] if r["required"]][0]

    draft = _start(api, setting)
    assert draft["status"] == "draft" and draft["number"] is None
    resp = caller.patch(f"/api/v1/applications/{draft['id']}", json={**DRAFT, "category_id": category})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["requested"] == {"fen": 5_000_000, "formatted": "¥50,000.00"}
    assert body["total_budget"]["fen"] == 5_000_000 + 1_250_000 and body["own_funding"]["fen"] == 1_250_000
    assert [line["amount"]["fen"] for line in body["budget_lines"]] == [1_000_000, 250_000, 3_750_000, 1_250_000]

    problems = caller.get(f"/api/v1/applications/{draft['id']}/problems").get_json()["problems"]
    assert [p["message"] for p in problems] == ["请上传“登记证书”"]
    resp = caller.post(f"/api/v1/applications/{draft['id']}/attachments",
                       data={"file": (io.BytesIO(app_factories.PDF), "登记证书.pdf"), "requirement_id": str(required["id"])},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["file_name"] == "登记证书.pdf"

    resp = caller.post(f"/api/v1/applications/{draft['id']}/submit")
    assert resp.status_code == 200, resp.get_json()
    submitted = resp.get_json()
    assert submitted["status"] == "submitted" and submitted["number"].startswith("2026-")
    assert submitted["submitted_at"] == "2026-12-01T10:00:00+08:00"
    # submitted: no more edits
    resp = caller.patch(f"/api/v1/applications/{draft['id']}", json={"project_name": "改名"})
    assert resp.status_code == 403


def test_submit_lists_every_problem_in_chinese(db, api, setting):
    draft = _start(api, setting)
    resp = api(setting["token"]).post(f"/api/v1/applications/{draft['id']}/submit")
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "validation_failed"
    fields = {e["field"] for e in body["errors"]}
    assert {"project_name", "activities", "output_targets", "declaration"} <= fields
    assert "请填写项目名称" in [e["message"] for e in body["errors"]]
    assert db.session.get(Application, draft["id"]).status == "draft"


def test_deadline_is_checked_on_the_server(db, api, setting, clock):
    draft = _start(api, setting)
    api(setting["token"]).patch(f"/api/v1/applications/{draft['id']}", json={"project_name": "截止前"})
    clock.set(app_factories.CLOSE_AT)  # at close_at itself it is already too late
    resp = api(setting["token"]).patch(f"/api/v1/applications/{draft['id']}", json={"project_name": "截止后"})
    body = resp.get_json()
    assert resp.status_code == 422 and body["code"] == "deadline_passed" and body["field"] == "deadline"
    assert "2026-12-31 18:00:00" in body["message"]
    resp = api(setting["token"]).post(f"/api/v1/applications/{draft['id']}/submit")
    assert resp.get_json()["code"] == "deadline_passed"
    db.session.expire_all()
    assert db.session.get(Application, draft["id"]).project_name == "截止前"


def test_if_match_refuses_a_stale_edit(db, api, setting):
    draft = _start(api, setting)
    caller = api(setting["token"])
    first = caller.get(f"/api/v1/applications/{draft['id']}")
    etag = first.headers["ETag"]
    assert caller.patch(f"/api/v1/applications/{draft['id']}", json={"summary": "甲"},
                        headers={"If-Match": etag}).status_code == 200
    stale = caller.patch(f"/api/v1/applications/{draft['id']}", json={"summary": "乙"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["code"] == "precondition_failed"


@pytest.mark.parametrize("patch", [
    {"project_name": "名\x00称"},
    {"requested_fen": 10 ** 30},
    {"requested_fen": "²"},
    {"budget_lines": [{"kind": "activity", "item": "x", "unit_price_fen": -1, "quantity": 1}]},
    {"activities": [{"title": "x", "start_on": "0001-01-01", "end_on": "99999-01-01"}]},
    {"output_targets": [{"kind": "nonsense", "target": 1}]},
    {"category_id": 2 ** 40},
    {"service_areas": "not a list"},
])
def test_hostile_input_is_a_clear_422(db, api, setting, patch):
    draft = _start(api, setting)
    resp = api(setting["token"]).patch(f"/api/v1/applications/{draft['id']}", json=patch)
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] and body["message"] and "field" in body


def test_bad_json_and_bad_cursor(db, api, setting):
    draft = _start(api, setting)
    resp = api(setting["token"]).patch(f"/api/v1/applications/{draft['id']}", data="{not json",
                                       content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["code"] == "bad_request"
    resp = api(setting["token"]).get("/api/v1/applications?cursor=%00%FF")
    assert resp.status_code == 422 and resp.get_json()["field"] == "cursor"


def test_others_see_nothing_and_staff_in_scope_see_submitted(db, api, setting, make_token):
    draft = _start(api, setting)
    stranger = factories.user_with_role("applicant")
    officer = factories.user(roles=("officer",), unit=setting["call"].host_unit)
    sibling = factories.user(roles=("officer",))
    db.session.commit()
    assert api(make_token(stranger)).get(f"/api/v1/applications/{draft['id']}").status_code == 404
    # a draft stays private, even to the call's officers
    assert api(make_token(officer)).get(f"/api/v1/applications/{draft['id']}").status_code == 404
    app_factories.application(setting["call"], status="submitted")
    db.session.commit()
    listed = api(make_token(officer)).get(f"/api/v1/applications?call_id={setting['call'].id}").get_json()["items"]
    assert len(listed) == 1 and listed[0]["status"] == "submitted"
    assert api(make_token(sibling)).get(f"/api/v1/applications?call_id={setting['call'].id}").status_code == 404
    mine = api(setting["token"]).get("/api/v1/applications").get_json()["items"]
    assert [a["id"] for a in mine] == [draft["id"]]


def test_cursor_pages_are_complete_and_stable(db, api, setting, make_token):
    officer = factories.user(roles=("officer",), unit=setting["call"].host_unit)
    ids = {app_factories.application(setting["call"], status="submitted", complete=False).id for _ in range(5)}
    db.session.commit()
    caller, seen, cursor = api(make_token(officer)), [], None
    for _ in range(5):
        page = caller.get(f"/api/v1/applications?call_id={setting['call'].id}&limit=2"
                          + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)


def test_withdraw(db, api, setting):
    draft = _start(api, setting)
    resp = api(setting["token"]).post(f"/api/v1/applications/{draft['id']}/withdraw")
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"
    assert api(setting["token"]).post(f"/api/v1/applications/{draft['id']}/withdraw").status_code == 403
