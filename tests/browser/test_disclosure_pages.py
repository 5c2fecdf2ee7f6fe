"""信息公开 as the public sees it (desktop and 390 px, no log-in), the finished 公示 reached from it, and the
organisation record as an officer. Screenshots in screenshots/disclosure-*.png."""
from __future__ import annotations

from tests import factories
from tests.browser.conftest import login
from tests.disclosure.factories import disclosed_world, personal_strings


def test_public_disclosure_and_record(app, page, live_server, db, screenshot):
    with app.test_request_context():
        world = disclosed_world(factories.host_unit(name="南通市民政局", level="city"))
        officer = factories.user(roles=("officer",), unit=world.unit, username="record_officer")
        ids = dict(call=world.call.id, award=world.award_a.id, org=world.org_a.id,
                   app=world.contract_a.application_id)
        db.session.commit()
    base = live_server
    secrets = personal_strings()

    page.goto(base + "/")
    assert "2025年南通市公益创投大赛" in page.locator("#public-disclosure").inner_text()
    screenshot(page, "disclosure-home")
    page.click("#nav-disclosure")
    page.wait_for_load_state("networkidle")
    assert page.locator("#disclosure-calls tbody tr").count() == 1
    assert "¥153,456.78" in page.locator("#disclosure-totals").inner_text()
    screenshot(page, "disclosure-index")

    page.click("text=2025年南通市公益创投大赛")
    page.wait_for_load_state("networkidle")
    assert page.locator("#project-table tbody tr").count() == 2
    screenshot(page, "disclosure-call")
    page.fill("input[name=q]", "阳光")
    page.click("#project-filter button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#project-table tbody tr").count() == 1
    page.click(f"#project-{ids['award']} a")
    page.wait_for_load_state("networkidle")
    assert page.locator("#amount-paid").inner_text() == "¥48,382.71"
    assert page.locator("#tranche-table tbody tr").count() == 3
    screenshot(page, "disclosure-project")
    text = page.content()
    assert not [s for s in secrets if s in text]

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/disclosure")
    screenshot(page, "disclosure-index-phone")
    page.goto(f"{base}/disclosure/{ids['call']}")
    assert page.locator("#project-cards .card").count() == 2
    screenshot(page, "disclosure-call-phone")
    page.goto(f"{base}/disclosure/projects/{ids['award']}")
    screenshot(page, "disclosure-project-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.goto(f"{base}/disclosure/{ids['call']}")
    page.click("#notice-link")
    page.wait_for_load_state("networkidle")
    assert "公示期已满" in page.locator("#notice-dates").inner_text()
    screenshot(page, "disclosure-notice")

    resp = page.request.get(f"{base}/disclosure/360giving.json")
    assert resp.ok and len(resp.json()["grants"]) == 2

    login(page, base, officer.username, factories.PASSWORD)
    page.goto(f"{base}/applications/{ids['app']}")
    page.click("#org-record-link")
    page.wait_for_load_state("networkidle")
    assert page.locator("#record-table tbody tr").count() == 2
    assert "85.50" in page.locator(f"#record-{ids['app']}").inner_text()
    screenshot(page, "disclosure-org-record")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "disclosure-org-record-phone")
