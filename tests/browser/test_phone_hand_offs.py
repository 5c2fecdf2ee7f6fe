"""On a phone: a new organisation registers and verifies its mobile with the SMS code; an applicant reads an
application's status page (amount cut, reason, 公示 link); a message thread with an officer's reply and
attachment. Screenshots: screenshots/phone-*.png."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from grants.core.timeutil import SHANGHAI
from grants.reminders.models import OutboxSms
from tests import factories
from tests.browser.conftest import login

PHONE = {"width": 390, "height": 844}


def test_registration_with_sms_code_on_a_phone(page, live_server, db, screenshot):
    unit = factories.host_unit(name="崇川区民政局", level="city")  # the unit it registers with
    db.session.commit()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/register")
    page.fill("#name", "崇川区晨光助老服务社")
    page.select_option("#host_unit_id", str(unit.id))
    page.select_option("#legal_form", "service_institution")
    page.fill("#uscc", factories.uscc(7001))
    page.fill("#registered_on", "2020-06-01")
    for field, value in {"#district": "崇川区", "#street": "和平桥街道", "#contact_name": "陈晨",
                         "#contact_phone": "0513-85550000", "#admin_name": "陈晨", "#admin_username": "chenchen",
                         "#admin_mobile": "13912345678", "#admin_email": "chen@example.org",
                         "#password": "Qinghe-Shuiyun-88", "#confirm": "Qinghe-Shuiyun-88"}.items():
        page.fill(field, value)
    page.check("#agree")
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("验证码已通过短信发送至 13912345678")
    expect(page.locator("#verify-contacts-banner")).to_be_visible()
    page.click("#verify-contacts-banner a")
    text = db.session.scalar(sa.select(OutboxSms.text).where(OutboxSms.to_mobile == "13912345678"))
    code = re.search(r"\d{6}", text).group(0)
    page.fill("#code-mobile", code)
    screenshot(page, "phone-register-code")
    page.click("#confirm-mobile")
    expect(page.locator("#mobile-verified")).to_be_visible()
    expect(page.locator("#email-unverified")).to_be_visible()
    expect(page.locator("#verify-contacts-banner")).to_have_count(0)
    screenshot(page, "phone-register-verified")


def test_status_page_and_thread_on_a_phone(page, live_server, app, db, clock, monkeypatch, screenshot):
    from grants.awards import services as aw
    from grants.messages.services import post_message
    from tests.awards import factories as af

    with app.test_request_context():
        call = af.scored_call(title="2026年南通市公益创投大赛")
        cut = af.scored_application(call, requested_fen=5_000_000, name="银龄互助·幸福邻里")
        af.use_ranking(monkeypatch, [cut])
        a, b = af.officers(call)
        a.display_name = "陈经办"
        clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
        aw.propose_awards(call, a)
        aw.adjust_award(aw.awards_of(call)[0], 4_000_000, "专家建议压缩设备采购", a)
        aw.approve_awards(call, b)
        aw.publish_notice(call, a)
        member = factories.member(cut.organization, password="Passw0rd!")
        post_message(cut, member, body="请问压缩后的预算表需要重新提交吗？")
        from werkzeug.datastructures import FileStorage
        import io

        from tests.applications.factories import PDF

        post_message(cut, a, body="需要。请按附件模板调整设备采购一栏，立项后随协议一并提交。",
                     upload=FileStorage(io.BytesIO(PDF), "预算调整模板.pdf"))
        post_message(cut, a, body="该组织去年结项评估为良好，预算执行规范。", internal=True)
        db.session.commit()
    page.set_viewport_size(PHONE)
    login(page, live_server, member.username, "Passw0rd!")
    page.goto(f"{live_server}/applications/{cut.id}/status")
    expect(page.locator("#awarded-amount")).to_contain_text("¥40,000.00")
    expect(page.locator("#adjustment")).to_contain_text("专家建议压缩设备采购")
    expect(page.locator("#notice-link a")).to_have_attribute("href", f"/public/notices/{call.id}")
    screenshot(page, "phone-status-page")
    page.click("#open-thread")
    expect(page.locator("#messages")).to_contain_text("预算调整模板.pdf")
    expect(page.locator("#messages")).not_to_contain_text("去年结项评估")
    page.fill("#body", "收到，我们本周内调整后上传。")
    page.click("#send-message")
    expect(page.locator("main")).to_contain_text("消息已发送")
    screenshot(page, "phone-thread")
