"""Finance pages: queue filters and paging with a fixed query count, the decision forms (double
submit safe), field errors, the voucher PDF, the ledger page and its Excel export, scope."""
from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentStatus
from tests.finance import factories as ff

TODAY = dt.date(2026, 11, 23)


@pytest.fixture()
def scene(db):
    call = ff.funded_call()
    contract = ff.active_contract(call)
    return dict(call=call, contract=contract, payment=ff.first_payment(contract),
                f1=ff.finance_user(call), f2=ff.finance_user(call))


def _count_queries(fn):
    n = 0

    def on_exec(*_a, **_k):
        nonlocal n
        n += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_exec)
    try:
        result = fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_exec)
    return n, result


def test_queue_lists_filters_and_pages_with_fixed_queries(client, login_as, scene):
    call, f1 = scene["call"], scene["f1"]
    login_as(f1)
    r = client.get("/finance/payments")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert scene["contract"].number in page and "待审核" in page
    db.session.commit()  # the test and the requests share one session: start both counts from expired objects
    n1, _ = _count_queries(lambda: client.get("/finance/payments?status=all").close())
    for _ in range(6):
        ff.active_contract(call)
    db.session.commit()
    n2, r = _count_queries(lambda: client.get("/finance/payments?status=all"))
    assert r.status_code == 200 and n2 == n1
    # filters
    scene["contract"].organization.name = org_name = "筛选专用组织"
    db.session.commit()
    r = client.get("/finance/payments", query_string={"org": org_name, "status": "requested", "call_id": call.id})
    body = r.get_data(as_text=True)
    assert body.count('href="/finance/payments/') == 2  # its phone card and its table row
    r = client.get("/finance/payments", query_string={"status": "released"})
    assert "没有符合条件的拨款" in r.get_data(as_text=True)


def test_queue_shows_only_own_unit_subtree(client, login_as, scene):
    stranger = ff.factories.user(roles=("finance",))  # another city unit
    login_as(stranger)
    body = client.get("/finance/payments?status=all").get_data(as_text=True)
    assert scene["contract"].number not in body
    assert client.get(f"/finance/payments/{scene['payment'].id}").status_code == 403
    assert client.get(f"/finance/ledger/{scene['call'].id}").status_code == 403


def test_approve_then_release_through_the_pages(client, login_as, scene):
    p = scene["payment"]
    login_as(scene["f1"])
    page = client.get(f"/finance/payments/{p.id}").get_data(as_text=True)
    assert "审核通过" in page and "确认已支付" not in page
    r = client.post(f"/finance/payments/{p.id}/approve", data={"version": p.version})
    assert r.status_code == 302
    page = client.get(f"/finance/payments/{p.id}").get_data(as_text=True)
    assert "已审核通过" in page
    assert "审核人（复核人）不能同时办理支付" in page  # f1 cannot release what f1 approved
    login_as(scene["f2"])
    db.session.expire_all()
    version = db.session.get(Payment, p.id).version
    # A refused form keeps what was typed and says what is wrong next to the field.
    r = client.post(f"/finance/payments/{p.id}/release", data={"bank_reference": "BK-77", "released_on": "",
                                                              "version": version})
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "请填写支付日期" in body and 'value="BK-77"' in body
    r = client.post(f"/finance/payments/{p.id}/release", data={"bank_reference": "BK-77",
                                                              "released_on": TODAY.isoformat(), "version": version})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已确认支付" in page and "BK-77" in page
    # The double submit (same form again) does not release twice.
    r = client.post(f"/finance/payments/{p.id}/release", data={"bank_reference": "BK-78",
                                                              "released_on": TODAY.isoformat(), "version": version})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "不会重复支付" in page
    db.session.expire_all()
    p = db.session.get(Payment, p.id)
    assert p.status == PaymentStatus.RELEASED and p.bank_reference == "BK-77"


