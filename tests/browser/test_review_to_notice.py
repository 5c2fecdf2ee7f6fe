"""One run through the pages, from experts scoring to a finalized notice (公益创投 review → 立项 → 公示 → 定项).

Each role has its own browser context: two experts (one on a phone) declare no conflict and score, the officer
reads the ranking (two applications tie; the earlier submission ranks first) and drafts the award list, a
second officer approves, the officer publishes the notice, a visitor (phone) files an objection, the officer
rejects it with a reason, the clock moves past the notice end, the officer finalizes, and the unfunded
applicant reads the scores and comments without the experts' names. Screenshots in screenshots/e2e4-*.png."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from grants.applications.models import ApplicationStatus
from grants.calls.models import CallFundingSource
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.reviews import factories as rf
from tests.browser.conftest import nav_click

PHONE = {"width": 390, "height": 844}
X, Y, Z = "银龄互助·幸福邻里", "残障青年就业赋能", "社区儿童四点半课堂"
# Points per criterion (需求分析 20, 项目设计 30, 可行性 20, 预算合理性 15, 创新性 15). Y and Z tie at 80.00.
POINTS = {
    "e2e4_expert_a": {X: [18, 26, 17, 13, 12], Y: [16, 24, 16, 12, 12], Z: [17, 23, 16, 12, 12]},
    "e2e4_expert_b": {X: [17, 27, 18, 12, 13], Y: [15, 25, 17, 11, 12], Z: [16, 24, 16, 12, 12]},
}
COMMENTS = {"e2e4_expert_a": "需求分析扎实，活动设计可行，志愿者队伍稳定。",
            "e2e4_expert_b": "预算可再细化，建议补充服务成效的评估指标。"}
EXPERT_NAMES = {"e2e4_expert_a": "王评审", "e2e4_expert_b": "李评审"}


@pytest.fixture()
def world(db, clock):
    """A call in review (budget 100,000 yuan for three requests of 50,000) whose three eligible applications
    are each assigned to both panel experts, nobody has declared anything yet."""
    clock.set(dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI))  # a Monday
    call = rf.review_call(title="2026年崇川区公益创投大赛")
    call.funding_sources.append(CallFundingSource(kind="welfare_lottery", name="", amount_fen=100_000_00))
    officer_a = factories.user(roles=("officer",), unit=call.host_unit, username="e2e4_officer_a")
    officer_a.display_name = "陈经办"
    officer_b = factories.user(roles=("officer",), unit=call.host_unit, username="e2e4_officer_b")
    officer_b.display_name = "周科长"
    experts = []
    for username, name in EXPERT_NAMES.items():
        e = rf.expert(username=username, specialties=["为老服务"], employer="南通大学")
        e.display_name = name
        rf.panel_member(call, e)
        experts.append(e)
    # Z is created first (lower id and number) but submitted last: the tie with Y is decided by submission time.
    submitted = {X: dt.datetime(2026, 1, 20, 9, 0, tzinfo=SHANGHAI), Y: dt.datetime(2026, 1, 15, 9, 0, tzinfo=SHANGHAI),
                 Z: dt.datetime(2026, 1, 25, 9, 0, tzinfo=SHANGHAI)}
    orgs = {X: "阳光为老服务中心", Y: "助残志愿者协会", Z: "青少年成长服务社"}
    apps = {}
    for name in (Z, X, Y):
        a = rf.eligible_application(call, factories.organization(name=orgs[name]),
                                    status=ApplicationStatus.UNDER_REVIEW, submitted_at=submitted[name])
        a.project_name = name
        for e in experts:
            rf.assignment(a, e, declare=None)
        apps[name] = a
    factories.member(apps[Z].organization, username="e2e4_applicant")  # the unfunded applicant
    db.session.commit()
    return call, apps


def _open(browser, browser_context_args, **extra):
    context = browser.new_context(**{**browser_context_args, **extra})
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    return context, page


def _login(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


def _nav(page, label):
    """Click a navbar entry (unfolding the bar and its menu first)."""
    nav_click(page, None, label)


def _flash(page, text):
    expect(page.locator("div.alert[role=alert]", has_text=text)).to_be_visible()


def _score(page, base, username, screenshot, prefix):
    _login(page, base, username)
    _nav(page, "我的评审任务")
    expect(page.locator("#task-list")).to_contain_text("未声明")
    screenshot(page, f"{prefix}-tasks")
    for i, (name, points) in enumerate(POINTS[username].items()):
        page.locator("#task-list tr", has_text=name).locator("a", has_text="声明并评分").click()
        expect(page.locator("h1.page-title")).to_have_text("利益冲突声明")
        if i == 0:
            screenshot(page, f"{prefix}-declare")
        page.check("input[name=has_conflict][value=no]")
        page.click("#declare-submit")
        _flash(page, "已声明无利益冲突")
        inputs = page.locator(".score-input")
        expect(inputs).to_have_count(5)
        for inp, p in zip(inputs.all(), points):
            inp.fill(str(p))
        page.fill("#overall_comment", COMMENTS[username])
        page.check("#rec-fund")
        expect(page.locator("#live-total")).to_have_text(str(sum(points)))
        if i == 0:
            screenshot(page, f"{prefix}-score-form")
        page.click("#submit-review")
        _flash(page, "评分已提交")
        expect(page.locator("#review-status")).to_have_text("已提交")
        page.get_by_role("link", name="返回评审任务").click()
        expect(page.locator("#task-list tr", has_text=name)).to_contain_text("已提交")
    screenshot(page, f"{prefix}-tasks-done")


def test_experts_score_through_to_a_finalized_notice(browser, browser_context_args, live_server, world, clock,
                                                     screenshot):
    call, apps = world
    base = live_server
    contexts = []

    def open_context(**extra):
        context, page = _open(browser, browser_context_args, **extra)
        contexts.append(context)
        return page

    try:
        # 1. Experts: declare "no conflict" and score every assigned application (the second on a phone).
        _score(open_context(), base, "e2e4_expert_a", screenshot, "e2e4-01-expert-a")
        _score(open_context(viewport=PHONE), base, "e2e4_expert_b", screenshot, "e2e4-02-expert-b-phone")

        # 2. The officer reads the ranking: X first, then the Y/Z tie broken by the earlier submission.
        officer = open_context()
        _login(officer, base, "e2e4_officer_a")
        _nav(officer, "专家评审")
        row = officer.locator("#review-calls tr", has_text=call.title)
        expect(row).to_contain_text("已提交 6 / 已分配 6")
        screenshot(officer, "e2e4-03-officer-review-calls")
        row.locator("a", has_text="评分排序").click()
        expect(officer.locator("#tie-break")).to_contain_text(
            "同分时依次比较：路演得分、书面评审得分、申报提交时间（早者优先）、申报编号顺序")
        rows = officer.locator("#ranking-table tbody tr")
        expect(rows).to_have_count(3)
        texts = rows.all_inner_texts()
        assert [re.split(r"\s+", t.strip())[0] for t in texts] == ["1", "2", "3"]
        assert [next(n for n in (X, Y, Z) if n in t) for t in texts] == [X, Y, Z]
        assert "86.50" in texts[0] and "80.00" in texts[1] and "80.00" in texts[2]
        assert all("已评分" in t and "2/2" in t for t in texts), texts
        screenshot(officer, "e2e4-04-officer-ranking")

        # 3. The officer drafts the award list: the budget covers the first two in rank order.
        _nav(officer, "立项公示")
        officer.locator("tr", has_text=call.title).locator("a", has_text="资助方案").click()
        officer.click("#propose-awards")
        _flash(officer, "已按排名生成资助方案草案：2 个项目")
        funded = officer.locator("#award-table tr.table-success")
        expect(funded).to_have_count(2)
        expect(officer.locator(f"#app-{apps[X].id}")).to_have_class(re.compile("table-success"))
        expect(officer.locator(f"#app-{apps[Y].id}")).to_have_class(re.compile("table-success"))
        expect(officer.locator(f"#app-{apps[Z].id}")).to_contain_text("未列入")
        expect(officer.locator("#approval-problem")).to_contain_text("须由编制人以外")
        screenshot(officer, "e2e4-05-officer-draft")

        # 4. A second officer approves; the notice period (5 working days) is previewed.
        second = open_context()
        _login(second, base, "e2e4_officer_b")
        _nav(second, "立项公示")
        second.locator("tr", has_text=call.title).locator("a", has_text="资助方案").click()
        second.click("#approve-awards")
        _flash(second, "资助方案已审批通过")
        expect(second.locator("#publish-form")).to_contain_text("2026-03-03 至 2026-03-09")
        screenshot(second, "e2e4-06-second-officer-approved")

        # 5. The officer publishes the 公示.
        officer.reload()
        expect(officer.locator("#publish-form")).to_contain_text("2026-03-03 至 2026-03-09")
        officer.click("#publish-notice")
        _flash(officer, "公示已发布：2026-03-03 至 2026-03-09")
        expect(officer.locator("#notice-period")).to_contain_text("公示未开始")  # objections from 3 March
        clock.set(dt.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI))
        officer.reload()
        expect(officer.locator("#notice-period")).to_contain_text("受理异议中")
        screenshot(officer, "e2e4-07-officer-notice-published")

        # 6. An anonymous visitor (phone) reads the notice and files an objection.
        visitor = open_context(viewport=PHONE)
        visitor.goto(f"{base}/")
        visitor.click(f"a[href='/public/notices/{call.id}']")
        table = visitor.locator("#notice-table")
        expect(table).to_contain_text(X)
        expect(table).to_contain_text(Y)
        expect(table).not_to_contain_text(Z)
        screenshot(visitor, "e2e4-08-visitor-notice-phone")
        visitor.click("#file-objection")
        visitor.select_option("#application_id", str(apps[Y].id))
        visitor.fill("#objector_name", "张先生")
        visitor.fill("#contact", "13912345678")
        visitor.fill("#content", "据了解该协会去年的助残就业项目未按期结项，申报材料中的服务成效与实际不符。")
        screenshot(visitor, "e2e4-09-visitor-objection-form-phone")
        visitor.click("#submit-objection")
        expect(visitor.locator("#objection-done")).to_be_visible()
        screenshot(visitor, "e2e4-10-visitor-objection-filed-phone")

        # 7. The officer rejects the objection with a reason; finalizing must wait for the notice end.
        officer.reload()  # still on the notice page the publish led to
        objection = officer.locator("[id^=objection-]", has_text="张先生")
        expect(objection).to_contain_text("待处理")
        expect(officer.locator("#finalize")).to_be_disabled()
        expect(officer.locator("#finalize-problems")).to_contain_text("公示期至 2026-03-09 结束")
        expect(officer.locator("#finalize-problems")).to_contain_text("还有 1 条异议未处理")
        form = objection.locator(".handle-form")
        form.locator("input[value=reject]").check()
        form.locator("textarea[name=reason]").fill("经核实，该协会上一期项目已于 2025 年 12 月通过结项评估，异议不成立。")
        screenshot(officer, "e2e4-11-officer-objection-handling")
        form.locator("button[type=submit]").click()
        _flash(officer, "异议已处理")
        expect(objection).to_contain_text("异议不成立")
        expect(officer.locator("#finalize-problems")).not_to_contain_text("异议未处理")
        expect(officer.locator("#finalize")).to_be_disabled()
        screenshot(officer, "e2e4-12-officer-objection-rejected")

        # 8. Past the notice end (midnight after 9 March, Beijing time) the officer finalizes.
        clock.set(dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))
        officer.reload()
        expect(officer.locator("#notice-period")).to_contain_text("公示期已结束")
        expect(officer.locator("#finalize")).to_be_enabled()
        officer.click("#finalize")
        _flash(officer, "已定项：2 个项目确认立项")
        expect(officer.locator("#notice-period")).to_contain_text("已定项")
        screenshot(officer, "e2e4-13-officer-finalized")

        # 9. The unfunded applicant reads the scores and comments, without the experts' names.
        applicant = open_context()
        _login(applicant, base, "e2e4_applicant")
        _nav(applicant, "我的申报")
        applicant.locator("#my-applications a", has_text=Z).click()
        applicant.locator("#award-feedback-link a").click()
        expect(applicant.locator("h1.page-title")).to_contain_text(Z)
        body = applicant.locator("main")
        expect(body).to_contain_text("得分 80.00")
        for comment in COMMENTS.values():
            expect(body).to_contain_text(comment)
        text = applicant.content()
        for username, name in EXPERT_NAMES.items():
            assert name not in text and username not in text
        screenshot(applicant, "e2e4-14-applicant-feedback")
        applicant.set_viewport_size(PHONE)
        screenshot(applicant, "e2e4-15-applicant-feedback-phone")
    finally:
        for context in contexts:
            context.close()
