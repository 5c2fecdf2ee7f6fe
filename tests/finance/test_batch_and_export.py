"""对所选项 in the payment queue (approve, second approval, release: one transaction per payment, every per-item
rule applied, refusals listed with reasons) and the queue's Excel export (headers, filters, scope, injection)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.core.models import AuditLog
from grants.extensions import db
from grants.finance import services
from grants.finance.models import Payment, PaymentStatus
from tests import factories
from tests.finance import factories as ff


@pytest.fixture()
def scene(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_SECOND_APPROVAL_FEN", 3_000_000)  # ¥30,000
    call = ff.funded_call()
    f1, f2 = ff.finance_user(call), ff.finance_user(call)
    small = [ff.first_payment(ff.active_contract(call, amount_fen=5_000_000)) for _ in range(3)]  # 40 % = ¥20,000
    big = ff.first_payment(ff.active_contract(call, amount_fen=10_000_000))  # ¥40,000: above the threshold
    db.session.commit()
    return dict(call=call, f1=f1, f2=f2, small=small, big=big)


def _post(client, data):
    return client.post("/finance/payments/batch", data=data)


def test_batch_approve_applies_holds_and_reports_each_item(client, login_as, scene):
    a, b, c = scene["small"]
    officer = ff.officer(scene["call"])
    services.hold_payment(c, officer, "材料待补")
    db.session.commit()
    login_as(scene["f1"])
    r = _post(client, {"batch_action": "approve", "ids": [a.id, b.id, c.id, 99999999, "abc"]})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "已完成 2 项" in page and "未处理 2 项" in page
    assert "解除暂停前不能审核" in page and "不存在或您无权对其操作" in page
    db.session.expire_all()
    assert [db.session.get(Payment, p.id).status for p in (a, b, c)] == ["approved", "approved", "held"]
    # one audit record per approved item, as the single-item service writes
    n = db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.object_type == "payment", AuditLog.object_id.in_([str(a.id), str(b.id)]),
        AuditLog.action == "payment.approve"))
    assert n == 2


def test_batch_release_segregation_threshold_and_bank_references(client, login_as, scene):
    a, b, c = scene["small"]
    big = scene["big"]
    for p in (a, b, c, big):
        services.approve_payment(p, scene["f1"])
    db.session.commit()
    # the approver may not release: every item refused with the reason, none released
    login_as(scene["f1"])
    r = _post(client, {"batch_action": "release", "released_on": dt.date.today().isoformat(), "ids": [a.id],
                       f"bank_reference-{a.id}": "B-1"})
    assert "未处理 1 项" in r.get_data(as_text=True)
    assert db.session.get(Payment, a.id).status == PaymentStatus.APPROVED
    client.post("/logout")
    login_as(scene["f2"])
    r = _post(client, {"batch_action": "release", "released_on": dt.date.today().isoformat(),
                       "ids": [a.id, b.id, c.id, big.id],
                       f"bank_reference-{a.id}": "B-1", f"bank_reference-{b.id}": "",  # missing reference
                       f"bank_reference-{c.id}": "B-1",  # the same reference twice: the second is refused
                       f"bank_reference-{big.id}": "B-9"})
    page = r.get_data(as_text=True)
    assert "已完成 1 项" in page and "未处理 3 项" in page
    assert "请填写银行流水号" in page and "已用于另一笔拨款" in page and "须由另一位财务人员复核" in page
    db.session.expire_all()
    assert db.session.get(Payment, a.id).status == PaymentStatus.RELEASED
    assert [db.session.get(Payment, p.id).status for p in (b, c, big)] == ["approved"] * 3


def test_batch_second_approval_and_stale_version(client, login_as, scene):
    big, small = scene["big"], scene["small"][0]
    services.approve_payment(big, scene["f1"])
    services.approve_payment(small, scene["f1"])
    db.session.commit()
    login_as(scene["f2"])
    r = _post(client, {"batch_action": "second_approve", "ids": [big.id, small.id],
                       f"version-{big.id}": big.version})
    page = r.get_data(as_text=True)
    assert "已完成 1 项" in page and "无需复核" in page
    r = _post(client, {"batch_action": "second_approve", "ids": [big.id], f"version-{big.id}": 1})
    assert "已复核" in r.get_data(as_text=True) or "状态已变化" in r.get_data(as_text=True)


def test_batch_is_post_only_finance_only_and_scoped(client, login_as, scene):
    assert client.get("/finance/payments/batch").status_code == 405
    login_as(ff.officer(scene["call"]))
    assert _post(client, {"batch_action": "approve", "ids": [scene["small"][0].id]}).status_code == 403
    client.post("/logout")
    other = factories.user(roles=("finance",), unit=factories.host_unit(name="别处财政局"))
    login_as(other)
    r = _post(client, {"batch_action": "approve", "ids": [scene["small"][0].id]})
    assert "无权" in r.get_data(as_text=True)
    assert db.session.get(Payment, scene["small"][0].id).status == PaymentStatus.REQUESTED
    r = _post(client, {"batch_action": "drop_table", "ids": [scene["small"][0].id]})
    assert r.status_code == 302


def test_queue_export_filters_scope_and_injection(client, login_as, scene):
    a = scene["small"][0]
    a.contract.party_b_name = "=HYPERLINK(\"http://x\")"
    other_call = ff.funded_call(factories.host_unit(name="别处民政局"))
    outsider = ff.first_payment(ff.active_contract(other_call))
    db.session.commit()
    login_as(scene["f1"])
    r = client.get("/finance/payments.xlsx?status=all")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][:7] == ["申请时间", "创投活动", "社会组织", "项目", "协议编号", "拨付节点", "金额（元）"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    numbers = {row[4] for row in rows}
    assert a.contract.number in numbers and outsider.contract.number not in numbers
    assert len(rows) == 4
    injected = next(row for row in rows if row[4] == a.contract.number)
    assert injected[2].startswith("'=")
    assert injected[6] == 20000 and ws.cell(row=3, column=7).number_format == "#,##0.00"
    # filters: the organisation name
    a.organization.name = "批量导出筛选组织"
    db.session.commit()
    r = client.get("/finance/payments.xlsx?status=all&org=批量导出筛选")
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=3, values_only=True))
    assert [row[4] for row in rows] == [a.contract.number]
    # the queue links to it with its filters
    assert "/finance/payments.xlsx?status=all" in client.get("/finance/payments?status=all").get_data(as_text=True)
