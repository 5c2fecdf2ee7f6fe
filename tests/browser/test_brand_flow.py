"""Brand projects in the browser: the officer opens a selection, nominates, an organisation puts itself
forward, experts declare and score (one on a phone), the officer confirms and publishes, and the winner is
marked on the organisation record and the contract page."""
from __future__ import annotations

import pytest

from tests import factories
from tests.brand import factories as bf
from tests.browser.conftest import login, nav_click
from tests.contracts import factories as cf

PROJECTS = [("银龄互助·幸福邻里", "阳光为老服务中心"), ("社区儿童四点半课堂", "青少年成长服务社"),
            ("邻里议事会", "和平桥社区发展协会")]
POINTS = {"br_expert_a": [(38, 28, 27), (30, 22, 20), (34, 25, 26)],
          "br_expert_b": [(36, 27, 28), (28, 20, 18), (35, 26, 22)]}


@pytest.fixture()
def brand_world(app, db):
    with app.test_request_context():
        unit = factories.host_unit(name="南通市崇川区民政局")
        officer = factories.user(roles=("officer",), unit=unit, username="br_officer")
        call = cf.call(unit, title="2025年崇川区公益创投大赛", year=2025)
        contracts = [bf.completed_contract(call, factories.organization(name=o), name=p) for p, o in PROJECTS]
        org_admin = factories.member(contracts[2].organization, username="br_org")
        experts = [bf.expert(username=u, employer="南通大学") for u in POINTS]
        db.session.commit()
    return officer, contracts, org_admin, experts


def _go(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _click(page, selector):
    page.click(selector)
    page.wait_for_load_state("networkidle")


def test_brand_selection_in_the_browser(page, live_server, brand_world, screenshot, browser):
    officer, contracts, org_admin, experts = brand_world
    base = live_server
    page.on("dialog", lambda d: d.accept())

    login(page, base, "br_officer", factories.PASSWORD)
    nav_click(page, None, "品牌项目")
    page.wait_for_load_state("networkidle")
    _click(page, "#selection-new")
    page.fill("#title", "2025年度崇川区公益创投品牌项目")
    page.fill("#year", "2025")
    page.fill("#winners_count", "1")
    page.fill("#scoring_deadline_at", "2029-12-31T17:00")
    page.fill("#criteria", "项目成效 40\n社会影响 30\n创新性 30")
    screenshot(page, "brand-officer-new")
    _click(page, "#selection-save")
    assert "已创建品牌项目评选" in page.content()
    _click(page, "#action-open_nominations")
    for c in contracts[:2]:
        page.select_option("#contract_id", str(c.id))
        page.fill("#reason", f"{c.project_name}：服务对象满意度高，结项评估优秀。")
        _click(page, "#nominate")
    for e in experts:
        page.select_option("#expert_id", str(e.id))
        _click(page, "#invite")
    screenshot(page, "brand-officer-nominating")
    page.context.clear_cookies()

    login(page, base, "br_org", factories.PASSWORD)
    nav_click(page, None, "品牌项目")
    page.wait_for_load_state("networkidle")
    page.fill("textarea[name=reason]", "议事会模式已推广到五个社区，居民提案落地 37 项。")
    screenshot(page, "brand-org-put-forward")
    page.click("form[id^=put-forward] button")
    page.wait_for_load_state("networkidle")
    assert "自荐已提交" in page.content()
    page.context.clear_cookies()

    login(page, base, "br_officer", factories.PASSWORD)
    _go(page, f"{base}/brand/")
    screenshot(page, "brand-officer-index")
    page.click("#selection-list a")
    page.wait_for_load_state("networkidle")
    page.click("#nomination-list button:has-text('采纳')")
    page.wait_for_load_state("networkidle")
    _click(page, "#action-start_scoring")
    assert "专家评审中" in page.content()
    selection_url = page.url
    page.context.clear_cookies()

    for username, points in POINTS.items():
        phone = username == "br_expert_b"
        p = browser.new_page(viewport={"width": 390, "height": 844}) if phone else page
        p.on("dialog", lambda d: d.accept())
        login(p, base, username, factories.PASSWORD)
        _go(p, f"{base}/brand/tasks")
        screenshot(p, f"brand-expert-tasks{'-phone' if phone else ''}")
        for i, row in enumerate(points):
            _go(p, f"{base}/brand/tasks")
            p.locator("#brand-task-list a", has_text="声明并评分").first.click()
            p.wait_for_load_state("networkidle")
            p.check("input[name=has_conflict][value=no]")
            _click(p, "#declare-submit")
            for inp, v in zip(p.locator(".score-input").all(), row):
                inp.fill(str(v))
            p.fill("#comment", "成效数据扎实，模式可复制。")
            assert p.locator("#live-total").inner_text() == str(sum(row))
            if i == 0:
                screenshot(p, f"brand-expert-score{'-phone' if phone else ''}")
            _click(p, "#submit-review")
            assert "评分已提交" in p.content()
        _go(p, f"{base}/brand/tasks")
        assert p.content().count('text-bg-success">已提交') == 3
        if phone:
            p.close()
        else:
            page.context.clear_cookies()

    login(page, base, "br_officer", factories.PASSWORD)
    _go(page, selection_url)
    rows = page.locator("#ranking-table tbody tr")
    assert "银龄互助" in rows.nth(0).inner_text() and "邻里议事会" in rows.nth(1).inner_text()
    screenshot(page, "brand-officer-ranking")
    page.fill("#note", "按评分排名确定。")
    _click(page, "#decide")
    _click(page, "#action-publish")
    assert "已公布" in page.content()
    screenshot(page, "brand-officer-published")
    _go(page, f"{base}/organizations/{contracts[0].organization_id}")
    assert page.locator("#org-projects .brand-badge").count() == 1
    screenshot(page, "brand-organization-record")
    _go(page, f"{base}/contracts/{contracts[0].id}")
    assert page.locator("h1 .brand-badge").count() == 1
    screenshot(page, "brand-contract-badge", full_page=False)
    _go(page, f"{base}/organizations/{contracts[0].organization_id}/record")
    assert page.locator(".brand-badge:visible").count() == 1  # the phone cards hold it too, hidden
    screenshot(page, "brand-organization-history")

    # The public disclosure pages mark the winner, for anyone.
    page.context.clear_cookies()
    _go(page, f"{base}/disclosure/{contracts[0].call_id}")
    assert page.locator(f"#project-{contracts[0].award_id} .brand-badge").count() >= 1
    assert page.locator(f"#project-{contracts[1].award_id} .brand-badge").count() == 0
    screenshot(page, "brand-disclosure-call")
    _go(page, f"{base}/disclosure/projects/{contracts[0].award_id}")
    assert page.locator("h1 ~ .brand-badge, .brand-badge").count() == 1
    screenshot(page, "brand-disclosure-project", full_page=False)
