"""公示异议 export: headers, the call's own objections only, formula injection, officers of the unit only."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from grants.awards.models import Objection
from grants.core.timeutil import SHANGHAI
from grants.extensions import db as _db
from tests.awards import factories as af


def test_objection_export(client, db, login_as, clock):
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    call, apps, _experts = af.reviewed_call()
    a, b = af.officers(call)
    db.session.commit()
    login_as(a)
    client.post(f"/awards/calls/{call.id}/propose")
    login_as(b)
    client.post(f"/awards/calls/{call.id}/approve")
    client.post(f"/awards/calls/{call.id}/publish")
    client.post("/logout")
    clock.set(dt.datetime(2026, 6, 2, 10, 0, tzinfo=SHANGHAI))
    client.post(f"/public/notices/{call.id}/objection", data={
        "application_id": apps[0].id, "objector_name": "=王五", "contact": "wang@example.org",
        "content": "@SUM(A1:A9) 该组织负责人与评审专家存在利害关系。"})
    obj = _db.session.scalars(_db.select(Objection)).one()
    login_as(b)
    assert f'/awards/calls/{call.id}/objections.xlsx' in client.get(f"/awards/calls/{call.id}/notice").text
    r = client.get(f"/awards/calls/{call.id}/objections.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][:5] == ["回执号", "提交时间", "申报编号", "项目名称", "申报单位"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1 and rows[0][0] == obj.receipt_no
    assert rows[0][5] == "'=王五" and rows[0][7].startswith("'@SUM") and rows[0][8] == "待处理"
    login_as("officer")  # an officer of another unit
    assert client.get(f"/awards/calls/{call.id}/objections.xlsx").status_code == 403
