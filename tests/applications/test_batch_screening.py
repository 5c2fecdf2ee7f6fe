"""对所选项形式审查: several applications at once, each through screen_application in its own transaction; a
reason per item for 不合格 / 退回; refusals listed with their reasons and never blocking the others."""
import datetime as dt

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, ApplicationStatus
from grants.core.models import AuditLog
from tests import factories
from tests.applications import factories as af


@pytest.fixture()
def world(app, db, client, login_as, clock, ctx):
    clock.set(af.CLOSE_AT + dt.timedelta(days=1))
    unit = factories.host_unit()
    call = af.call(unit=unit)
    apps = [af.application(call, factories.organization(name=f"批量审查组织{i}"), status=ApplicationStatus.SUBMITTED)
            for i in range(3)]
    officer = factories.user(roles=("officer",), unit=unit)
    db.session.commit()
    return call, officer, apps


def _status(db, a):
    db.session.expire_all()
    return db.session.get(Application, a.id).status


def test_batch_pass_several_and_list_the_refused(client, db, login_as, world):
    call, officer, (a, b, c) = world
    login_as(officer)
    client.post(f"/applications/{c.id}/screen", data={"action": "mark_eligible"})  # already screened
    r = client.post(f"/calls/{call.id}/applications/batch-screen",
                    data={"action": "mark_eligible", "ids": [a.id, b.id, c.id]})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "已完成 2 项" in page and "未处理 1 项" in page
    assert [_status(db, x) for x in (a, b, c)] == ["eligible"] * 3
    n = db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "application.mark_eligible"))
    assert n == 3


def test_ineligible_and_return_need_a_reason_per_item(client, db, login_as, world):
    call, officer, (a, b, c) = world
    login_as(officer)
    r = client.post(f"/calls/{call.id}/applications/batch-screen",
                    data={"action": "mark_ineligible", "ids": [a.id, b.id], f"reason-{a.id}": "不符合申报条件"})
    page = r.get_data(as_text=True)
    assert "已完成 1 项" in page and "请填写原因" in page
    assert _status(db, a) == "ineligible" and _status(db, b) == "submitted"
    assert db.session.get(Application, a.id).screening_reason == "不符合申报条件"
    r = client.post(f"/calls/{call.id}/applications/batch-screen",
                    data={"action": "return", "ids": [b.id, c.id], f"reason-{b.id}": "预算需细化",
                          f"reason-{c.id}": "补充证明", "new_deadline": "2027-01-10T17:30"})
    assert "已完成 2 项" in r.get_data(as_text=True)
    assert _status(db, b) == _status(db, c) == "returned"
    assert db.session.get(Application, c.id).screening_reason == "补充证明"


def test_batch_screen_scope_and_hostile_input(client, db, login_as, world):
    call, officer, (a, _b, _c) = world
    other_call = af.call(unit=factories.host_unit(name="别处民政局"))
    stranger = af.application(other_call, factories.organization(name="别处组织"), status=ApplicationStatus.SUBMITTED)
    db.session.commit()
    login_as(officer)
    r = client.post(f"/calls/{call.id}/applications/batch-screen",
                    data={"action": "mark_eligible", "ids": [stranger.id, "x", "-1", "1" * 30, a.id]})
    assert r.status_code == 200 and "已完成 1 项" in r.get_data(as_text=True)
    assert _status(db, stranger) == "submitted"
    assert client.post(f"/calls/{call.id}/applications/batch-screen",
                       data={"action": "drop", "ids": [a.id]}).status_code == 302
    assert client.post(f"/calls/{other_call.id}/applications/batch-screen",
                       data={"action": "mark_eligible", "ids": [stranger.id]}).status_code == 403
    assert client.get(f"/calls/{call.id}/applications/batch-screen").status_code == 405
    client.post("/logout")
    login_as(factories.user(roles=("auditor",), unit=call.host_unit))
    assert client.post(f"/calls/{call.id}/applications/batch-screen",
                       data={"action": "mark_eligible", "ids": [a.id]}).status_code == 403


def test_list_shows_checkboxes_for_officers_only(client, db, login_as, world):
    call, officer, (a, _b, _c) = world
    login_as(officer)
    page = client.get(f"/calls/{call.id}/applications").get_data(as_text=True)
    assert f'name="ids" value="{a.id}"' in page and "对所选项" in page and f'name="reason-{a.id}"' in page
    client.post("/logout")
    login_as(factories.user(roles=("auditor",), unit=call.host_unit))
    assert "对所选项" not in client.get(f"/calls/{call.id}/applications").get_data(as_text=True)
