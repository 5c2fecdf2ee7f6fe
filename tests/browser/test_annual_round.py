"""A whole 公益创投 round as real people play it, only through the pages, each role in its own browser context.

Set-up creates only what no page can create in a new deployment: the host unit and its staff (two officers for
the four-eyes approval of awards, two finance users, an evaluator) and five experts in the expert pool, as an
administrator would. Everything else happens in Chromium:

the officer creates and publishes the call (rubric, budget by funding source, categories, tranches, score bands);
three organisations register themselves, the officer verifies them, two apply in time and the third is refused
after the deadline; the officer screens, closes the call and runs the panel; five experts declare that they
have no conflict and score; the officer ranks and drafts the awards, a second officer approves, the 公示 runs,
a visitor objects and the officer rejects it; past the notice's working days the officer finalizes; contracts
are issued, signed by each organisation and countersigned; finance user A approves and B releases the first
tranches; both organisations submit their mid-term reports, the officer assigns the evaluator, who scores one
project 优秀 (100 %) and the other 合格 (80 %); finance releases the second payments; the clock moves to a week
before the final reports are due and one reminder pass (what `flask scheduler run --once` does) sends exactly the
expected reminders, which the organisations read in their inboxes; finally the programme dashboard and the
public disclosure page show the round's figures.

Figures: budget ¥100,000.00 (福彩公益金 ¥60,000.00 + 财政配套 ¥40,000.00). A 银龄互助·幸福邻里 asks ¥50,000.00
(tranches 40/30/30: ¥20,000.00 / ¥15,000.00 / ¥15,000.00), B 助残就业·阳光工坊 asks ¥45,678.90
(¥18,271.56 / ¥13,703.67 / ¥13,703.67). Mid-term: A 91 → 优秀, 100 %: ¥15,000.00; B 65 → 合格, 80 %:
¥13,703.67 × 0.8 = ¥10,962.936 → ¥10,962.94 paid, ¥2,740.73 withheld. Awarded ¥95,678.90, paid ¥64,234.50.

Screenshots: screenshots/annual_round/NN-step.png, one per step.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from stdnum.cn import uscc as uscc_std

from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.browser.conftest import nav_click, second_factor
from tests.applications import factories as af
from tests.contracts import factories as cf
from tests.reviews import factories as rf

PASSWORD = "Round2026!"
A, B, C = "银龄互助·幸福邻里", "助残就业·阳光工坊", "社区儿童四点半课堂"
CALL_TITLE = "2026年南通市公益创投大赛"


def bj(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def uscc(serial: int) -> str:
    """A valid 统一社会信用代码 of a social service institution (5 = civil affairs, 2 = 民办非企业单位) in 崇川区."""
    body = f"52320602MJ{serial:07d}"
    return body + uscc_std.calc_check_digit(body)


# The three organisations: what they type when they register, and the project each proposes.
ORGS = {
    A: dict(name="南通市崇川区乐龄社会工作服务中心", username="leling", admin="王芳", mobile="13912340001",
            serial=101, street="和平桥街道", bank="622848001000000101"),
    B: dict(name="南通市助残就业服务社", username="zhucan", admin="李强", mobile="13912340002",
            serial=202, street="城东街道", bank="622848001000000202"),
    C: dict(name="南通市青苗儿童成长服务中心", username="qingmiao", admin="赵敏", mobile="13912340003",
            serial=303, street="观音山街道", bank="622848001000000303"),
}
# The proposals: category, requested amount, grant-funded budget rows (kind, item, unit price, quantity),
# own-funded rows and the promised outputs.
PROPOSALS = {
    A: dict(category="为老服务", requested="50000",
            summary="为社区独居老人提供每周探访、助餐和精神慰藉服务。",
            grant=[("personnel", "项目社工补贴", "1000", "10"), ("activity", "探访与主题活动", "400", "100")],
            own=[("materials", "慰问物资", "125", "100")], sessions="3000", beneficiaries="150"),
    B: dict(category="助残服务", requested="45678.90",
            summary="为辖区残障青年提供职业技能培训与辅助性就业岗位对接。",
            grant=[("personnel", "就业辅导员补贴", "20000", "1"), ("activity", "技能培训与岗位对接", "25678.90", "1")],
            own=[("materials", "培训耗材", "5000", "1")], sessions="1200", beneficiaries="60"),
    C: dict(category="青少年服务", requested="30000",
            summary="为双职工家庭儿童提供放学后的课业辅导与安全看护。",
            grant=[("personnel", "课业辅导员补贴", "30000", "1")],
            own=[], sessions="2000", beneficiaries="80"),
}
# Written review points per criterion (需求分析 20, 项目设计 30, 可行性 20, 预算合理性 15, 创新性 15).
# A: 86, 87, 86, 84, 86 → mean 85.80; B: 80, 80, 78, 82, 78 → mean 79.60.
EXPERTS = {
    "round_expert1": ("王教授", "南通大学", {A: [18, 26, 17, 13, 12], B: [16, 24, 16, 12, 12]}),
    "round_expert2": ("李研究员", "南通市社科院", {A: [17, 27, 18, 12, 13], B: [15, 25, 17, 11, 12]}),
    "round_expert3": ("张督导", "南通市社会工作协会", {A: [18, 25, 17, 13, 13], B: [16, 23, 16, 12, 11]}),
    "round_expert4": ("陈会计师", "江海会计师事务所", {A: [16, 26, 18, 12, 12], B: [17, 24, 16, 12, 13]}),
    "round_expert5": ("周主任", "崇川区社会组织服务中心", {A: [17, 26, 17, 13, 13], B: [15, 24, 16, 11, 12]}),
}
COMMENT = "需求分析扎实，活动设计可行，预算基本合理。"
# Mid-term assessment points (项目实施 30, 人力物资投入 20, 财务管理 20, 项目成效 30, 加分 5, 扣分 10).
ASSESSMENT = {A: ["28", "18", "18", "27", "0", "0"], B: ["20", "12", "12", "21", "0", "0"]}


@pytest.fixture()
def staff(db, clock):
    """The bureau and its people, as the administrator sets them up before the round."""
    from grants.accounts.models import User

    clock.set(bj(3, 2, 9))  # Monday 2 March 2026, 09:00 Beijing time
    city = factories.host_unit(name="南通市民政局", level="city")
    people = {}
    for username, name, roles in (("round_officer", "陈经办", ("officer",)), ("round_chief", "周科长", ("officer",)),
                                  ("round_finance_a", "财务甲", ("finance",)), ("round_finance_b", "财务乙", ("finance",))):
        user = factories.user(roles=roles, unit=city, username=username, password=PASSWORD)
        user.display_name = name
        people[username] = user
    evaluator = cf.evaluator(username="round_evaluator", password=PASSWORD)
    evaluator.display_name = "江海第三方评估中心·刘评估"
    people["round_evaluator"] = evaluator
    for username, (name, employer, _points) in EXPERTS.items():
        expert = rf.expert(username=username, password=PASSWORD, specialties=["为老服务", "助残服务"], employer=employer)
        expert.display_name = name
        people[username] = expert
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 10
    return people


class Round:
    """The browser side: one context per person, and numbered screenshots."""

    def __init__(self, browser, context_args, base, screenshot):
        self.browser, self.context_args, self.base, self._screenshot = browser, context_args, base, screenshot
        self.contexts, self.n = [], 0

    def open(self):
        context = self.browser.new_context(**self.context_args)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        return page

    def login(self, username):
        page = self.open()
        page.goto(f"{self.base}/login")
        page.fill("input[name=login]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-submit")
        page.wait_for_load_state("networkidle")
        second_factor(page, username)
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    def shot(self, page, name):
        self.n += 1
        self._screenshot(page, f"annual_round/{self.n:02d}-{name}")

    def close(self):
        for context in self.contexts:
            context.close()


def nav(page, label):
    nav_click(page, None, label)


def flash(page, text):
    expect(page.locator("div.alert[role=alert]", has_text=text).first).to_be_visible()


def local(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


# --- the steps ------------------------------------------------------------------------------------------------

def create_and_publish_call(r: Round, officer):
    nav(officer, "创投活动")
    officer.click("#new-call")
    expect(officer.locator("#written_criteria-0-name")).to_have_value("需求分析")
    officer.fill("#title", CALL_TITLE)
    officer.fill("#description", "面向全市社会组织征集为老服务、助残服务和青少年服务公益项目。")
    officer.select_option("#funding_sources-0-kind", "welfare_lottery")
    officer.fill("#funding_sources-0-name", "市级福彩公益金")
    officer.fill("#funding_sources-0-amount", "60000")
    officer.click("[data-add-row=funding_sources]")
    officer.select_option("#funding_sources-1-kind", "fiscal_matching")
    officer.fill("#funding_sources-1-name", "市财政配套")
    officer.fill("#funding_sources-1-amount", "40,000")
    for i, name in enumerate(("为老服务", "助残服务", "青少年服务")):
        if i:
            officer.click("[data-add-row=categories]")
        officer.fill(f"#categories-{i}-name", name)
    officer.fill("#min_grant", "10000")
    officer.fill("#max_grant", "60000")
    officer.fill("#open_at", local(bj(3, 2, 9)))
    officer.fill("#close_at", local(bj(3, 20, 17)))
    officer.fill("#review_start_at", local(bj(3, 23, 9)))
    officer.fill("#review_end_at", local(bj(4, 3, 17)))
    officer.fill("#notice_working_days", "5")
    officer.fill("#project_start_on", "2026-05-01")
    officer.fill("#project_end_on", "2026-12-31")
    officer.fill("#reviewers_per_application", "5")
    # The rubric (100 points), the tranches (40/30/30) and the score bands: the usual ones, checked and kept.
    expect(officer.locator("#sum-written")).to_have_text("100 / 100")
    expect(officer.locator("#sum-tranches")).to_have_text("100 / 100")
    for i, (name, pct) in enumerate((("首期", "40"), ("中期", "30"), ("尾款", "30"))):
        expect(officer.locator(f"#tranches-{i}-name")).to_have_value(name)
        expect(officer.locator(f"#tranches-{i}-percent")).to_have_value(pct)
    for i, (low, pct) in enumerate((("85", "100"), ("70", "100"), ("60", "80"), ("0", "0"))):
        expect(officer.locator(f"#score_bands-{i}-min_score")).to_have_value(low)
        expect(officer.locator(f"#score_bands-{i}-payment_pct")).to_have_value(pct)
    r.shot(officer, "officer-call-form")
    officer.click("#save-call")
    flash(officer, "活动草稿已保存")
    expect(officer.locator("#publish-check")).to_contain_text("信息完整，可以发布")
    r.shot(officer, "officer-call-draft")
    officer.click("#publish-call")
    flash(officer, "活动已发布")
    r.shot(officer, "officer-call-published")


def register(r: Round, project):
    org = ORGS[project]
    page = r.open()
    page.goto(f"{r.base}/")
    page.get_by_role("link", name=re.compile("注册")).first.click()
    page.fill("#name", org["name"])
    page.select_option("#legal_form", "service_institution")
    page.fill("#uscc", uscc(org["serial"]))
    page.fill("#registered_on", "2019-06-01")
    page.fill("#registration_authority", "南通市民政局")
    page.select_option("#host_unit_id", label="南通市民政局")  # its officers verify it
    for field, value in {"#district": "崇川区", "#street": org["street"], "#contact_name": org["admin"],
                         "#contact_phone": org["mobile"], "#bank_account_name": org["name"],
                         "#bank_name": "江苏银行南通分行", "#bank_account_number": org["bank"],
                         "#admin_name": org["admin"], "#admin_username": org["username"],
                         "#admin_mobile": org["mobile"], "#password": PASSWORD, "#confirm": PASSWORD}.items():
        page.fill(field, value)
    page.check("#agree")
    if project == A:
        r.shot(page, "org-register-form")
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("注册成功")
    expect(page.locator("main")).to_contain_text("待审核")
    r.shot(page, f"org-registered-{org['username']}")
    return page


def verify_organisations(r: Round, officer):
    nav(officer, "社会组织")
    for project in (A, B, C):
        expect(officer.locator("main")).to_contain_text(ORGS[project]["name"])
    r.shot(officer, "officer-orgs-pending")
    for project in (A, B, C):
        nav(officer, "社会组织")
        officer.get_by_role("link", name=ORGS[project]["name"]).click()
        officer.fill("textarea[name=reason]", "登记证书与信用代码核对无误，同意认证")
        officer.click("button[name=action][value=verify]")
        expect(officer.locator("#org-status")).to_have_text("已认证")
    r.shot(officer, "officer-org-verified")


def fill_application(page, project):
    p = PROPOSALS[project]
    page.fill("#f-project_name", project)
    page.select_option("#f-category_id", label=p["category"])
    page.fill("#f-requested", p["requested"])
    page.fill("#f-summary", p["summary"])
    page.fill("#f-need_analysis", "辖区内服务对象需求调研显示，现有服务供给不足，缺少常态化的专业支持。")
    page.fill("#f-objectives", "一年内建立稳定的服务网络，达成绩效目标。")
    page.fill("#f-target_groups", "辖区内的服务对象及其家庭")
    page.fill("#f-activity_description", "组建志愿者队伍，开展常态化服务、主题活动和能力培训。")
    page.fill("input[name=area-0-street]", ORGS[project]["street"])
    page.fill("input[name=area-0-community]", "桃坞路社区")
    page.fill("input[name=activity-0-title]", "服务启动与志愿者培训")
    page.fill("input[name=activity-0-start_on]", "2026-05-10")
    page.fill("input[name=activity-0-end_on]", "2026-06-30")
    page.fill("textarea[name=activity-0-description]", "招募志愿者并完成岗前培训")
    page.fill("#t-service_sessions", p["sessions"])
    page.fill("#t-beneficiaries", p["beneficiaries"])
    page.fill("input[name=member-0-name]", ORGS[project]["admin"])
    page.fill("input[name=member-0-role]", "项目负责人")
    rows = [(kind, item, price, qty, "grant") for kind, item, price, qty in p["grant"]]
    rows += [(kind, item, price, qty, "own") for kind, item, price, qty in p["own"]]
    for i, (kind, item, price, qty, funded_by) in enumerate(rows):
        if i:
            page.click("button.row-add[data-section=budget]")
        page.select_option(f"select[name=budget-{i}-kind]", kind)
        page.fill(f"input[name=budget-{i}-item]", item)
        page.fill(f"input[name=budget-{i}-unit_price]", price)
        page.fill(f"input[name=budget-{i}-quantity]", qty)
        page.select_option(f"select[name=budget-{i}-funded_by]", funded_by)


def start_application(r: Round, page, project, tmp_path):
    """From the public call page to a saved draft with the required attachment."""
    nav(page, "征集公告")
    page.get_by_role("link", name=CALL_TITLE).first.click()
    page.click("#apply-call")
    page.click("#start-application")
    expect(page.locator("#application-form")).to_be_visible()
    fill_application(page, project)
    expected = {A: "¥50,000.00", B: "¥45,678.90", C: "¥30,000.00"}[project]
    expect(page.locator("#t-grant")).to_have_text(expected)
    pdf = tmp_path / f"登记证书-{ORGS[project]['username']}.pdf"
    pdf.write_bytes(af.PDF)
    page.locator("#sec-attachment input[type=file]").first.set_input_files(str(pdf))
    page.check("#f-declaration")
    if project == A:
        r.shot(page, "org-application-form")
    page.click("#save-draft")
    expect(page.locator("main")).to_contain_text("草稿已保存")


def submit_application(r: Round, page, project):
    page.click("#submit-application")
    expect(page.locator("#app-status")).to_have_text("已提交")
    r.shot(page, f"org-submitted-{ORGS[project]['username']}")


def test_a_whole_annual_round(browser, browser_context_args, live_server, staff, clock, db, screenshot, tmp_path):
    r = Round(browser, browser_context_args, live_server, screenshot)
    try:
        play(r, staff, clock, db, tmp_path)
    finally:
        r.close()


def play(r: Round, staff, clock, db, tmp_path):
    from grants.applications.models import Application
    from grants.calls.models import Call

    # 1. The officer creates the call and publishes it.
    officer = r.login("round_officer")
    create_and_publish_call(r, officer)
    call_id = db.session.scalar(sa.select(Call.id).where(Call.title == CALL_TITLE))

    # 2. Three organisations register themselves; the officer verifies them.
    orgs = {project: register(r, project) for project in (A, B, C)}
    verify_organisations(r, officer)

    # 3. A and B apply in time; C saves a draft and tries to submit after the deadline.
    clock.set(bj(3, 10, 10))
    for project in (A, B, C):
        orgs[project].reload()
        start_application(r, orgs[project], project, tmp_path)
    for project in (A, B):
        submit_application(r, orgs[project], project)
    clock.set(bj(3, 20, 17, 0))  # 17:00:00 sharp is already too late
    orgs[C].click("#submit-application")
    expect(orgs[C].locator("main")).to_contain_text("申报已于 2026-03-20 17:00:00（北京时间）截止，不能再提交或修改。")
    r.shot(orgs[C], "org-c-refused-after-deadline")
    statuses = dict(db.session.execute(sa.select(Application.project_name, Application.status)).all())
    assert statuses == {A: "submitted", B: "submitted", C: "draft"}

    # 4. The officer screens both applications (C's draft is not in the list) and closes the call for review.
    clock.set(bj(3, 23, 9, 30))
    nav(officer, "创投活动")
    officer.get_by_role("link", name=CALL_TITLE).first.click()
    officer.get_by_role("link", name="申报与审查").click()
    listing = officer.locator("#application-list")
    expect(listing).to_contain_text(A)
    expect(listing).to_contain_text(B)
    expect(listing).not_to_contain_text(C)
    r.shot(officer, "officer-screening-list")
    list_url = officer.url
    for project in (A, B):
        listing.locator("a", has_text=project).first.click()
        officer.fill("#reason", "材料齐全，符合申报条件")
        officer.click("#screen-mark_eligible")
        expect(officer.locator("#app-status")).to_have_text("形式审查通过")
        if project == A:
            r.shot(officer, "officer-screened-eligible")
        officer.goto(list_url)
    expect(listing).to_contain_text("形式审查通过")
    nav(officer, "创投活动")
    officer.get_by_role("link", name=CALL_TITLE).first.click()
    officer.get_by_role("button", name="截止申报、进入评审").click()
    expect(officer.locator("main")).to_contain_text("评审中")
    r.shot(officer, "officer-call-closed-for-review")

    # 5. The officer invites the five experts of the pool to the panel and assigns each application to all five.
    nav(officer, "专家评审")
    officer.locator("#review-calls tr", has_text=CALL_TITLE).get_by_role("link", name="分配与进度").click()
    officer.locator("#review-tabs").get_by_role("link", name="评审组").click()
    for name, employer, _points in EXPERTS.values():
        officer.select_option("#expert_id", label=f"{name}（{employer}）")
        officer.click("#invite")
        flash(officer, "已邀请专家加入评审组")
    expect(officer.locator("#panel-list tbody tr")).to_have_count(5)
    r.shot(officer, "officer-panel")
    officer.locator("#review-tabs").get_by_role("link", name="分配与进度").click()
    officer.fill("#n", "5")
    officer.click("#auto-assign")
    flash(officer, "自动分配完成：新增 10 个评审任务")
    r.shot(officer, "officer-assignments")

    # 6. Each expert, in their own browser, declares no conflict of interest and scores both applications.
    clock.set(bj(3, 25, 14))
    for i, (username, (_name, _employer, points)) in enumerate(EXPERTS.items()):
        expert = r.login(username)
        nav(expert, "我的评审任务")
        tasks = expert.locator("#task-list")
        expect(tasks).to_contain_text("未声明")
        if i == 0:
            r.shot(expert, "expert-tasks")
        for project in (A, B):
            tasks.locator("tr", has_text=project).locator("a", has_text="声明并评分").click()
            expect(expert.locator("h1.page-title")).to_have_text("利益冲突声明")
            if i == 0 and project == A:
                r.shot(expert, "expert-declare")
            expert.check("input[name=has_conflict][value=no]")
            expert.click("#declare-submit")
            flash(expert, "已声明无利益冲突")
            inputs = expert.locator(".score-input")
            expect(inputs).to_have_count(5)
            for inp, p in zip(inputs.all(), points[project]):
                inp.fill(str(p))
            expert.fill("#overall_comment", COMMENT)
            expert.check("#rec-fund")
            expect(expert.locator("#live-total")).to_have_text(str(sum(points[project])))
            if i == 0 and project == A:
                r.shot(expert, "expert-score-form")
            expert.click("#submit-review")
            flash(expert, "评分已提交")
            expert.get_by_role("link", name="返回评审任务").click()
            expect(tasks.locator("tr", has_text=project)).to_contain_text("已提交")
        r.shot(expert, f"expert{i + 1}-done")

    # 7. The officer reads the ranking: A (mean 85.80) before B (79.60), five of five reviews each.
    nav(officer, "专家评审")
    row = officer.locator("#review-calls tr", has_text=CALL_TITLE)
    expect(row).to_contain_text("已提交 10 / 已分配 10")
    row.get_by_role("link", name="评分排序").click()
    rows = officer.locator("#ranking-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(A)
    expect(rows.nth(0)).to_contain_text("85.80")
    expect(rows.nth(1)).to_contain_text(B)
    expect(rows.nth(1)).to_contain_text("79.60")
    for i in (0, 1):
        expect(rows.nth(i)).to_contain_text("5/5")
    r.shot(officer, "officer-ranking")

    # 8. The officer drafts the awards; the second officer approves (four eyes); the officer publishes the 公示.
    clock.set(bj(4, 8, 10))  # Wednesday
    nav(officer, "立项公示")
    officer.locator("tr", has_text=CALL_TITLE).get_by_role("link", name="资助方案").click()
    officer.click("#propose-awards")
    flash(officer, "已按排名生成资助方案草案：2 个项目")
    expect(officer.locator("#award-table tr.table-success")).to_have_count(2)
    expect(officer.locator("#award-table")).to_contain_text("¥50,000.00")
    expect(officer.locator("#award-table")).to_contain_text("¥45,678.90")
    expect(officer.locator("#approval-problem")).to_contain_text("须由编制人以外")
    r.shot(officer, "officer-award-draft")
    chief = r.login("round_chief")
    nav(chief, "立项公示")
    chief.locator("tr", has_text=CALL_TITLE).get_by_role("link", name="资助方案").click()
    chief.click("#approve-awards")
    flash(chief, "资助方案已审批通过")
    period = "2026-04-09 至 2026-04-15"  # five working days from the next day
    expect(chief.locator("#publish-form")).to_contain_text(period)
    r.shot(chief, "chief-awards-approved")
    officer.reload()
    officer.click("#publish-notice")
    flash(officer, f"公示已发布：{period}")
    expect(officer.locator("#notice-period")).to_contain_text("公示未开始")  # objections from 9 April
    r.shot(officer, "officer-notice-published")
    clock.set(bj(4, 9, 9))
    officer.reload()
    expect(officer.locator("#notice-period")).to_contain_text("受理异议中")

    # 9. A visitor reads the notice and objects to B; the officer rejects the objection with a reason.
    visitor = r.open()
    visitor.goto(f"{r.base}/")
    visitor.click(f"a[href='/public/notices/{call_id}']")
    table = visitor.locator("#notice-table")
    expect(table).to_contain_text(A)
    expect(table).to_contain_text(B)
    expect(table).to_contain_text("¥45,678.90")
    r.shot(visitor, "visitor-notice")
    visitor.click("#file-objection")
    option = visitor.locator("#application_id option", has_text=B).get_attribute("value")
    visitor.select_option("#application_id", option)
    visitor.fill("#objector_name", "张先生")
    visitor.fill("#contact", "13912345678")
    visitor.fill("#content", "据了解该服务社的就业岗位多为短期岗位，申报材料中的就业成效与实际不符。")
    r.shot(visitor, "visitor-objection-form")
    visitor.click("#submit-objection")
    expect(visitor.locator("#objection-done")).to_be_visible()
    expect(visitor.locator("#receipt-no")).to_have_text(re.compile(r"^YY20260409-\w{6}$"))
    r.shot(visitor, "visitor-objection-filed")
    clock.set(bj(4, 10, 15))
    officer.reload()
    objection = officer.locator("[id^=objection-]", has_text="张先生")
    expect(objection).to_contain_text("待处理")
    form = objection.locator(".handle-form")
    form.locator("input[value=reject]").check()
    form.locator("textarea[name=reason]").fill("经实地核查，该服务社对接的岗位均签订一年以上劳动合同，异议不成立。")
    form.locator("button[type=submit]").click()
    flash(officer, "异议已处理")
    expect(objection).to_contain_text("异议不成立")
    expect(officer.locator("#finalize")).to_be_disabled()
    r.shot(officer, "officer-objection-rejected")

    # 10. Past the notice's five working days the officer finalizes.
    clock.set(bj(4, 16, 9))
    officer.reload()
    expect(officer.locator("#notice-period")).to_contain_text("公示期已结束")
    officer.click("#finalize")
    flash(officer, "已定项：2 个项目确认立项")
    r.shot(officer, "officer-finalized")

    # 11. Contracts: the officer makes and issues one per award; each organisation signs; the officer countersigns.
    clock.set(bj(4, 20, 10))
    numbers = {}
    for project in (A, B):
        nav(officer, "资助协议")
        waiting = officer.locator("#awards-waiting li", has_text=project)
        expect(waiting).to_contain_text(ORGS[project]["name"])
        if project == A:
            expect(officer.locator("#awards-waiting li")).to_have_count(2)
            r.shot(officer, "officer-awards-waiting")
        waiting.get_by_role("button", name="生成协议").click()
        flash(officer, "已生成协议草稿")
        officer.click("#contract-issue")
        expect(officer.locator("#contract-status")).to_have_text("待乙方签署")
        numbers[project] = officer.locator("main").inner_text().split("资助协议 ", 1)[1].split()[0]
    r.shot(officer, "officer-contract-issued")
    expected_tranches = {A: ("¥20,000.00", "¥15,000.00", "¥15,000.00"), B: ("¥18,271.56", "¥13,703.67", "¥13,703.67")}
    for project in (A, B):
        page = orgs[project]
        nav(page, "我的协议")
        page.locator("#my-contracts a", has_text=project).click()
        for seq, amount in enumerate(expected_tranches[project], start=1):
            expect(page.locator(f"#tranche-{seq}")).to_contain_text(amount)
        page.click("#contract-sign")
        page.fill("input[name=signer_name]", ORGS[project]["admin"])
        page.fill("input[name=signer_title]", "理事长")
        if project == A:
            r.shot(page, "org-sign-form")
        page.click("#sign-submit")
        expect(page.locator("#contract-status")).to_have_text("乙方已签署")
        r.shot(page, f"org-signed-{ORGS[project]['username']}")
    for project in (A, B):
        nav(officer, "资助协议")
        officer.locator("#contracts-table tr", has_text=project).get_by_role("link").first.click()
        officer.click("#contract-countersign")
        expect(officer.locator("#contract-status")).to_have_text("履行中")
        expect(officer.locator("#tranche-1")).to_contain_text("待拨付")
    r.shot(officer, "officer-contract-countersigned")

    # 12. Finance: A approves both first tranches, B (another person) releases them.
    finance_a, finance_b = r.login("round_finance_a"), r.login("round_finance_b")
    first = {A: "¥20,000.00", B: "¥18,271.56"}
    pay(r, finance_a, finance_b, first, "first", "2026-04-20", "JSB2026042000")

    # 13. Mid-term: both organisations report; the officer accepts and assigns the evaluator; the evaluator scores
    # A 91 (优秀, 100 %) and B 65 (合格, 80 %).
    clock.set(bj(8, 20, 10))
    for project in (A, B):
        page = orgs[project]
        nav(page, "我的协议")
        page.locator("#my-contracts a", has_text=project).click()
        expect(page.locator("#tranche-1")).to_contain_text("已支付")
        page.click("#report-2")
        page.fill("input[name=achieved-service_sessions]", str(int(PROPOSALS[project]["sessions"]) // 2))
        page.fill("input[name=achieved-beneficiaries]", PROPOSALS[project]["beneficiaries"])
        page.fill("#narrative", "上半年按计划开展服务，组建志愿者队伍，完成阶段性绩效目标。")
        for box in page.locator("input[name^=spent-]").all():
            box.fill("5000")
        page.set_input_files("#evidence", files=[{"name": "活动照片.png", "mimeType": "image/png", "buffer": cf.PNG}])
        if project == A:
            r.shot(page, "org-midterm-report")
        page.click("#report-submit")
        expect(page.locator("main")).to_contain_text("报告已提交")
        r.shot(page, f"org-report-submitted-{ORGS[project]['username']}")
    evaluator_id = str(staff["round_evaluator"].id)
    for project in (A, B):
        nav(officer, "资助协议")
        officer.locator("#contracts-table tr", has_text=project).get_by_role("link").first.click()
        officer.locator("#tranche-2").get_by_text("中期报告").first.click()
        officer.select_option("select[name=evaluator_id]", evaluator_id)
        if project == A:
            r.shot(officer, "officer-accept-report")
        officer.click("#accept-submit")
        expect(officer.locator("main")).to_contain_text("已指派评估人员")
    clock.set(bj(8, 25, 15))
    evaluator = r.login("round_evaluator")
    results = {A: ("91", "优秀", "100"), B: ("65", "合格", "80")}
    for project in (A, B):
        nav(evaluator, "我的评估任务")
        evaluator.locator("#my-assessments a", has_text=project).click()
        for box, value in zip(evaluator.locator("input[name^=points-]").all(), ASSESSMENT[project]):
            box.fill(value)
        evaluator.fill("#satisfaction_pct", "90" if project == A else "82")
        evaluator.fill("#comment", "服务台账完整，成效明显。" if project == A else "服务人次未达进度，须加强志愿者管理。")
        r.shot(evaluator, f"evaluator-scoring-{ORGS[project]['username']}")
        evaluator.click("#score-submit")
        result = evaluator.locator("#assessment-result")
        for text in results[project]:
            expect(result).to_contain_text(text)
        r.shot(evaluator, f"evaluator-done-{ORGS[project]['username']}")

    # 14. Finance releases the second payments: A in full, B reduced to 80 % (¥2,740.73 withheld).
    clock.set(bj(8, 27, 10))
    second = {A: "¥15,000.00", B: "¥10,962.94"}
    pay(r, finance_a, finance_b, second, "second", "2026-08-27", "JSB2026082700")
    page = orgs[B]
    nav(page, "我的协议")
    page.locator("#my-contracts a", has_text=B).click()
    t2 = page.locator("#tranche-2")
    expect(t2).to_contain_text("¥13,703.67")
    expect(t2).to_contain_text("¥10,962.94")
    expect(t2).to_contain_text("合格")
    expect(t2).to_contain_text("按 80% 拨付，扣减 ¥2,740.73")
    expect(page.locator("#tranche-schedule tfoot")).to_contain_text("¥29,234.50")  # 18,271.56 + 10,962.94
    r.shot(page, "org-b-paid-and-reduced")

    # 15. A week before the final reports are due (end of 31 December), one reminder pass: exactly one
    # "report due in 7 days" reminder to each funded organisation's administrator, nothing else to anybody.
    from grants.accounts.models import User
    from grants.reminders.jobs import run_pass
    from grants.reminders.models import Delivery

    # The reports are due by the end of 31 December (1 January 00:00 Beijing time): the "7 days" moment is
    # 25 December 00:00, and the scheduler's pass a minute later sends it (on time, not as a late 补发).
    clock.set(bj(12, 25, 0, 1))
    unread = {project: unread_count(orgs[project]) for project in (A, B, C)}
    result = run_pass()
    assert not result.errors, result.errors
    sent = db.session.execute(sa.select(Delivery.rule, User.username, Delivery.occurrence, Delivery.late)
                              .join(User, User.id == Delivery.recipient_id)
                              .where(Delivery.channel == "in_app").order_by(User.username)).all()
    assert [tuple(row) for row in sent] == [("report_due", "leling", "7d@202612311600", False),
                                            ("report_due", "zhucan", "7d@202612311600", False)]
    for project in (A, B):
        page = orgs[project]
        page.reload()
        expect(page.locator("#nav-unread")).to_have_text(str(unread[project] + 1))
        page.click("#nav-bell")
        reminder = page.locator("main .list-group-item", has_text="进度报告即将截止")
        expect(reminder).to_have_count(1)
        expect(reminder).to_contain_text(f"进度报告即将截止：{project}")
        expect(reminder).to_contain_text(f"项目“{project}”的尾款报告须在 2026-12-31 前提交")
        expect(reminder).not_to_contain_text("补发")
        r.shot(page, f"org-inbox-{ORGS[project]['username']}")
    assert unread_count(orgs[C]) == unread[C]  # the refused organisation is not reminded of anything

    # 15b. Every hand-off reached the new organisation: its inbox holds the receipt with the application number,
    # the screening result, the 拟资助 notice with the amount, the contract notices and the payment notice, and
    # its SMS outbox the short SMS versions of each (no SMS provider is configured: they wait in the outbox).
    from grants.reminders.models import OutboxSms

    page = orgs[A]
    page.goto(f"{r.base}/notifications")
    inbox = page.locator("main")
    number = db.session.scalar(sa.select(Application.number).where(Application.project_name == A))
    for title, body in ((f"申报已受理：{A}", f"申报编号：{number}"), (f"形式审查通过：{A}", number),
                        (f"拟资助：{A} 拟获资助 ¥50,000.00", "公示页面"), (f"资助协议待签署：{A}", "¥50,000.00"),
                        (f"资助协议已生效：{A}", "首期款"), (f"拨款已支付：{A} ¥20,000.00", "已于")):
        item = inbox.locator(".list-group-item", has_text=title).first
        expect(item).to_be_visible()
        expect(item).to_contain_text(body)
    r.shot(page, "org-inbox-every-hand-off")
    texts = dict(db.session.execute(sa.select(OutboxSms.kind, OutboxSms.text)
                                    .where(OutboxSms.to_mobile == ORGS[A]["mobile"])).all())
    assert f"您的申报“{A}”已提交，编号{number}。" == texts["application_received"]
    assert texts["screening_passed"] == f"您的申报{number}已通过形式审查。"
    assert texts["award_proposed"].startswith(f"您的项目“{A}”拟获资助¥50,000.00")
    assert texts["contract_issued"].startswith("资助协议") and texts["contract_active"].endswith("首期款进入拨付流程。")
    assert "payment_released" in texts and "¥" in texts["payment_released"]
    assert "verification_code" in texts  # the code sent at registration

    # 16. The programme dashboard (统计): two applications received (C's late draft never was), both eligible and
    # funded; awarded ¥95,678.90, paid ¥64,234.50, withheld by the assessment ¥2,740.73.
    nav(officer, "统计")
    for card, value in (("received", "2"), ("eligible", "2"), ("funded", "2"), ("orgs-funded", "2")):
        expect(officer.locator(f"#card-{card} .num")).to_have_text(value)
    for card, amount in (("requested", "¥95,678.90"), ("awarded", "¥95,678.90"), ("paid", "¥64,234.50"),
                         ("withheld", "¥2,740.73"), ("net-paid", "¥64,234.50")):
        expect(officer.locator(f"#card-{card}")).to_have_attribute("title", amount)
    expect(officer.locator("#dash-headline")).to_contain_text("共收到 2 份申报，立项资助 2 个项目")
    r.shot(officer, "officer-dashboard")

    # 17. The public disclosure page (信息公开): both funded projects with the amounts awarded and paid.
    public = r.open()
    public.goto(f"{r.base}/")
    public.click("#nav-disclosure")
    public.get_by_role("link", name=CALL_TITLE).first.click()
    rows = public.locator("#project-table tbody tr")
    expect(rows).to_have_count(2)
    for project, awarded, paid in ((A, "¥50,000.00", "¥35,000.00"), (B, "¥45,678.90", "¥29,234.50")):
        row = rows.filter(has_text=project)
        expect(row).to_contain_text(ORGS[project]["name"])
        expect(row.locator("td.money").nth(0)).to_have_text(awarded)
        expect(row.locator("td.money").nth(1)).to_have_text(paid)
        expect(row).to_contain_text("实施中")
    expect(public.locator("#project-table")).not_to_contain_text(C)
    totals = public.locator("#call-totals")
    expect(totals).to_contain_text("¥95,678.90")
    expect(totals).to_contain_text("¥64,234.50")
    r.shot(public, "public-disclosure")


def unread_count(page) -> int:
    """The number on the bell (no badge when nothing is unread)."""
    page.reload()
    badge = page.locator("#nav-unread")
    return int(badge.inner_text()) if badge.count() else 0


def pay(r: Round, finance_a, finance_b, amounts: dict, label: str, released_on: str, reference: str):
    """Finance user A approves each payment from the queue; user B releases it with the bank reference."""
    for i, (project, amount) in enumerate(amounts.items()):
        nav(finance_a, "拨款")
        row = finance_a.locator("#payment-queue tr", has_text=project)
        expect(row).to_contain_text(amount)
        if i == 0:
            r.shot(finance_a, f"finance-a-queue-{label}")
        row.get_by_role("link", name="办理").click()
        expect(finance_a.locator("#payment-amount")).to_have_text(amount)
        finance_a.click("#approve-button")
        expect(finance_a.locator("main")).to_contain_text("已审核通过")
        expect(finance_a.locator("#release-button")).to_have_count(0)
        if i == 0:
            r.shot(finance_a, f"finance-a-approved-{label}")
        nav(finance_b, "拨款")
        finance_b.locator("#payment-queue tr", has_text=project).get_by_role("link", name="办理").click()
        finance_b.fill("#bank_reference", f"{reference}{i + 1:02d}")
        finance_b.fill("#released_on", released_on)
        finance_b.click("#release-button")
        expect(finance_b.locator("#payment-status")).to_have_text("已支付")
        r.shot(finance_b, f"finance-b-released-{label}-{i + 1}")
