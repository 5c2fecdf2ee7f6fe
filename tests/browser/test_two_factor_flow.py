"""Two-factor authentication in Chromium, with the CSP on: a finance user enrols at the first log-in (QR code drawn
as SVG on the page, code computed from the secret), logs in again with a code, then with a recovery code."""
import pyotp

from tests import factories


def _password(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def _logout(page):
    page.click("#user-menu")
    page.click("text=退出登录")
    page.wait_for_load_state("networkidle")


def test_enrol_log_in_with_a_code_and_with_a_recovery_code(page, live_server, db, screenshot):
    user = factories.user(roles=("finance",), username="caiwu_zhou", two_factor=False)
    db.session.commit()
    _password(page, live_server, user.username)
    assert page.url.endswith("/account/2fa")
    assert page.locator("#two-factor-required").is_visible()
    qr = page.locator("#totp-qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 150
    # Every other page sends the user back here until enrolment is done.
    page.goto(f"{live_server}/payments")
    assert page.url.endswith("/account/2fa")
    screenshot(page, "two-factor-enrol")
    secret = page.inner_text("#totp-secret").strip()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")  # base32
    page.fill("input[name=code]", "000000")
    page.click("#two-factor-enable")
    assert "验证码不正确" in page.content()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("#two-factor-enable")
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "two-factor-recovery-codes")
    page.click("#recovery-codes-done")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/workbench")

    _logout(page)
    _password(page, live_server, user.username)
    assert page.url.endswith("/login/2fa")
    screenshot(page, "two-factor-login")
    db.session.expire_all()
    page.fill("input[name=code]", factories.totp_code(db.session.get(type(user), user.id)))
    page.click("#two-factor-submit")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/workbench")

    _logout(page)
    _password(page, live_server, user.username)
    page.click("#use-recovery-code summary")
    page.fill("input[name=recovery_code]", codes[3])
    page.click("#recovery-submit")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/workbench") and "还剩 9 个" in page.content()

    page.goto(f"{live_server}/account/sessions")
    assert page.locator("#session-list tbody tr").count() == 1
    screenshot(page, "two-factor-devices")
