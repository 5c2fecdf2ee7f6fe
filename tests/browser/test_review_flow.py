"""Expert review in the browser: the officer assigns, experts declare no conflict and score through the
pages (one on a phone), the officer sees the ranking with the tie-break explained."""
from __future__ import annotations

import re

import pytest

from tests import factories
from tests.browser.conftest import nav_click, login
from tests.reviews import factories as rf

POINTS = {
    "rv_expert_a": [[18, 26, 17, 13, 12], [15, 22, 15, 11, 10], [12, 20, 13, 10, 9]],
    "rv_expert_b": [[17, 27, 18, 12, 13], [16, 23, 14, 12, 11], [10, 15, 10, 8, 7]],
}


@pytest.fixture()
def review_world(db):
    call = rf.review_call(status="published", title="2026年崇川区公益创投大赛", show_other_scores=True)
    officer = factories.user(roles=("officer",), unit=call.host_unit, username="rv_officer")
    experts = [rf.expert(username=u, specialties=["为老服务"], employer="南通大学") for u in POINTS]
    names = ["银龄互助·幸福邻里", "残障青年就业赋能", "社区儿童四点半课堂"]
    orgs = ["阳光为老服务中心", "助残志愿者协会", "青少年成长服务社"]
    apps = [rf.eligible_application(call, factories.organization(name=o)) for o in orgs]
    for a, n in zip(apps, names):
        a.project_name = n
    for e in experts:
        rf.panel_member(call, e)
    db.session.commit()
    return call, officer, experts, apps


def _score_all_tasks(page, base, username, screenshot, prefix: str):
    login(page, base, username, factories.PASSWORD)
    page.goto(f"{base}/reviews/tasks")
    screenshot(page, f"{prefix}-expert-tasks")
    for i, points in enumerate(POINTS[username]):
        page.goto(f"{base}/reviews/tasks")
        page.locator("#task-list a", has_text="声明并评分").first.click()
        page.wait_for_load_state("networkidle")
        assert "利益冲突声明" in page.content()
        if i == 0:
            screenshot(page, f"{prefix}-declare")
        page.check("input[name=has_conflict][value=no]")
        page.click("#declare-submit")
        page.wait_for_load_state("networkidle")
        assert "评分表" in page.content()
        for inp, p in zip(page.locator(".score-input").all(), points):
            inp.fill(str(p))
        page.fill("#overall_comment", "需求分析扎实，活动设计可行，预算基本合理。")
        page.check("#rec-fund" if sum(points) >= 60 else "#rec-reject")
        assert page.locator("#live-total").inner_text() == str(sum(points))
        if i == 0:
            screenshot(page, f"{prefix}-score-form")
        page.click("#submit-review")
        page.wait_for_load_state("networkidle")
        assert "评分已提交" in page.content()
    screenshot(page, f"{prefix}-submitted")
    page.goto(f"{base}/reviews/tasks")
    assert page.content().count("已提交") >= 3
    screenshot(page, f"{prefix}-expert-tasks-done")
    page.context.clear_cookies()  # log out (the menu is folded away on a phone)


