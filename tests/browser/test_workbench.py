"""The workbench (工作台) and the navigation by stage in Chromium: one line at 1366 px with the to-do badges, menus
that open, and the folded bar on a phone; a screenshot of each role's workbench at both sizes."""
import pytest

from grants.demo import DEMO_PASSWORD, load_demo
from tests.browser.conftest import login, nav_click

ROLES = ["officer", "officer2", "officer_cc", "expert", "evaluator", "finance", "finance2", "auditor", "applicant",
         "applicant4", "admin"]


@pytest.fixture()
def demo(db):
    load_demo()
    db.session.commit()


def _tops(page) -> list[float]:
    return [page.locator(sel).bounding_box()["y"] for sel in
            ["a.navbar-brand", "#nav-workbench", "#user-menu", *[
                f"#nav-menu-{key}" for key in page.eval_on_selector_all(
                    "#nav-menus li.dropdown", "els => els.map(e => e.dataset.menu)")]]]


@pytest.mark.parametrize("username", ROLES)
def test_workbench_desktop_and_phone(page, live_server, demo, screenshot, username):
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, live_server, username, DEMO_PASSWORD)
    page.goto(f"{live_server}/workbench")
    # One line: the navbar is one row high and every entry sits on the same row.
    height = page.locator("nav.navbar").bounding_box()["height"]
    assert height < 70, height
    tops = _tops(page)
    assert max(tops) - min(tops) < 12, tops
    assert page.locator("#todo-counts").count() == (0 if username == "auditor" else 1)
    screenshot(page, f"workbench-{username}-desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.locator(".navbar-toggler").is_visible()
    assert not page.locator("#nav-menus").is_visible()
    screenshot(page, f"workbench-{username}-phone")
    page.click(".navbar-toggler")
    page.wait_for_selector("#mainnav.show")
    page.wait_for_timeout(400)  # the collapse animation
    first = page.locator("#nav-menus li.dropdown a.dropdown-toggle").first
    first.click()
    assert page.locator("#nav-menus .dropdown-menu.show").is_visible()
    screenshot(page, f"workbench-{username}-phone-menu", full_page=False)


def test_badges_and_menus_lead_to_the_work(page, live_server, demo, screenshot):
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, live_server, "officer", DEMO_PASSWORD)
    badge = page.locator("#nav-badge-apply")
    assert badge.is_visible() and int(badge.inner_text()) >= 5  # 1 organisation + the submitted applications
    total = int(page.locator("#nav-badge-total").inner_text())
    assert total == int(page.locator("#todo-total").inner_text())
    page.click("#nav-menu-apply")
    menu = page.locator("#nav-menus .dropdown-menu.show")
    assert menu.is_visible() and menu.locator("a.dropdown-item", has_text="申报审查").is_visible()
    screenshot(page, "workbench-officer-menu-open", full_page=False)
    page.keyboard.press("Escape")
    # A to-do opens the item where it is handled.
    page.locator("#todo-to_screen .list-group-item a").first.click()
    page.wait_for_load_state("networkidle")
    assert "/applications/" in page.url and page.locator("#screen-mark_eligible").is_visible()
    nav_click(page, "协议与拨款", "资助协议")
    assert page.url.endswith("/contracts")
