"""From a confirmed award to the mid-term assessment: the officer makes and issues the contract, the
organisation's administrator signs it (desktop and 390 px), the officer countersigns (the first tranche
becomes payable), the organisation submits the mid-term report, the officer assigns an evaluator and the
evaluator scores it; the schedule then shows the second tranche payable. Screenshots contract-*.png,
and the contract PDF rendered to PNG (contract-pdf-1.png)."""
from __future__ import annotations

import datetime as dt
import subprocess

from grants.contracts.models import Contract
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.browser.conftest import SCREENS, login, nav_click
from tests.contracts import factories as cf


def _as(page, base, user):
    page.context.clear_cookies()
    login(page, base, user.username, factories.PASSWORD)


def _submit(page, selector):
    page.click(selector)
    page.wait_for_load_state("networkidle")


def test_contract_flow(page, live_server, db, clock, screenshot):
    clock.set(dt.datetime(2027, 1, 4, 10, 0, tzinfo=SHANGHAI))
    unit = factories.host_unit(name="南通市民政局", level="city")
    org = factories.organization(name="南通市崇川区乐龄社会工作服务中心")
    call = cf.call(unit, title="2026年南通市公益创投大赛")
    award = cf.award(call, org, amount_fen=100_000_01)
    officer = factories.user(roles=("officer",), unit=unit, username="contract_officer")
    officer.display_name = "陈经办"
    signer = factories.member(org, username="org_admin")
    signer.display_name = "王芳"
    evaluator = cf.evaluator(username="third_party_eval")
    evaluator.display_name = "李评估"
    evaluator.affiliation = "南通市社会组织评估中心"
    db.session.commit()
    base = live_server

    # officer: the confirmed award waits for its contract
    _as(page, base, officer)
    nav_click(page, None, "资助协议")
    assert "银龄互助" in page.locator("#awards-waiting").inner_text()
    _submit(page, "#awards-waiting button")
    assert "已生成协议草稿" in page.content()
    screenshot(page, "contract-draft")
    contract = db.session.query(Contract).filter_by(award_id=award.id).one()
    assert [t.planned_fen for t in contract.tranches] == [40_000_00, 30_000_00, 30_000_01]
    _submit(page, "#contract-issue")
    assert page.locator("#contract-status").inner_text() == "待乙方签署"

    # organisation: sign with name and title (and the stamped scan), first at phone width
    _as(page, base, signer)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/contracts/mine")
    screenshot(page, "contract-mine-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{base}/contracts/{contract.id}")
    _submit(page, "#contract-sign")
    page.fill("input[name=signer_name]", "")
    _submit(page, "#sign-submit")
    assert "请填写签署人姓名" in page.content()
    page.fill("input[name=signer_name]", "王芳")
    page.fill("input[name=signer_title]", "理事长")
    page.set_input_files("input[name=scan]", files=[{"name": "盖章页.png", "mimeType": "image/png",
                                                     "buffer": cf.PNG}])
    screenshot(page, "contract-sign")
    _submit(page, "#sign-submit")
    assert page.locator("#contract-status").inner_text() == "乙方已签署"

    # officer countersigns: the contract is in force, the first tranche payable
    _as(page, base, officer)
    page.goto(f"{base}/contracts/{contract.id}")
    _submit(page, "#contract-countersign")
    assert page.locator("#contract-status").inner_text() == "履行中"
    assert "待拨付" in page.locator("#tranche-1").inner_text()
    screenshot(page, "contract-active-officer")

    # organisation: the mid-term report
    _as(page, base, signer)
    page.goto(f"{base}/contracts/{contract.id}")
    _submit(page, "#report-2")
    page.fill("input[name=achieved-service_sessions]", "1600")
    page.fill("input[name=achieved-beneficiaries]", "九十")
    page.fill("#narrative", "上半年完成入户探访 1600 人次，组建 32 人志愿者队伍，开展集体生日会 6 场。")
    _submit(page, "#report-submit")
    assert "请填写非负整数" in page.content()
    assert page.locator("#narrative").input_value().startswith("上半年完成入户探访")
    page.fill("input[name=achieved-beneficiaries]", "90")
    for row in page.locator("input[name^=spent-]").all():
        row.fill("8000")
    page.set_input_files("#evidence", files=[{"name": "活动照片.png", "mimeType": "image/png", "buffer": cf.PNG}])
    screenshot(page, "contract-report-form")
    _submit(page, "#report-submit")
    assert "报告已提交" in page.content()

    # officer accepts it and assigns the evaluator
    _as(page, base, officer)
    page.goto(f"{base}/contracts/{contract.id}")
    page.click("#tranche-2 >> text=中期报告")
    page.wait_for_load_state("networkidle")
    page.select_option("select[name=evaluator_id]", str(evaluator.id))
    screenshot(page, "contract-report-review")
    _submit(page, "#accept-submit")
    assert "已指派评估人员" in page.content()

    # evaluator scores: 25 + 16 + 15 + 22 + bonus 3 = 81 → 良好, 100 %
    _as(page, base, evaluator)
    nav_click(page, None, "我的评估任务")
    page.click("#my-assessments a")
    page.wait_for_load_state("networkidle")
    inputs = page.locator("input[name^=points-]").all()
    for field, value in zip(inputs, ["25", "16", "15", "22", "3", "0"]):
        field.fill(value)
    page.fill("#satisfaction_pct", "94")
    page.fill("#comment", "项目执行规范，台账完整；建议加强志愿者培训。")
    screenshot(page, "contract-assessment-form")
    _submit(page, "#score-submit")
    result = page.locator("#assessment-result").inner_text()
    assert "81" in result and "良好" in result
    screenshot(page, "contract-assessment-done")

    # organisation: the schedule shows the second tranche payable, and the final report due
    _as(page, base, signer)
    page.goto(f"{base}/contracts/{contract.id}")
    assert "待拨付" in page.locator("#tranche-2").inner_text()
    assert "待提交报告" in page.locator("#tranche-3").inner_text()
    screenshot(page, "contract-schedule-org")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "contract-schedule-phone")

    # the contract PDF, rendered to PNG for a look
    with page.expect_response(lambda r: r.url.endswith("/pdf")) as info:
        # The page reads the whole body: a no-store response is not kept by the browser for Playwright otherwise.
        page.evaluate(f"fetch('{base}/contracts/{contract.id}/pdf').then(r => r.arrayBuffer()).then(b => b.byteLength)")
    data = info.value.body()
    assert data.startswith(b"%PDF")
    pdf = SCREENS / "contract.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(SCREENS / "contract-pdf")], check=True)
