"""Finance in the browser: one finance user approves the first payment of an active contract, another
releases it with the bank reference; the voucher and the ledger follow. Screenshots (desktop and
phone) in test-results/screens/finance-*.png."""
from __future__ import annotations

import pytest

from grants.core.timeutil import today_local
from tests import factories
from tests.browser.conftest import login, nav_click
from tests.finance import factories as ff


@pytest.fixture()
def scene(app, db):
    with app.test_request_context():
        call = ff.funded_call()
        contract = ff.active_contract(call, amount_fen=8_000_000)
        # A second project waiting in the queue, its mid-term tranche paid at 80 % after assessment.
        other = ff.active_contract(call, amount_fen=6_000_000)
        ff.assess_tranche(other.tranches[1], payment_pct=80, grade="pass", score=66)
        approver = ff.finance_user(call, username="caiwu_li")
        releaser = ff.finance_user(call, username="caiwu_wang")
        payment = ff.first_payment(contract)
        db.session.commit()
        return dict(call_id=call.id, payment_id=payment.id, number=contract.number, approver=approver.username,
                    releaser=releaser.username)


def test_finance_approves_and_another_releases(page, live_server, scene, screenshot):
    pid = scene["payment_id"]
    login(page, live_server, scene["approver"], factories.PASSWORD)
    nav_click(page, None, "拨款")
    page.wait_for_load_state("networkidle")
    assert scene["number"] in page.content()
    screenshot(page, "finance-queue")
    page.click(f"#payment-queue a[href='/finance/payments/{pid}']")
    page.wait_for_load_state("networkidle")
    assert "人民币叁万贰仟元整" in page.content()  # 40 % of ¥80,000 in capitals
    screenshot(page, "finance-payment-requested")
    page.click("#approve-button")
    page.wait_for_load_state("networkidle")
    assert "已审核通过" in page.content()
    assert "审核人（复核人）不能同时办理支付" in page.locator("#release-blocked").inner_text()
    screenshot(page, "finance-payment-approved-same-user")

    page.context.clear_cookies()
    login(page, live_server, scene["releaser"], factories.PASSWORD)
    page.goto(f"{live_server}/finance/payments/{pid}")
    page.fill("#bank_reference", "")
    page.click("#release-button")  # empty reference: refused next to the field
    page.wait_for_load_state("networkidle")
    assert "请填写银行流水号" in page.content()
    screenshot(page, "finance-release-error")
    page.fill("#bank_reference", "JSB20261123000187")
    page.fill("#released_on", today_local().isoformat())
    with page.expect_navigation():
        page.dblclick("#release-button")  # a double click sends one release
    page.wait_for_load_state("networkidle")
    screenshot(page, "finance-payment-after-release")
    assert page.locator("#payment-status").inner_text() == "已支付"
    assert page.locator("#bank-reference").inner_text() == "JSB20261123000187"
    screenshot(page, "finance-payment-released")
    response = page.request.get(f"{live_server}/finance/payments/{pid}/voucher.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "finance-payment-released-phone")
    page.goto(f"{live_server}/finance/payments")
    screenshot(page, "finance-queue-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{live_server}/finance/ledger/{scene['call_id']}")
    assert "JSB20261123000187" in page.content()
    screenshot(page, "finance-ledger")


def test_officer_holds_a_payment_and_finance_cannot_approve(page, live_server, app, db, scene, screenshot):
    pid = scene["payment_id"]
    with app.test_request_context():
        from grants.calls.models import Call

        officer = ff.officer(db.session.get(Call, scene["call_id"]), username="zhuguan_zhao")
        db.session.commit()
    login(page, live_server, "zhuguan_zhao", factories.PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/finance/payments/{pid}")
    page.click("#hold-button")  # no reason: refused next to the field
    page.wait_for_load_state("networkidle")
    assert "请填写原因" in page.content()
    page.fill("#reason", "收到举报，核查期间暂停拨付")
    page.check("#whole_project")
    screenshot(page, "finance-officer-hold-phone")
    with page.expect_navigation():
        page.click("#hold-button")
    assert "已暂停整个项目：1 笔未支付的拨款" in page.content()
    assert page.locator("#payment-status").inner_text() == "暂停拨付"
    assert page.locator("#project-hold").count() == 1
    screenshot(page, "finance-officer-held-phone")
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 860})
    login(page, live_server, scene["approver"], factories.PASSWORD)
    page.goto(f"{live_server}/finance/payments/{pid}")
    assert page.locator("#approve-button").count() == 0 and page.locator("#held-note").count() == 1
    assert "收到举报" in page.content()
    screenshot(page, "finance-held-seen-by-finance")


def test_officer_lifts_a_project_hold_and_the_later_payment_with_it(page, live_server, app, db, scene, screenshot):
    """A payment requested while the project is on hold is held at once; lifting the project hold from its
    page releases both back to finance's queue."""
    from grants.calls.models import Call
    from grants.contracts.models import Contract
    from grants.finance import services
    from grants.finance.models import Payment

    with app.test_request_context():
        officer = ff.officer(db.session.get(Call, scene["call_id"]), username="zhuguan_qian")
        contract = db.session.query(Contract).filter_by(number=scene["number"]).one()
        services.hold_contract_payments(contract, officer, "审计发现票据问题，项目整体暂停")
        ff.assess_tranche(contract.tranches[1], payment_pct=100)
        later = db.session.query(Payment).filter_by(tranche_id=contract.tranches[1].id).one()
        db.session.commit()
        later_id = later.id
    login(page, live_server, "zhuguan_qian", factories.PASSWORD)
    page.goto(f"{live_server}/finance/payments/{later_id}")
    assert page.locator("#payment-status").inner_text() == "暂停拨付"
    assert "系统自动" in page.content() and page.locator("#project-hold").count() == 1
    page.fill("#reason", "票据已补正")
    page.check("#whole_project")
    screenshot(page, "finance-project-hold-lift")
    with page.expect_navigation():
        page.click("#lift-button")
    assert "已解除本项目的整体暂停，2 笔拨款恢复待审核" in page.content()
    assert page.locator("#payment-status").inner_text() == "待审核"
    screenshot(page, "finance-project-hold-lifted")
