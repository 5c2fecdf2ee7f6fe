"""An officer creates a call through the form, sees the publish check, fixes it, publishes; the public
page shows it. Screenshots at desktop width and at 390 px (phone)."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.core.timeutil import SHANGHAI, now
from tests import factories
from tests.browser.conftest import login, nav_click


@pytest.fixture()
def officer(db):
    city = factories.host_unit(name="南通市民政局", level="city")
    factories.host_unit(name="崇川区民政局", level="district", parent=city)
    user = factories.user(roles=("officer",), unit=city, username="calls_officer")
    db.session.commit()
    return user


def _local(delta_days: int, hour: int) -> str:
    day = now().astimezone(SHANGHAI) + dt.timedelta(days=delta_days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def _date(delta_days: int) -> str:
    return (now().astimezone(SHANGHAI) + dt.timedelta(days=delta_days)).strftime("%Y-%m-%d")


def test_officer_creates_checks_fixes_and_publishes_a_call(page, live_server, officer, screenshot):
    login(page, live_server, officer.username, factories.PASSWORD)
    nav_click(page, None, "创投活动")
    page.click("#new-call")
    # defaults are there already
    assert page.input_value("#written_criteria-0-name") == "需求分析"
    assert page.input_value("#tranches-0-percent") == "40"
    page.fill("#title", "2026年南通市公益创投大赛（测试）")
    page.fill("#description", "面向全市社会组织征集为老、助残等公益服务项目。")
    page.fill("#funding_sources-0-name", "市级福彩公益金")
    page.fill("#funding_sources-0-amount", "1200000")
    page.click("[data-add-row=funding_sources]")
    page.select_option("#funding_sources-1-kind", "fiscal_matching")
    page.fill("#funding_sources-1-amount", "800,000")
    page.fill("#categories-0-name", "为老服务")
    page.fill("#categories-0-quota", "600000")
    page.click("[data-add-row=categories]")
    page.fill("#categories-1-name", "助残服务")
    page.click("[data-add-row=categories]")
    page.fill("#categories-2-name", "多余的一行")
    page.locator("#rows-categories .child-row").nth(2).locator("[data-remove-row]").click()
    page.fill("#min_grant", "20000")
    page.fill("#max_grant", "100000")
    page.fill("#open_at", _local(-1, 9))
    page.fill("#close_at", _local(21, 17))
    # review window and project dates left empty; one tranche wrong: the check must say so
    page.fill("#tranches-2-percent", "20")
    assert page.locator("#sum-tranches").inner_text() == "90 / 100"
    assert page.locator("#sum-written").inner_text() == "100 / 100"
    screenshot(page, "calls-form-desktop")
    page.click("#save-call")
    page.wait_for_load_state("networkidle")
    assert "活动草稿已保存" in page.content()
    check = page.locator("#publish-check").inner_text()
    assert "请填写专家评审的开始和结束时间" in check and "各拨付节点比例之和为 90%" in check
    assert "请填写项目执行的开始和结束日期" in check
    assert page.locator("#publish-call").is_disabled()
    screenshot(page, "calls-publish-check-desktop")

    # fix it
    page.click("#edit-call")
    assert page.input_value("#categories-1-name") == "助残服务"
    assert page.locator("#rows-categories .child-row").count() == 2
    page.fill("#review_start_at", _local(28, 9))
    page.fill("#review_end_at", _local(40, 17))
    page.fill("#project_start_on", _date(60))
    page.fill("#project_end_on", _date(420))
    page.fill("#tranches-2-percent", "30")
    page.click("#save-call")
    page.wait_for_load_state("networkidle")
    errors = page.locator(".invalid-feedback, .alert-danger").all_inner_texts()
    assert not errors, errors
    assert "信息完整，可以发布" in page.locator("#publish-check").inner_text()
    page.click("#publish-call")
    page.wait_for_load_state("networkidle")
    assert "活动已发布" in page.content()
    screenshot(page, "calls-detail-published-desktop")

    # the public sees it without logging in
    page.context.clear_cookies()
    page.goto(f"{live_server}/")
    assert "2026年南通市公益创投大赛（测试）" in page.content()
    page.goto(f"{live_server}/public/calls")
    assert "还剩 21 天" in page.content() or "还剩 22 天" in page.content()
    screenshot(page, "calls-public-list-desktop")
    page.click("text=2026年南通市公益创投大赛（测试）")
    content = page.content()
    for text in ("申报截止", "为老服务", "助残服务", "¥2,000,000.00", "需求分析", "首期 40%"):
        assert text in content, text
    screenshot(page, "calls-public-detail-desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "calls-public-detail-phone")
    page.goto(f"{live_server}/public/calls")
    screenshot(page, "calls-public-list-phone")


def test_call_form_on_a_phone(page, live_server, officer, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, officer.username, factories.PASSWORD)
    page.goto(f"{live_server}/calls/new")
    page.fill("#title", "手机上新建的活动")
    page.fill("#max_grant", "十万")
    page.click("#save-call")
    page.wait_for_load_state("networkidle")
    assert "金额格式不正确" in page.content()
    assert page.input_value("#title") == "手机上新建的活动"
    screenshot(page, "calls-form-error-phone")
    page.fill("#max_grant", "100000")
    page.click("#save-call")
    page.wait_for_load_state("networkidle")
    screenshot(page, "calls-detail-draft-phone")
    page.goto(f"{live_server}/calls")
    screenshot(page, "calls-list-phone")
