"""Reminders in Chromium: the bell with its count, the inbox, preferences, the officer's per-call
settings and the admin's outbox and scheduler pages, on a desktop and at phone width."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.core.timeutil import now
from tests import factories
from tests.browser.conftest import login
from tests.reminders import factories as rf


@pytest.fixture()
def reminded(db):
    """An organisation with a draft in a call closing in under a day, after one scheduler pass."""
    from grants.reminders.jobs import run_pass

    run_pass()  # the scheduler has been running all along
    officer = factories.user(username="rem_officer")
    org = factories.organization(name="阳光为老服务中心")
    boss = factories.member(org, username="rem_boss", email="boss@example.org")
    factories.member(org, is_admin=False, username="rem_colleague", email="colleague@example.org")
    c = rf.call(close_at=now() + dt.timedelta(hours=20), unit=officer.host_unit, title="2026年度市级公益创投大赛")
    rf.application(c, org, project_name="银龄助餐互助计划", author=boss)
    factories.user(roles=("admin",), username="rem_admin")
    db.session.commit()
    from flask import current_app

    with current_app.app_context():
        run_pass()
    return c


def test_bell_inbox_and_preferences(page, live_server, reminded, screenshot):
    login(page, live_server, "rem_boss", factories.PASSWORD)
    assert page.locator("#nav-unread").inner_text() == "1"
    page.click("#nav-bell")
    page.wait_for_url("**/notifications")
    assert "申报即将截止" in page.content()
    screenshot(page, "reminders-inbox")
    page.click("text=申报即将截止")
    page.wait_for_load_state("networkidle")
    assert "/applications/" in page.url
    page.goto(f"{live_server}/notifications/preferences")
    assert page.locator("#email-deadline").is_disabled()
    page.uncheck("#email-general")
    page.click("#save-preferences")
    page.wait_for_load_state("networkidle")
    assert "通知设置已保存" in page.content()
    assert not page.locator("#email-general").is_checked()
    screenshot(page, "reminders-preferences")


def test_phone_width_inbox(page, live_server, reminded, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "rem_colleague", factories.PASSWORD)
    page.goto(f"{live_server}/notifications")
    assert "申报即将截止" in page.content()
    screenshot(page, "reminders-inbox-phone")
    page.click(".navbar-toggler")
    page.wait_for_selector("#mainnav.show")
    assert page.locator("#nav-bell").is_visible()
    screenshot(page, "reminders-nav-phone", full_page=False)


def test_officer_call_settings(page, live_server, reminded, screenshot):
    login(page, live_server, "rem_officer", factories.PASSWORD)
    page.goto(f"{live_server}/reminders/calls")
    assert reminded.title in page.content()
    page.goto(f"{live_server}/calls/{reminded.id}")  # the call's own page links to its reminder settings
    page.click("#call-reminders")
    page.wait_for_load_state("networkidle")
    page.fill("#call_closing-offsets", "七天")
    page.locator("#rule-call_closing button:has-text('保存')").click()
    page.wait_for_load_state("networkidle")
    assert "提前天数须为整数" in page.content()
    screenshot(page, "reminders-call-settings-error")
    page.fill("#call_closing-offsets", "10, 3, 1")
    page.locator("#rule-call_closing button:has-text('保存')").click()
    page.wait_for_load_state("networkidle")
    assert "设置已保存" in page.content()
    screenshot(page, "reminders-call-settings")


def test_admin_outbox_and_scheduler(page, live_server, reminded, db, screenshot):
    from grants.reminders.models import OutboxMail

    stuck = OutboxMail(to_address="lost@example.org", subject="[公益创投管理平台] 进度报告即将截止", body="正文",
                       status="uncertain", attempts=1, last_error="发送过程中断，无法确定是否已送达；请核实后手工重发")
    db.session.add(stuck)
    db.session.commit()
    login(page, live_server, "rem_admin", factories.PASSWORD)
    page.goto(f"{live_server}/admin/outbox")
    assert "boss@example.org" in page.content() and page.locator("#uncertain-mail").count() == 1
    screenshot(page, "reminders-outbox")
    page.goto(f"{live_server}/admin/outbox/{stuck.id}")
    screenshot(page, "reminders-outbox-uncertain-mail")
    with page.expect_navigation():
        page.click("#resend-button")
    assert "邮件已重新排队发送" in page.content() and page.locator("#resend-button").count() == 0
    page.goto(f"{live_server}/admin/scheduler")
    assert "申报截止提醒" in page.content()
    screenshot(page, "reminders-scheduler")
