"""对所选项 in the browser: the officer ticks 全选 on the screening list, chooses 审查合格, confirms, and the result
page lists each application done (and a refused one with its reason)."""
import datetime as dt

import pytest

from grants.applications.models import Application, ApplicationStatus
from grants.extensions import db as _db
from tests import factories
from tests.applications import factories as af
from tests.browser.conftest import login


@pytest.fixture()
def scene(app, db, clock):
    clock.set(af.CLOSE_AT + dt.timedelta(days=1))
    unit = factories.host_unit(name="批量审查测试民政局")
    call = af.call(unit=unit, title="2026年批量审查测试创投")
    apps = [af.application(call, factories.organization(name=f"批量审查服务中心{i}"), status=ApplicationStatus.SUBMITTED)
            for i in range(3)]
    officer = factories.user(roles=("officer",), unit=unit, username="batch_officer")
    db.session.commit()
    return call, apps, officer


def test_screen_all_ticked_at_once(page, live_server, scene, screenshot):
    call, apps, officer = scene
    login(page, live_server, officer.username, factories.PASSWORD)
    page.goto(f"{live_server}/calls/{call.id}/applications")
    page.check("#application-list thead input[data-check-all]")
    assert page.locator("input[name=ids]:checked").count() == 3
    page.select_option("#action", "mark_ineligible")
    page.fill(f"input[name=reason-{apps[0].id}]", "不符合申报条件")
    screenshot(page, "batch-1-screening-list", full_page=False)
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.click("#batch-submit")
    page.wait_for_selector("#batch-summary")
    assert "逐项执行" in messages[0]
    assert "已完成 1 项" in page.inner_text("#batch-summary")
    assert page.locator("#batch-refused li").count() == 2 and "请填写原因" in page.inner_text("#batch-refused")
    screenshot(page, "batch-2-result", full_page=False)
    _db.session.expire_all()
    assert [_db.session.get(Application, a.id).status for a in apps] == ["ineligible", "submitted", "submitted"]