def test_experts_score_and_officer_ranks(page, live_server, review_world, screenshot, db):
    call, officer, experts, apps = review_world
    page.on("dialog", lambda d: d.accept())
    login(page, live_server, "rv_officer", factories.PASSWORD)
    nav_click(page, "评审与立项", "专家评审")
    page.locator("#review-calls a", has_text="分配与进度").first.click()
    page.wait_for_load_state("networkidle")
    page.fill("#n", "2")
    page.click("#auto-assign")
    page.wait_for_load_state("networkidle")
    assert "自动分配完成：新增 6 个评审任务" in page.content()
    screenshot(page, "review-officer-assignments")
    page.context.clear_cookies()  # log out (the menu is folded away on a phone)

    _score_all_tasks(page, live_server, "rv_expert_a", screenshot, "review")
    page.set_viewport_size({"width": 390, "height": 844})
    _score_all_tasks(page, live_server, "rv_expert_b", screenshot, "review-phone")  # sees expert A's scores
    page.set_viewport_size({"width": 1280, "height": 860})

    login(page, live_server, "rv_officer", factories.PASSWORD)
    page.goto(f"{live_server}/reviews/calls/{call.id}/assignments")
    screenshot(page, "review-officer-progress")
    page.click("text=评分排序")
    page.wait_for_load_state("networkidle")
    html = page.content()
    assert "同分时依次比较" in html
    rows = page.locator("#ranking-table tbody tr").all_inner_texts()
    assert [re.split(r"\s+", r.strip())[0] for r in rows] == ["1", "2", "3"]
    assert "银龄互助·幸福邻里" in rows[0] and "86.50" in rows[0]   # (86 + 87) / 2
    assert "社区儿童四点半课堂" in rows[2]
    assert "分歧较大" not in rows[0]
    screenshot(page, "review-officer-ranking")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "review-officer-ranking-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The officer reopens one review with a reason; the application is under review again.
    page.goto(f"{live_server}/reviews/calls/{call.id}/assignments")
    page.locator("#assignment-list a", has_text="已提交").first.click()
    page.wait_for_load_state("networkidle")
    page.fill("#reason", "预算合理性评分与意见不一致，请复核")
    screenshot(page, "review-officer-review-detail")
    page.click("#reopen")
    page.wait_for_load_state("networkidle")
    assert "已退回该评分" in page.content() and page.locator("#review-status").inner_text() == "草稿"
    page.goto(f"{live_server}/audit?action=review.reopen")
    assert "review.reopen" in page.content()


def test_officer_keeps_the_pool_panel_and_conflicts(page, live_server, review_world, screenshot, db):
    call, officer, experts, apps = review_world
    page.on("dialog", lambda d: d.accept())
    login(page, live_server, "rv_officer", factories.PASSWORD)
    page.goto(f"{live_server}/reviews/experts")
    page.click("#new-expert")
    page.fill("#display_name", "周研究员")
    page.fill("#username", "zhou_expert")
    page.fill("#password", "Zhou-Yanjiu-2026")
    page.fill("#specialties", "助残服务、社区治理")
    page.fill("#employer", "南通市社科院")
    page.fill("#affiliated_organization", "不存在的组织")
    page.click("#save-expert")
    page.wait_for_load_state("networkidle")
    assert "没有找到名称或代码为“不存在的组织”的社会组织" in page.content()
    assert page.input_value("#specialties") == "助残服务、社区治理"  # nothing typed is lost
    screenshot(page, "review-expert-form-error")
    page.fill("#affiliated_organization", "助残志愿者协会")
    page.fill("#password", "Zhou-Yanjiu-2026")
    page.click("#save-expert")
    page.wait_for_load_state("networkidle")
    assert "已将 周研究员 加入专家库" in page.content()
    screenshot(page, "review-expert-pool")

    page.goto(f"{live_server}/reviews/calls/{call.id}/panel")
    page.select_option("#expert_id", label="周研究员（南通市社科院）")
    page.click("#invite")
    page.wait_for_load_state("networkidle")
    assert "已邀请专家加入评审组" in page.content()
    screenshot(page, "review-panel")

    page.goto(f"{live_server}/reviews/calls/{call.id}/conflicts")
    page.click("#detect-conflicts")
    page.wait_for_load_state("networkidle")
    assert "专家关联该申报组织" in page.content()   # 周研究员 ↔ 助残志愿者协会
    page.select_option("#application_id", index=0)
    page.select_option("#expert_id", index=0)
    page.fill("#reason", "其配偶在该组织任理事")
    page.click("#set-conflict")
    page.wait_for_load_state("networkidle")
    assert "其配偶在该组织任理事" in page.content() and "主管设定" in page.content()
    screenshot(page, "review-conflicts")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "review-conflicts-phone")
