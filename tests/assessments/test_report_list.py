"""The staff list of progress reports: overdue ones chased several at once (催交, one transaction each, at most
once a day per report, refusals listed), its Excel export (headers, filters, scope, injection)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.core.models import AuditLog
from grants.core.timeutil import today_local
from grants.extensions import db
from grants.reminders.models import Notification
from tests import factories
from tests.contracts import factories as cf


def _overdue(call, days=5):
    contract = cf.contract(cf.award(call), status="active")
    t = contract.tranches[1]
    t.status, t.due_on = "due", today_local() - dt.timedelta(days=days)
    factories.member(contract.organization)
    return t


@pytest.fixture()
def scene(app, db):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context():
        call = cf.call()
        late = [_overdue(call) for _ in range(2)]
        not_yet = _overdue(call, days=-3)  # due in three days
        officer = factories.user(roles=("officer",), unit=call.host_unit)
        db.session.commit()
    return dict(call=call, late=late, not_yet=not_yet, officer=officer)


def test_list_shows_overdue_first_with_checkboxes(client, login_as, scene):
    login_as(scene["officer"])
    page = client.get("/reports").get_data(as_text=True)
    a, b = scene["late"]
    assert a.contract.number in page and b.contract.number in page and "逾期 5 天" in page
    assert scene["not_yet"].contract.number not in page  # default filter: overdue
    assert f'name="ids" value="{a.id}"' in page
    assert scene["not_yet"].contract.number in client.get("/reports?state=due").get_data(as_text=True)


def test_chase_several_at_once_once_a_day(client, login_as, scene):
    a, b = scene["late"]
    login_as(scene["officer"])
    r = client.post("/reports/chase", data={"ids": [a.id, b.id, scene["not_yet"].id]})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "已完成 2 项" in page and "未处理 1 项" in page and "无需催交" in page
    told = db.session.scalars(sa.select(Notification).where(Notification.title.contains("请尽快提交进度报告"))).all()
    from grants.reminders.notices import organization_people

    people = {u.id for t in (a, b) for u in organization_people(t.contract.organization_id)}
    assert {n.user_id for n in told} == people and len(told) == len(people) >= 2
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "tranche.chase_report")) == 2
    r = client.post("/reports/chase", data={"ids": [a.id]})
    assert "今天已催交过" in r.get_data(as_text=True)


def test_chase_scope_roles_and_hostile_input(client, login_as, scene):
    a = scene["late"][0]
    elsewhere = _overdue(cf.call(factories.host_unit(name="别处民政局")))
    db.session.commit()
    login_as(scene["officer"])
    r = client.post("/reports/chase", data={"ids": [elsewhere.id, "<script>", "0", a.id]})
    assert "已完成 1 项" in r.get_data(as_text=True) and "无权" in r.get_data(as_text=True)
    assert client.get("/reports/chase").status_code == 405
    login_as(factories.user(roles=("auditor",), unit=scene["call"].host_unit))
    assert client.get("/reports").status_code == 200
    assert client.post("/reports/chase", data={"ids": [a.id]}).status_code == 403
    login_as(factories.member(a.contract.organization))
    assert client.get("/reports").status_code == 403 and client.get("/reports.xlsx").status_code == 403


def test_report_export(client, login_as, scene):
    a, b = scene["late"]
    a.contract.project_name = "=cmd|' /C calc'!A0"
    elsewhere = _overdue(cf.call(factories.host_unit(name="别处民政局")))
    db.session.commit()
    login_as(scene["officer"])
    r = client.get("/reports.xlsx?state=all")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][:6] == ["协议编号", "项目名称", "社会组织", "拨付节点", "计划金额（元）", "报告截止日"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    numbers = {row[0] for row in rows}
    assert {a.contract.number, b.contract.number, scene["not_yet"].contract.number} <= numbers
    assert elsewhere.contract.number not in numbers
    row = next(r for r in rows if r[0] == a.contract.number and r[6])
    assert row[1].startswith("'=") and row[6] == 5
    rows = list(load_workbook(io.BytesIO(client.get(f"/reports.xlsx?q={b.contract.number}").data)).active
                .iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [b.contract.number]
