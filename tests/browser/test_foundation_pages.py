"""The foundation's pages as people use them: registration on a phone, verification by an officer,
staff accounts by the admin, the audit log."""
import re

import pytest

from grants.demo import DEMO_PASSWORD, load_demo
from tests import factories
from tests.browser.conftest import login


@pytest.fixture()
def demo(db):
    load_demo()
    db.session.commit()


def test_organisation_registers_on_a_phone(page, live_server, db, screenshot):
    unit = factories.host_unit(name="崇川区民政局", level="city")  # the unit it registers with
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/register")
    page.fill("#name", "崇川区晨光助老服务社")
    page.select_option("#host_unit_id", str(unit.id))
    page.select_option("#legal_form", "service_institution")
    page.fill("#uscc", "91110000600037341X")  # wrong check character
    page.fill("#registered_on", "2020-06-01")
    for field, value in {"#district": "崇川区", "#street": "和平桥街道", "#contact_name": "陈晨",
                         "#contact_phone": "0513-85550000", "#admin_name": "陈晨", "#admin_username": "chenchen",
                         "#admin_mobile": "13912345678", "#password": "Chenguang-Zhulao-7", "#confirm": "Chenguang-Zhulao-7"}.items():
        page.fill(field, value)
    page.check("#agree")
    page.click("main form button[type=submit]")
    assert "统一社会信用代码校验不通过" in page.content()
    assert page.input_value("#name") == "崇川区晨光助老服务社"  # nothing typed is lost
    screenshot(page, "foundation-register-error-phone")
    page.fill("#uscc", factories.uscc(8080))
    page.fill("#password", "Chenguang-Zhulao-7")
    page.fill("#confirm", "Chenguang-Zhulao-7")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "注册成功" in page.content() and "待审核" in page.content()
    screenshot(page, "foundation-register-done-phone")


def test_officer_verifies_pending_organisation(page, live_server, demo, screenshot):
    login(page, live_server, "officer", DEMO_PASSWORD)
    page.goto(f"{live_server}/organizations?status=pending")
    screenshot(page, "foundation-org-list-pending")
    page.click("text=城东街道银发志愿服务队")
    screenshot(page, "foundation-org-detail-officer")
    page.fill("textarea[name=reason]", "材料齐全，同意认证")
    page.click("button[name=action][value=verify]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#org-status").inner_text() == "已认证"
    page.goto(f"{live_server}/audit?object_type=organization")
    assert "organization.verify" in page.content()
    screenshot(page, "foundation-audit-log")


def test_admin_creates_staff_account(page, live_server, demo, screenshot):
    login(page, live_server, "admin", DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/users/new")
    page.fill("#username", "zhaoliu")
    page.fill("#display_name", "赵六")
    page.fill("#mobile", "13912340066")
    page.select_option("#host_unit_id", label="崇川区民政局（区县级）")
    page.check("input[name=roles][value=officer]")
    page.check("input[name=roles][value=auditor]")
    page.fill("#password", "Temp-2026-zhaoliu")
    screenshot(page, "foundation-admin-new-user")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "账号 zhaoliu 已创建" in page.content()
    assert re.search("赵六", page.content())
    screenshot(page, "foundation-admin-users")


def test_the_policy_blocks_inline_script(page, live_server, request):
    """The console listener of conftest.py sees a violation: an injected inline script is refused."""
    page.goto(f"{live_server}/login")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("window.injected") is None
    assert any("Content Security Policy" in p for p in request.node.csp_problems)
    request.node.csp_problems.clear()
