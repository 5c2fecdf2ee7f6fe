"""Long forms and irreversible actions in the browser: the application form saves itself a moment after typing
("已自动保存 hh:mm", still there after a reload), warns before leaving with unsaved edits, and submitting asks
for confirmation first — cancelling does nothing, accepting submits."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from grants.applications.models import Application
from grants.core.timeutil import UTC
from grants.extensions import db as _db
from tests import factories
from tests.applications import factories as af
from tests.browser.conftest import login


@pytest.fixture()
def scene(app, db, clock):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    call = af.call(title="2026年长表单测试创投")
    org = factories.organization(name="长表单测试服务中心")
    with app.test_request_context():
        draft = af.application(call, org)
    applicant = factories.member(org, username="longform")
    db.session.commit()
    app.config["AUTOSAVE_DELAY_MS"] = 300
    yield draft, applicant
    app.config["AUTOSAVE_DELAY_MS"] = 4000


def _status(a):
    _db.session.expire_all()
    return _db.session.get(Application, a.id)


def test_autosave_survives_a_reload(page, live_server, scene, screenshot):
    draft, applicant = scene
    login(page, live_server, applicant.username, factories.PASSWORD)
    page.goto(f"{live_server}/applications/{draft.id}/edit")
    page.fill("#f-summary", "")
    page.type("#f-summary", "自动保存：每周探访独居老人")
    expect(page.locator("#autosave-status")).to_contain_text("已自动保存", timeout=10_000)
    assert page.inner_text("#autosave-status").startswith("已自动保存 ")
    screenshot(page, "long-forms-1-autosaved", full_page=False)
    page.reload()
    assert page.input_value("#f-summary") == "自动保存：每周探访独居老人"
    assert _status(draft).summary == "自动保存：每周探访独居老人"


def test_leaving_with_unsaved_edits_warns(page, live_server, scene, app):
    draft, applicant = scene
    app.config["AUTOSAVE_DELAY_MS"] = 600_000  # no autosave during this test: the edit stays unsaved
    login(page, live_server, applicant.username, factories.PASSWORD)
    page.goto(f"{live_server}/applications/{draft.id}/edit")
    page.click("#f-objectives")
    page.keyboard.type("未保存的修改")
    seen = []
    page.once("dialog", lambda d: (seen.append(d.type), d.dismiss()))
    page.click("a.navbar-brand")
    page.wait_for_timeout(300)
    assert seen == ["beforeunload"]
    assert page.url.endswith(f"/applications/{draft.id}/edit")  # stayed
    page.once("dialog", lambda d: (seen.append(d.type), d.accept()))
    page.click("a.navbar-brand")
    page.wait_for_load_state("networkidle")
    assert seen == ["beforeunload", "beforeunload"] and "/edit" not in page.url


def test_submit_asks_first_cancel_does_nothing_accept_submits(page, live_server, scene, screenshot):
    draft, applicant = scene
    login(page, live_server, applicant.username, factories.PASSWORD)
    page.goto(f"{live_server}/applications/{draft.id}/edit")
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.click("#submit-application")
    page.wait_for_timeout(300)
    assert messages and "确定提交申报" in messages[0]
    assert page.url.endswith(f"/applications/{draft.id}/edit") and _status(draft).status == "draft"
    page.once("dialog", lambda d: d.accept())
    page.click("#submit-application")
    page.wait_for_url(f"{live_server}/applications/{draft.id}")
    assert _status(draft).status == "submitted"
    screenshot(page, "long-forms-2-submitted", full_page=False)
