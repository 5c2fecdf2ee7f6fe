"""An organisation logs in, fills and saves a draft, uploads an attachment and submits; an officer
then screens the application (marks it eligible). Screenshots at each step, one at phone width."""
import datetime as dt

import pytest

from grants.applications.models import Application
from grants.core.timeutil import UTC
from tests import factories
from tests.applications import factories as af
from tests.browser.conftest import login


@pytest.fixture()
def scene(app, db, clock, tmp_path):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    unit = factories.host_unit(name="南通市民政局（测试）")
    call = af.call(unit=unit, title="2026年南通市公益创投大赛")
    org = factories.organization(name="南通市崇川区阳光为老服务中心")
    applicant = factories.member(org, username="sunshine")
    officer = factories.user(roles=("officer",), unit=unit, username="wang_officer")
    db.session.commit()
    pdf = tmp_path / "登记证书.pdf"
    pdf.write_bytes(af.PDF)
    return call, applicant, officer, pdf


def fill_application(page, call):
    page.fill("#f-project_name", "银龄互助·幸福邻里")
    page.select_option("#f-category_id", str(call.categories[0].id))
    page.fill("#f-requested", "50000")
    page.fill("#f-summary", "为社区独居老人提供每周探访、助餐和精神慰藉服务。")
    page.fill("#f-need_analysis", "社区 60 岁以上老人 1200 人，其中独居 180 人，缺少日常照应。")
    page.fill("#f-objectives", "一年内建立邻里互助网络，覆盖 150 名独居老人。")
    page.fill("#f-target_groups", "独居、空巢老人")
    page.fill("#f-activity_description", "组建志愿者队伍，开展每周探访、月度生日会和健康讲座。")
    page.fill("input[name=area-0-street]", "和平桥街道")
    page.fill("input[name=area-0-community]", "桃坞路社区")
    page.fill("input[name=activity-0-title]", "志愿者招募与培训")
    page.fill("input[name=activity-0-start_on]", "2027-01-10")
    page.fill("input[name=activity-0-end_on]", "2027-02-28")
    page.fill("textarea[name=activity-0-description]", "招募 30 名志愿者并完成培训")
    page.fill("#t-service_sessions", "3000")
    page.fill("#t-beneficiaries", "150")
    page.fill("input[name=member-0-name]", "吴佳")
    page.fill("input[name=member-0-role]", "项目负责人")
    page.check("input[name=member-0-is_social_worker]")
    page.select_option("select[name=member-0-certificate_level]", "social_worker")
    page.fill("input[name=member-0-certificate_no]", "SW2020001")
    page.select_option("select[name=budget-0-kind]", "personnel")
    page.fill("input[name=budget-0-item]", "项目社工补贴")
    page.fill("input[name=budget-0-unit_price]", "1000")
    page.fill("input[name=budget-0-quantity]", "10")
    page.click("button.row-add[data-section=budget]")
    page.select_option("select[name=budget-1-kind]", "activity")
    page.fill("input[name=budget-1-item]", "探访与主题活动")
    page.fill("input[name=budget-1-unit_price]", "400")
    page.fill("input[name=budget-1-quantity]", "100")
    page.click("button.row-add[data-section=budget]")
    page.select_option("select[name=budget-2-kind]", "materials")
    page.fill("input[name=budget-2-item]", "慰问物资")
    page.fill("input[name=budget-2-unit_price]", "125")
    page.fill("input[name=budget-2-quantity]", "100")
    page.select_option("select[name=budget-2-funded_by]", "own")


def test_apply_submit_and_screen(page, live_server, scene, screenshot, db):
    call, applicant, officer, pdf = scene
    login(page, live_server, applicant.username, factories.PASSWORD)
    page.goto(f"{live_server}/calls/{call.id}/apply")
    page.click("#start-application")
    page.wait_for_selector("#application-form")
    fill_application(page, call)
    # Live totals are computed in the page, in fen.
    assert page.inner_text("#t-grant") == "¥50,000.00"
    assert page.inner_text("#t-own") == "¥12,500.00"
    assert page.inner_text("#t-total") == "¥62,500.00"
    assert page.inner_text("#t-warning") == ""
    screenshot(page, "applications-1-form-filled")

    # Save the draft with an attachment, without the declaration: submit lists what is missing.
    requirement = call.attachment_requirements[0]
    page.set_input_files(f"#attachment-{requirement.id}", str(pdf))
    page.click("#save-draft")
    page.wait_for_load_state("networkidle")
    assert "草稿已保存" in page.inner_text("main")
    assert page.locator(".attachment-item").count() == 1
    screenshot(page, "applications-2-draft-saved")
    page.click("#submit-application")
    page.wait_for_load_state("networkidle")
    assert "请阅读并勾选申报承诺" in page.inner_text("#problem-summary")
    screenshot(page, "applications-3-submit-refused")

    page.check("#f-declaration")
    page.click("#submit-application")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#app-status") == "已提交"
    screenshot(page, "applications-4-submitted")

    # Phone width: the organisation's own list.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/applications/mine")
    assert "已提交" in page.inner_text("#my-applications")
    screenshot(page, "applications-5-mine-phone")
    a = db.session.scalar(db.select(Application))
    page.goto(f"{live_server}/applications/{a.id}")
    screenshot(page, "applications-5b-detail-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The officer screens it.
    page.context.clear_cookies()
    login(page, live_server, officer.username, factories.PASSWORD)
    page.goto(f"{live_server}/calls/{call.id}/applications")
    assert "南通市崇川区阳光为老服务中心" in page.inner_text("#application-list")
    screenshot(page, "applications-6-officer-list")
    page.click("#application-list a")
    page.fill("#reason", "材料齐全，符合申报条件")
    page.click("#screen-mark_eligible")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#app-status") == "形式审查通过"
    screenshot(page, "applications-7-screened")
    db.session.expire_all()
    assert db.session.get(Application, a.id).status == "eligible"


def test_form_at_phone_width(page, live_server, scene, screenshot, db):
    call, applicant, _officer, _pdf = scene
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, applicant.username, factories.PASSWORD)
    page.goto(f"{live_server}/calls/{call.id}/apply")
    page.click("#start-application")
    page.wait_for_selector("#application-form")
    fill_application(page, call)
    screenshot(page, "applications-8-form-phone")
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
