"""The dashboard (统计) in the browser, as an officer of the city bureau: figures, charts beside their tables,
a drill-down from a bar, the year filter, and the phone layout. Screenshots: screenshots/dashboard-*.png."""
from __future__ import annotations

import pytest

from grants.core import timeutil
from tests import factories
from tests.browser.conftest import login, nav_click
from tests.dashboard import programme


@pytest.fixture()
def scene(app, db, clock):
    with app.test_request_context():
        p = programme.build(clock)
        db.session.commit()
        username = p.officer.username
    timeutil.set_clock(None)
    return dict(officer=username)


def test_officer_reads_the_dashboard_and_drills_down(page, live_server, scene, screenshot):
    login(page, live_server, scene["officer"], factories.PASSWORD)
    nav_click(page, None, "统计")
    page.wait_for_load_state("networkidle")
    assert page.locator("#card-funded .num").inner_text() == "9"
    assert page.locator("#chart-category svg rect").count() >= 4
    assert "福彩公益金" in page.locator("#dash-headline").inner_text()
    screenshot(page, "dashboard-desktop")

    page.locator("#chart-category svg a").nth(1).click()  # 立项金额 of the first category
    page.wait_for_load_state("networkidle")
    assert page.locator("#drill-title").inner_text().startswith("获资助项目")
    assert page.locator("#drill-list tbody tr").count() >= 1
    screenshot(page, "dashboard-drill-category")

    page.goto(f"{live_server}/dashboard/")
    page.select_option("#f-from", "2025")
    page.select_option("#f-to", "2025")
    page.click("#dash-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#card-funded .num").inner_text() == "3"
    screenshot(page, "dashboard-2025")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard/")
    page.wait_for_load_state("networkidle")
    # Nothing wider than the phone: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone")
