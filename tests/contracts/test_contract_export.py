"""The contract list's Excel export: headers, the list's filters, the unit scope, formula injection."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests import factories
from tests.contracts import factories as cf


def _rows(resp):
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.data)).active
    return [c.value for c in ws[2]], list(ws.iter_rows(min_row=3, values_only=True)), ws


def test_contract_export(app, client, login_as, db):
    app.config["WTF_CSRF_ENABLED"] = False
    call = cf.call()
    mine = cf.contract(cf.award(call, amount_fen=1_234_567), status="active")
    other = cf.contract(cf.award(call), status="issued")
    mine.project_name = "@SUM(1+1)*cmd|' /C calc'!A0"
    elsewhere = cf.contract(status="issued")  # another unit's call
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    headers, rows, ws = _rows(client.get("/contracts.xlsx"))
    assert headers[:6] == ["协议编号", "创投活动", "项目名称", "乙方（社会组织）", "统一社会信用代码/备案号", "协议金额（元）"]
    numbers = [r[0] for r in rows]
    assert mine.number in numbers and other.number in numbers and elsewhere.number not in numbers
    row = next(r for r in rows if r[0] == mine.number)
    assert row[2].startswith("'@") and float(row[5]) == 12345.67
    _h, rows, _ws = _rows(client.get("/contracts.xlsx?status=issued"))
    assert [r[0] for r in rows] == [other.number]
    assert "/contracts.xlsx?status=issued" in client.get("/contracts?status=issued").text
    # the applicant has no staff list
    login_as(factories.member(mine.organization))
    assert client.get("/contracts.xlsx").status_code == 403
