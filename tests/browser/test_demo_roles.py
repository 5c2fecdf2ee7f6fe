"""Log in as each demo role in Chromium and keep a screenshot of what they see first."""
import pytest

from grants.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from tests.browser.conftest import login

ROLE_USERS = [(u[0], sorted(u[2])[0]) for u in DEMO_USERS] + [("applicant", "applicant")]


@pytest.fixture()
def demo(db):
    load_demo()
    db.session.commit()


@pytest.mark.parametrize("username,role", ROLE_USERS)
def test_each_demo_role_logs_in(page, live_server, demo, screenshot, username, role):
    login(page, live_server, username, DEMO_PASSWORD)
    assert page.url.endswith("/workbench"), page.url
    assert page.locator("#user-menu").is_visible()
    screenshot(page, f"foundation-login-{username}")


def test_wrong_password_shows_chinese_message(page, live_server, demo, screenshot):
    login(page, live_server, "officer", "wrong-password")
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()
    screenshot(page, "foundation-login-failed")


def test_phone_width_navigation(page, live_server, demo, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "applicant", DEMO_PASSWORD)
    page.click(".navbar-toggler")
    page.wait_for_selector("#mainnav.show")
    page.click("#nav-menu-apply")
    assert page.locator("#mainnav .dropdown-menu").locator("a.dropdown-item", has_text="本组织").is_visible()
    screenshot(page, "foundation-phone-applicant")
