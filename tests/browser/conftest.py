"""Browser tests: the app served from a thread, driven by Playwright in Debian's Chromium.

Screenshots go to screenshots/ (or $SCREENSHOT_DIR; look at them). Without Chromium the tests skip locally
with a hint; in CI (CI=true) they fail instead.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import skip_or_fail

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Not under test-results/: pytest-playwright empties that folder at the start of every run.
SCREENS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "screenshots")
WANT_SCREENSHOTS = os.environ.get("SCREENSHOTS") == "1" or bool(os.environ.get("SCREENSHOT_DIR"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        skip_or_fail("Chromium not found: `apt-get install chromium` (make test installs it) or set CHROMIUM_PATH")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Every browser test runs with the app's Content-Security-Policy on and fails if the page broke it (a refused
    script, style or image shows as a console error) or threw a script error."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    request.node.csp_problems = problems  # a test that provokes a violation on purpose reads and clears it
    yield
    assert not problems, "the page broke the Content-Security-Policy or threw:\n" + "\n".join(problems)


@pytest.fixture()
def live_server(app, db):
    """The app on 127.0.0.1:<free port>, sharing the test database; yields its base URL."""
    app.config["WTF_CSRF_ENABLED"] = True  # real forms carry real tokens
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture()
def screenshot():
    """screenshot(page, "name") saves screenshots/name.png (full page) when screenshots are wanted
    (SCREENSHOTS=1 or SCREENSHOT_DIR set) — a full-page capture costs about a second, so the everyday run
    takes none; a failing test is captured anyway (pytest-playwright's --screenshot=only-on-failure)."""
    SCREENS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str, full_page: bool = True) -> Path:
        path = SCREENS / f"{name}.png"
        if WANT_SCREENSHOTS:
            page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot


def login(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    second_factor(page, username)


def second_factor(page, username: str) -> None:
    """Finance and admin users give the code of their authenticator app, computed here from the secret; one who
    has not enrolled yet (as the demo's at their first log-in) enrols from the page's secret."""
    import pyotp

    if page.url.endswith("/login/2fa"):
        import sqlalchemy as sa

        from grants.accounts.models import User
        from grants.extensions import db
        from tests.factories import totp_code

        db.session.expire_all()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        page.fill("input[name=code]", totp_code(user))
        page.click("#two-factor-submit")
        page.wait_for_load_state("networkidle")
    elif page.url.endswith("/account/2fa") and page.locator("#totp-secret").count():
        secret = page.inner_text("#totp-secret").strip()
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("#two-factor-enable")
        page.wait_for_selector("#recovery-codes")
        page.click("#recovery-codes-done")
        page.wait_for_load_state("networkidle")


@pytest.fixture(autouse=True)
def accept_confirmations(request, monkeypatch):
    """Irreversible and public actions ask `window.confirm` first (data-confirm, static/js/app.js). Playwright
    dismisses a dialog nobody handles, so every page — the `page` fixture's and any a test opens — accepts them,
    unless the test listens for dialogs itself (page.on / page.once("dialog", …)): then the test decides."""
    from playwright.sync_api import Browser, BrowserContext, Page

    original_on, original_once = Page.on, Page.once

    def watch(page):
        if getattr(page, "_accepts_confirmations", False):
            return page
        page._accepts_confirmations = True

        def accept(dialog):  # a listener must answer every dialog (beforeunload too) or the page waits forever
            if not getattr(page, "_test_handles_dialogs", False):
                dialog.accept()
        original_on(page, "dialog", accept)
        return page

    def own(original):
        def wrapper(self, event, f):
            if event == "dialog":
                self._test_handles_dialogs = True
            return original(self, event, f)
        return wrapper

    monkeypatch.setattr(Page, "on", own(original_on))
    monkeypatch.setattr(Page, "once", own(original_once))
    for cls in (Browser, BrowserContext):
        original_new_page = cls.new_page

        def new_page(self, *args, _original=original_new_page, **kwargs):
            return watch(_original(self, *args, **kwargs))
        monkeypatch.setattr(cls, "new_page", new_page)
    if "page" in request.fixturenames:
        watch(request.getfixturevalue("page"))
    yield


def nav_click(page, menu: str | None, link: str) -> None:
    """Click the navigation entry `link` in the menu `menu` (征集与申报, 评审与立项 …; None: whichever menu holds
    it), unfolding the bar first on a phone."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible() and not page.locator("#mainnav.show").count():
        toggler.click()
        page.wait_for_selector("#mainnav.show")
    nav = page.locator("#mainnav")
    # By its text (the accessible name would include the icon font's glyph): the whole label, not a part of it.
    entry = nav.locator(".dropdown-menu a.dropdown-item").filter(
        has_text=re.compile(rf"^\s*{re.escape(link)}\s*$")).first
    if menu is None:
        toggle = entry.locator("xpath=ancestor::li[contains(@class, 'dropdown')][1]/a[contains(@class, 'dropdown-toggle')]")
    else:
        toggle = nav.locator("a.dropdown-toggle", has_text=menu).first
    if not entry.is_visible():
        toggle.click()
    entry.click()
    page.wait_for_load_state("networkidle")
