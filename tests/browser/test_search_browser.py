"""The search box in the browser, as a district officer: type in the navigation's box, read the highlighted
results, switch to a tab, open a result; and the phone layout. Screenshots: screenshots/search-*.png."""
from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import login
from tests.search import world as wf


@pytest.fixture()
def scene(app, db):
    with app.test_request_context():
        w = wf.build()
        officer = factories.user(roles=("officer",), unit=w.district_a)
        db.session.commit()
        return dict(officer=officer.username, corridor=w.app_corridor.id)


def test_officer_searches_from_the_navigation(page, live_server, scene, screenshot):
    login(page, live_server, scene["officer"], factories.PASSWORD)
    page.fill("#nav-search-q", "楼道")
    page.press("#nav-search-q", "Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{live_server}/search?q=")
    hits = page.locator("#search-results .search-hit")
    assert hits.count() == 5  # three applications, one contract, one organisation
    assert page.locator("#search-results mark").first.inner_text() == "楼道"
    assert "乙区楼道花园" not in page.locator("#search-results").inner_text()  # another district's
    screenshot(page, "search-desktop")

    page.click("#search-tab-application")
    page.wait_for_load_state("networkidle")
    assert page.locator("#search-results .search-hit").count() == 3
    page.locator("#search-results .search-hit").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/applications/{scene['corridor']}")

    page.goto(f"{live_server}/search?q=year:0001")
    assert "2000" in page.locator("#search-error").inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/search?q=楼道 年度:2026")
    page.wait_for_load_state("networkidle")
    assert page.locator("#search-results .search-hit").count() == 2
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phone page scrolls sideways ({width}px)"
    screenshot(page, "search-phone")
