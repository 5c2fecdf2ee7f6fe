"""From a confirmed award to the second payment, only through the pages, each role in its own browser:
the officer makes, issues and countersigns the contract, the organisation's administrator signs it,
finance user A approves and finance user B releases the first payment, the organisation submits the
mid-term report, the officer accepts it and assigns an evaluator, the evaluator scores it into 合格
(80 %), A approves and B releases the reduced second payment, and the organisation sees what was paid
and why the second amount was reduced.

¥88,888.88 split 40/30/30 (remainder to the last tranche): ¥35,555.55 / ¥26,666.66 / ¥26,666.67.
Mid-term at 80 %: ¥26,666.66 × 0.8 = ¥21,333.328 → ¥21,333.33 paid, ¥5,333.33 withheld; paid in all
¥56,888.88. Screenshots e2e5-*.png; the contract and voucher PDFs rendered to e2e5-*-pdf-N.png."""
from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from grants.contracts.models import Contract
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.browser.conftest import SCREENS, login, nav_click
from tests.contracts import factories as cf
from tests.finance import factories as ff

AMOUNT_FEN = 88_888_88


@pytest.fixture()
def new_page(browser, browser_context_args):
    """new_page(user) → a page in a fresh browser context (own cookies), logged in as `user`."""
    contexts = []

    def _open(user, base):
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        page = context.new_page()
        login(page, base, user.username, factories.PASSWORD)
        return page

    yield _open
    for context in contexts:
        context.close()


def _submit(page, selector):
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("networkidle")


def _render(data: bytes, name: str) -> list:
    assert data.startswith(b"%PDF")
    pdf = SCREENS / f"{name}.pdf"
    pdf.write_bytes(data)
    for old in SCREENS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(SCREENS / name)], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return "".join(text.split())


def _payment_id(db, tranche_id):
    from grants.finance.models import Payment

    db.session.expire_all()
    return db.session.query(Payment.id).filter_by(tranche_id=tranche_id).one()[0]