def test_release_in_the_future_is_refused_next_to_the_field(client, login_as, scene, clock):
    clock.set(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    p = scene["payment"]
    services.approve_payment(p, scene["f1"])
    db.session.commit()
    login_as(scene["f2"])
    r = client.post(f"/finance/payments/{p.id}/release", data={"bank_reference": "F-1", "released_on": "2026-11-30",
                                                              "version": p.version})
    assert r.status_code == 400
    assert "支付日期不能晚于今天" in r.get_data(as_text=True)


def test_officer_holds_and_lifts_finance_cannot(client, login_as, scene):
    p = scene["payment"]
    officer = ff.officer(scene["call"])
    login_as(scene["f1"])
    assert client.post(f"/finance/payments/{p.id}/hold", data={"reason": "x"}).status_code == 403
    login_as(officer)
    r = client.post(f"/finance/payments/{p.id}/hold", data={"reason": "", "version": p.version})
    assert r.status_code == 400 and "请填写原因" in r.get_data(as_text=True)
    r = client.post(f"/finance/payments/{p.id}/hold", data={"reason": "举报核查中", "version": p.version})
    assert r.status_code == 302
    page = client.get(f"/finance/payments/{p.id}").get_data(as_text=True)
    assert "暂停拨付：举报核查中" in page and "解除暂停" in page
    assert client.post(f"/finance/payments/{p.id}/approve").status_code == 403  # officer is not finance
    db.session.expire_all()
    version = db.session.get(Payment, p.id).version
    r = client.post(f"/finance/payments/{p.id}/lift-hold", data={"reason": "核查无问题", "version": version})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Payment, p.id).status == PaymentStatus.REQUESTED


def test_reclaim_form_caps_and_explains(client, login_as, scene):
    p = scene["payment"]
    services.approve_payment(p, scene["f1"])
    services.release_payment(p, scene["f2"], "RC-9", TODAY)
    db.session.commit()
    login_as(scene["f1"])
    r = client.post(f"/finance/payments/{p.id}/reclaim", data={"amount": "20000.01", "reason": "多付",
                                                              "version": p.version})
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "最多还可追回 ¥20,000.00" in body and 'value="20000.01"' in body
    r = client.post(f"/finance/payments/{p.id}/reclaim", data={"amount": "abc", "reason": "多付", "version": p.version})
    assert r.status_code == 400 and "金额格式不正确" in r.get_data(as_text=True)
    r = client.post(f"/finance/payments/{p.id}/reclaim", data={"amount": "5,000", "reason": "结项不合格",
                                                              "version": p.version})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Payment, p.id).reclaimed_fen == 500_000


def test_voucher_pdf(client, login_as, scene, tmp_path):
    p = scene["payment"]
    services.approve_payment(p, scene["f1"])
    services.release_payment(p, scene["f2"], "VOUCHER-1", TODAY)
    db.session.commit()
    login_as(scene["f1"])
    with client.get(f"/finance/payments/{p.id}/voucher.pdf") as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        data = r.data
    path = tmp_path / "voucher.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    text = text + "\n" + "".join(text.split())  # pdftotext spaces CJK glyphs unpredictably
    for expected in ("拨款通知单", "¥20,000.00", "人民币贰万元整", "VOUCHER-1", scene["f1"].display_name,
                     scene["f2"].display_name, scene["contract"].party_b_bank_account_number, "第1页/共1页"):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "CJK" in fonts
    # The paid organisation's member may download it; a requested payment has no voucher.
    member = ff.factories.member(scene["contract"].organization)
    login_as(member)
    with client.get(f"/finance/payments/{p.id}/voucher.pdf") as r:
        assert r.status_code == 200
    other = ff.first_payment(ff.active_contract(scene["call"]))
    db.session.commit()
    login_as(scene["f1"])
    with client.get(f"/finance/payments/{other.id}/voucher.pdf") as r:
        assert r.status_code == 403


