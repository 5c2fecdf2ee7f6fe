"""The organisation list's Excel export: headers, the list's filters, formula injection, staff only."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests import factories


def test_organization_export(client, login_as, db):
    a = factories.organization(name="导出测试甲组织", district="崇川区")
    b = factories.organization(name="导出测试乙组织", district="港闸区")
    b.address = "=1+2"
    db.session.commit()
    login_as("officer")
    r = client.get("/organizations.xlsx?q=导出测试")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][:3] == ["名称", "组织类型", "统一社会信用代码/备案编号"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert sorted(r[0] for r in rows) == sorted([a.name, b.name])
    assert next(r for r in rows if r[0] == b.name)[8] == "'=1+2"
    rows = list(load_workbook(io.BytesIO(client.get("/organizations.xlsx?q=导出测试&district=崇川区").data))
                .active.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [a.name]
    assert "/organizations.xlsx?q=" in client.get("/organizations?q=导出测试").text
    login_as("expert")
    assert client.get("/organizations.xlsx").status_code == 403
