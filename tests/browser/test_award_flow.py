"""From a scored call to a finalized notice: award draft, a refused over-quota adjustment, approval by a second
officer, the public 公示 (desktop and 390 px), an objection filed and rejected, finalize, and the PDF
评审结果汇总表. Screenshots in screenshots/award-*.png."""
from __future__ import annotations

import datetime as dt

from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.awards import factories as af
from tests.browser.conftest import SCREENS, login, nav_click


def _as(page, base, user):
    page.context.clear_cookies()
    login(page, base, user.username, factories.PASSWORD)


def test_award_flow(page, live_server, db, clock, screenshot):
    clock.set(dt.datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI))  # the notice runs across National Day
    unit = factories.host_unit(name="南通市民政局", level="city")
    call, apps, experts = af.reviewed_call(unit=unit, title="2026年南通市公益创投大赛", names=[
        "银龄互助·幸福邻里", "助残康复小课堂", "青少年社区守护计划", "社区议事厅培育", "四点半课堂"])
    a = factories.user(roles=("officer",), unit=unit, username="award_officer_a")
    a.display_name = "陈经办"
    b = factories.user(roles=("officer",), unit=unit, username="award_officer_b")
    b.display_name = "周科长"
    unfunded_member = factories.member(apps[1].organization, username="award_unfunded")
    db.session.commit()
    base = live_server

    _as(page, base, a)
    nav_click(page, None, "立项公示")
    page.click("text=资助方案")
    page.click("#propose-awards")
    page.wait_for_load_state("networkidle")
    assert page.locator("#award-table tr.table-success").count() == 3
    screenshot(page, "award-draft")

    # over the 为老服务 quota: refused, with the gap, the typed amount kept
    row = page.locator(f"#app-{apps[0].id} form.adjust-form")
    row.locator("input[name=amount]").fill("200000.01")
    row.locator("input[name=reason]").fill("扩大服务范围")
    row.locator("button").click()
    page.wait_for_load_state("networkidle")
    assert "不能超过申请金额" in page.locator(f"#app-{apps[0].id} .adjust-errors").inner_text()
    row = page.locator(f"#app-{apps[0].id} form.adjust-form")
    row.locator("input[name=amount]").fill("180000")
    row.locator("input[name=reason]").fill("压缩宣传费用")
    row.locator("button").click()
    page.wait_for_load_state("networkidle")
    inc = page.locator(f"#app-{apps[3].id} form.include-form")
    inc.locator("input[name=reason]").fill("社区治理类项目稀缺")
    inc.locator("button").click()
    page.wait_for_load_state("networkidle")
    assert "超出配额" in page.locator(f"#app-{apps[3].id} .include-errors").inner_text()
    screenshot(page, "award-draft-refused")
    assert page.locator("#approval-problem").inner_text().startswith("资助方案须由编制人以外")

    _as(page, base, b)
    page.goto(f"{base}/awards/calls/{call.id}")
    page.click("#approve-awards")
    page.wait_for_load_state("networkidle")
    # Tue 29 Sep → starts Wed 30 Sep; 5 working days skip 1–7 Oct and count Sat 10 Oct → ends Mon 12 Oct
    assert "2026-09-30 至 2026-10-12" in page.locator("#publish-form").inner_text()
    screenshot(page, "award-approved")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "award-approved-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    _as(page, base, a)
    page.goto(f"{base}/awards/calls/{call.id}")
    page.check("#show_panel_names")
    page.click("#publish-notice")
    page.wait_for_load_state("networkidle")
    assert "2026-09-30" in page.locator("#notice-period").inner_text()

    # the public: notice and objection, no log-in, from the period's first day
    clock.set(dt.datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI))
    page.context.clear_cookies()
    page.goto(f"{base}/")
    page.click(f"a[href='/public/notices/{call.id}']")
    assert "王评审" in page.locator("#panel-names").inner_text()
    screenshot(page, "award-public-notice")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "award-public-notice-phone")
    page.click("#file-objection")
    page.select_option("#application_id", str(apps[0].id))
    page.fill("#objector_name", "张先生")
    page.fill("#contact", "13912345678")
    page.fill("#content", "据了解该组织在申报的社区并未开展过助餐服务，申报材料与实际不符。")
    screenshot(page, "award-objection-form-phone")
    page.click("#submit-objection")
    assert page.locator("#objection-done").is_visible()
    page.set_viewport_size({"width": 1280, "height": 860})
    # a post without the form's CSRF token is refused
    resp = page.request.post(f"{base}/public/notices/{call.id}/objection", form={
        "application_id": str(apps[0].id), "objector_name": "某", "contact": "1", "content": "没有令牌的异议内容。"})
    assert resp.status == 400

    _as(page, base, a)
    page.goto(f"{base}/awards/calls/{call.id}/notice")
    assert page.locator("#finalize").is_disabled()
    screenshot(page, "award-notice-open")
    form = page.locator(".handle-form").first
    form.locator("input[value=reject]").check()
    form.locator("textarea[name=reason]").fill("经实地核查，该组织已在桃坞路社区开展助餐服务一年，异议不成立。")
    screenshot(page, "award-objection-handling")
    form.locator("button").click()
    page.wait_for_load_state("networkidle")
    assert "异议不成立" in page.content()

    clock.set(dt.datetime(2026, 10, 13, 9, 0, tzinfo=SHANGHAI))
    page.goto(f"{base}/awards/calls/{call.id}/notice")
    page.click("#finalize")
    page.wait_for_load_state("networkidle")
    assert "已定项" in page.content()
    screenshot(page, "award-finalized")

    resp = page.request.get(f"{base}/awards/calls/{call.id}/summary.pdf")
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / "award-summary.pdf").write_bytes(resp.body())

    # the unfunded applicant: scores and comments, no expert names
    _as(page, base, unfunded_member)
    page.goto(f"{base}/reminders/inbox")
    page.goto(f"{base}/awards/applications/{apps[1].id}/feedback")
    text = page.content()
    assert "需求分析" in text and "预算可再细化" in text
    assert all(name not in text for name in af.EXPERT_NAMES)
    screenshot(page, "award-feedback")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "award-feedback-phone")