def test_ledger_page_and_excel(client, login_as, scene):
    p = scene["payment"]
    services.approve_payment(p, scene["f1"])
    services.release_payment(p, scene["f2"], "XL-1", TODAY)
    db.session.commit()
    officer = ff.officer(scene["call"])
    login_as(officer)  # officers see the ledger of their unit subtree
    r = client.get("/finance/ledger")
    assert r.status_code == 200 and scene["call"].title in r.get_data(as_text=True)
    r = client.get(f"/finance/ledger/{scene['call'].id}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "¥20,000.00" in body and "XL-1" in body
    with client.get(f"/finance/ledger/{scene['call'].id}/export.xlsx") as r:
        assert r.status_code == 200
        wb = load_workbook(io.BytesIO(r.data))
    summary = wb["汇总"]
    rows = list(summary.iter_rows(min_row=4, values_only=True))
    total = rows[-1]
    assert total[0] == "合计"
    from decimal import Decimal

    assert Decimal(str(total[3])) == Decimal("20000.00")  # paid
    assert summary.cell(row=4, column=2).number_format == "#,##0.00"
    detail = wb["明细"]
    paid_rows = [row for row in detail.iter_rows(min_row=2, values_only=True) if row[0] == "拨付"]
    assert len(paid_rows) == 1 and Decimal(str(paid_rows[0][6])) == Decimal("20000.00")
    # 60/40 split of the award: 12,000 + 8,000
    assert [Decimal(str(v)) for v in paid_rows[0][7:9]] == [Decimal("12000.00"), Decimal("8000.00")]


def test_auditor_reads_but_cannot_act(client, login_as, scene):
    p = scene["payment"]
    auditor = ff.factories.user(roles=("auditor",), unit=scene["call"].host_unit)
    login_as(auditor)
    page = client.get(f"/finance/payments/{p.id}").get_data(as_text=True)
    assert "审核通过" not in page
    assert client.post(f"/finance/payments/{p.id}/approve").status_code == 403


def test_payments_for_contract(scene):
    payments = services.payments_for_contract(scene["contract"])
    assert list(payments) == [scene["contract"].tranches[0].id]


def test_officer_holds_the_whole_project(client, login_as, scene):
    contract = scene["contract"]
    ff.assess_tranche(contract.tranches[1], payment_pct=100)
    p = scene["payment"]
    db.session.commit()
    login_as(ff.officer(scene["call"]))
    r = client.post(f"/finance/payments/{p.id}/hold", data={"reason": "项目暂停整顿", "whole_project": "y",
                                                           "version": p.version})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已暂停整个项目：2 笔未支付的拨款" in page and 'id="project-hold"' in page
    db.session.expire_all()
    assert {x.status for x in services.payments_for_contract(contract).values()} == {PaymentStatus.HELD}
    # The last tranche becomes payable while the project is on hold: its payment is held at once.
    ff.assess_tranche(contract.tranches[2], payment_pct=100)
    db.session.commit()
    assert {x.status for x in services.payments_for_contract(contract).values()} == {PaymentStatus.HELD}
    # Lifting the whole project from one payment's page lifts all three back to the queue.
    p = db.session.get(type(p), p.id)
    r = client.post(f"/finance/payments/{p.id}/lift-hold", data={"reason": "整顿完成", "whole_project": "y",
                                                                "version": p.version})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已解除本项目的整体暂停，3 笔拨款恢复待审核" in page and 'id="project-hold"' not in page
    db.session.expire_all()
    assert {x.status for x in services.payments_for_contract(contract).values()} == {PaymentStatus.REQUESTED}


def test_payment_page_warns_when_a_reclaim_is_suggested(client, login_as, scene):
    from grants.contracts.services import flag_reclaim

    flag_reclaim(scene["contract"], ff.officer(scene["call"]), "结项评估不合格")
    db.session.commit()
    login_as(scene["f1"])
    assert "建议追回已拨资金：结项评估不合格" in client.get(f"/finance/payments/{scene['payment'].id}").get_data(as_text=True)