def test_award_to_second_payment(new_page, live_server, db, clock, screenshot):
    clock.set(dt.datetime(2027, 1, 4, 10, 0, tzinfo=SHANGHAI))
    unit = factories.host_unit(name="南通市民政局", level="city")
    org = factories.organization(name="南通市崇川区乐龄社会工作服务中心")
    call = ff.funded_call(unit, title="2026年南通市公益创投大赛")
    award = ff.award(call, amount_fen=AMOUNT_FEN, org=org)
    officer = factories.user(roles=("officer",), unit=unit, username="e2e_officer")
    officer.display_name = "陈经办"
    signer = factories.member(org, username="e2e_org_admin")
    signer.display_name = "王芳"
    evaluator = factories.user(roles=("evaluator",), username="e2e_evaluator")
    evaluator.display_name = "李评估"
    approver = ff.finance_user(call, username="e2e_finance_a")
    approver.display_name = "财务甲"
    releaser = ff.finance_user(call, username="e2e_finance_b")
    releaser.display_name = "财务乙"
    db.session.commit()
    base = live_server
    off, org_page, fin_a, fin_b, ev = (new_page(u, base) for u in (officer, signer, approver, releaser, evaluator))

    # 1. officer: the confirmed award waits for its contract; make it and issue it
    nav_click(off, None, "资助协议")
    off.wait_for_load_state("networkidle")
    assert "银龄互助" in off.locator("#awards-waiting").inner_text()
    screenshot(off, "e2e5-01-officer-award-waiting")
    _submit(off, "#awards-waiting button")
    assert "已生成协议草稿" in off.content()
    contract = db.session.query(Contract).filter_by(award_id=award.id).one()
    cid = contract.id
    assert [t.planned_fen for t in contract.tranches] == [35_555_55, 26_666_66, 26_666_67]
    tranche_ids = [t.id for t in contract.tranches]
    assert "¥88,888.88" in off.content()
    screenshot(off, "e2e5-02-officer-draft")
    _submit(off, "#contract-issue")
    assert off.locator("#contract-status").inner_text() == "待乙方签署"
    screenshot(off, "e2e5-03-officer-issued")

    # 2. organisation: its administrator signs with name and title
    org_page.goto(f"{base}/contracts/{cid}")
    _submit(org_page, "#contract-sign")
    org_page.fill("input[name=signer_name]", "王芳")
    org_page.fill("input[name=signer_title]", "理事长")
    screenshot(org_page, "e2e5-04-org-sign")
    _submit(org_page, "#sign-submit")
    assert org_page.locator("#contract-status").inner_text() == "乙方已签署"
    screenshot(org_page, "e2e5-05-org-signed")

    # 3. officer countersigns: in force, the first tranche payable and its payment requested
    off.goto(f"{base}/contracts/{cid}")
    _submit(off, "#contract-countersign")
    assert off.locator("#contract-status").inner_text() == "履行中"
    assert "待拨付" in off.locator("#tranche-1").inner_text()
    screenshot(off, "e2e5-06-officer-countersigned")

    # 4. finance A approves the first payment from the queue (and may not release it)
    first = _payment_id(db, tranche_ids[0])
    nav_click(fin_a, None, "拨款")
    fin_a.wait_for_load_state("networkidle")
    assert contract.number in fin_a.locator("#payment-queue").inner_text()
    screenshot(fin_a, "e2e5-07-finance-a-queue")
    fin_a.click(f"#payment-queue a[href='/finance/payments/{first}']")
    fin_a.wait_for_load_state("networkidle")
    assert fin_a.locator("#payment-amount").inner_text() == "¥35,555.55"
    assert "人民币叁万伍仟伍佰伍拾伍元伍角伍分" in fin_a.content()
    _submit(fin_a, "#approve-button")
    assert "已审核通过" in fin_a.content()
    assert fin_a.locator("#release-button").count() == 0
    screenshot(fin_a, "e2e5-08-finance-a-approved-first")

    # 5. finance B releases it with the bank reference
    fin_b.goto(f"{base}/finance/payments/{first}")
    fin_b.fill("#bank_reference", "JSB20270104000101")
    fin_b.fill("#released_on", "2027-01-04")
    screenshot(fin_b, "e2e5-09-finance-b-release-first")
    _submit(fin_b, "#release-button")
    assert fin_b.locator("#payment-status").inner_text() == "已支付"
    assert fin_b.locator("#bank-reference").inner_text() == "JSB20270104000101"
    screenshot(fin_b, "e2e5-10-finance-b-released-first")

    # 6. organisation: the mid-term report (outputs, spending, narrative, evidence)
    clock.set(dt.datetime(2027, 6, 20, 9, 30, tzinfo=SHANGHAI))
    org_page.goto(f"{base}/contracts/{cid}")
    assert "¥35,555.55" in org_page.locator("#tranche-1").inner_text()
    _submit(org_page, "#report-2")
    org_page.fill("input[name=achieved-service_sessions]", "1600")
    org_page.fill("input[name=achieved-beneficiaries]", "90")
    org_page.fill("#narrative", "上半年完成入户探访 1600 人次，组建 32 人志愿者队伍，开展集体生日会 6 场。")
    for row in org_page.locator("input[name^=spent-]").all():
        row.fill("8000")
    org_page.set_input_files("#evidence", files=[{"name": "活动照片.png", "mimeType": "image/png", "buffer": cf.PNG}])
    screenshot(org_page, "e2e5-11-org-report")
    _submit(org_page, "#report-submit")
    assert "报告已提交" in org_page.content()

    # 7. officer accepts the report and assigns the evaluator
    off.goto(f"{base}/contracts/{cid}")
    off.click("#tranche-2 >> text=中期报告")
    off.wait_for_load_state("networkidle")
    off.select_option("select[name=evaluator_id]", str(evaluator.id))
    screenshot(off, "e2e5-12-officer-accept-report")
    _submit(off, "#accept-submit")
    assert "已指派评估人员" in off.content()

    # 8. evaluator: 20 + 12 + 12 + 18 = 62 → 合格, paid at 80 %
    nav_click(ev, None, "我的评估任务")
    ev.wait_for_load_state("networkidle")
    ev.click("#my-assessments a")
    ev.wait_for_load_state("networkidle")
    for field, value in zip(ev.locator("input[name^=points-]").all(), ["20", "12", "12", "18", "0", "0"]):
        field.fill(value)
    ev.fill("#satisfaction_pct", "86")
    ev.fill("#comment", "服务人次未达进度，台账基本完整；须加强志愿者管理。")
    screenshot(ev, "e2e5-13-evaluator-scoring")
    _submit(ev, "#score-submit")
    result = ev.locator("#assessment-result").inner_text()
    assert "62" in result and "合格" in result and "80" in result
    screenshot(ev, "e2e5-14-evaluator-done")

    # 9. finance A approves the reduced second payment; B releases it
    second = _payment_id(db, tranche_ids[1])
    nav_click(fin_a, None, "拨款")
    fin_a.wait_for_load_state("networkidle")
    fin_a.click(f"#payment-queue a[href='/finance/payments/{second}']")
    fin_a.wait_for_load_state("networkidle")
    assert fin_a.locator("#payment-amount").inner_text() == "¥21,333.33"
    page_text = fin_a.content()
    assert "人民币贰万壹仟叁佰叁拾叁元叁角叁分" in page_text and "¥5,333.33" in page_text
    screenshot(fin_a, "e2e5-15-finance-a-second-requested")
    _submit(fin_a, "#approve-button")
    assert "已审核通过" in fin_a.content()
    fin_b.goto(f"{base}/finance/payments/{second}")
    fin_b.fill("#bank_reference", "JSB20270620000207")
    fin_b.fill("#released_on", "2027-06-20")
    _submit(fin_b, "#release-button")
    assert fin_b.locator("#payment-status").inner_text() == "已支付"
    screenshot(fin_b, "e2e5-16-finance-b-released-second")

    # 10. organisation: what was paid, and why the second amount is smaller
    org_page.goto(f"{base}/contracts/{cid}")
    t1, t2 = org_page.locator("#tranche-1").inner_text(), org_page.locator("#tranche-2").inner_text()
    assert "¥35,555.55" in t1 and "2027-01-04" in t1
    assert "¥26,666.66" in t2 and "¥21,333.33" in t2 and "2027-06-20" in t2
    assert "合格" in t2 and "按 80% 拨付，扣减 ¥5,333.33" in t2
    assert "¥56,888.88" in org_page.locator("#tranche-schedule tfoot").inner_text()
    screenshot(org_page, "e2e5-17-org-paid-and-reduced")
    org_page.set_viewport_size({"width": 390, "height": 844})
    assert "按 80% 拨付，扣减 ¥5,333.33" in org_page.locator("#tranche-cards").inner_text()
    screenshot(org_page, "e2e5-18-org-paid-and-reduced-phone")

    # the contract PDF (as the organisation downloads it) and the second payment's voucher
    response = org_page.request.get(f"{base}/contracts/{cid}/pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = _render(response.body(), "e2e5-contract-pdf")
    assert "¥88,888.88" in text and "人民币捌万捌仟捌佰捌拾捌元捌角捌分" in text and "王芳（理事长）" in text
    response = fin_b.request.get(f"{base}/finance/payments/{second}/voucher.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = _render(response.body(), "e2e5-voucher-pdf")
    assert "¥21,333.33" in text and "人民币贰万壹仟叁佰叁拾叁元叁角叁分" in text and "JSB20270620000207" in text
