"""Officers screen submitted applications; the list, its filters, the Excel export and its query count."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.applications.models import Application, ApplicationStatus
from grants.core.models import AuditLog
from grants.core.timeutil import UTC
from tests import factories
from tests.applications import factories as af

IN_WINDOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture()
def officer_world(app, db, client, login_as, clock, ctx):
    clock.set(af.CLOSE_AT + dt.timedelta(days=1))
    city = factories.host_unit()
    district = factories.host_unit(level="district", parent=city)
    call = af.call(unit=district)
    officer = factories.user(roles=("officer",), unit=city)  # the parent unit sees the district's call
    submitted = af.application(call, factories.organization(name="阳光为老服务中心", district="崇川区"),
                               status=ApplicationStatus.SUBMITTED)
    login_as(officer)
    return call, officer, submitted


def fresh(db, a):
    db.session.expire_all()
    return db.session.get(Application, a.id)


def test_mark_eligible(client, db, officer_world):
    _call, officer, a = officer_world
    resp = client.post(f"/applications/{a.id}/screen", data={"action": "mark_eligible", "reason": "材料齐全"})
    assert resp.status_code == 302
    a = fresh(db, a)
    assert a.status == "eligible" and a.screened_by_id == officer.id and a.screening_reason == "材料齐全"
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "application.mark_eligible")).one()
    assert row.before == {"status": "submitted"} and row.after["status"] == "eligible"


def test_ineligible_needs_a_reason(client, db, officer_world):
    _call, _officer, a = officer_world
    page = client.post(f"/applications/{a.id}/screen", data={"action": "mark_ineligible", "reason": " "},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写原因" in page and fresh(db, a).status == "submitted"
    client.post(f"/applications/{a.id}/screen", data={"action": "mark_ineligible", "reason": "不符合申报条件"})
    assert fresh(db, a).status == "ineligible"


def test_return_needs_reason_and_future_deadline_then_the_organisation_sees_it(client, db, login_as, officer_world):
    _call, _officer, a = officer_world
    page = client.post(f"/applications/{a.id}/screen", data={"action": "return", "reason": "预算需细化"},
                       follow_redirects=True).get_data(as_text=True)
    assert "截止时间" in page and fresh(db, a).status == "submitted"
    past = client.post(f"/applications/{a.id}/screen", data={
        "action": "return", "reason": "预算需细化", "new_deadline": "2026-12-01T18:00"}, follow_redirects=True)
    assert "须晚于当前时间" in past.get_data(as_text=True)
    client.post(f"/applications/{a.id}/screen", data={
        "action": "return", "reason": "预算需细化", "new_deadline": "2027-01-10T17:30"})
    a = fresh(db, a)
    assert a.status == "returned" and a.return_deadline_at == dt.datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
    member = factories.member(a.organization)
    login_as(member)
    mine = client.get("/applications/mine").get_data(as_text=True)
    assert "退回修改" in mine and "预算需细化" in mine
    detail = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "2027-01-10 17:30" in detail and "修改并重新提交" in detail


def test_only_submitted_applications_are_screened(client, db, officer_world):
    _call, _officer, a = officer_world
    client.post(f"/applications/{a.id}/screen", data={"action": "mark_eligible"})
    assert client.post(f"/applications/{a.id}/screen", data={"action": "mark_ineligible",
                                                             "reason": "x"}).status_code == 403
    assert fresh(db, a).status == "eligible"


def test_officer_of_a_sibling_unit_cannot_see_or_screen(client, db, login_as, officer_world):
    call, _officer, a = officer_world
    sibling = factories.host_unit(level="district", parent=call.host_unit.parent)
    login_as(factories.user(roles=("officer",), unit=sibling))
    assert client.get(f"/applications/{a.id}").status_code == 403
    assert client.get(f"/calls/{call.id}/applications").status_code == 403
    assert client.get(f"/calls/{call.id}/applications.xlsx").status_code == 403
    assert client.post(f"/applications/{a.id}/screen", data={"action": "mark_eligible"}).status_code == 403
    assert client.get(f"/applications/{a.id}/pdf").status_code == 403


def test_auditor_reads_but_cannot_screen(client, db, login_as, officer_world):
    call, _officer, a = officer_world
    login_as(factories.user(roles=("auditor",), unit=call.host_unit))
    assert client.get(f"/calls/{call.id}/applications").status_code == 200
    assert client.get(f"/applications/{a.id}").status_code == 200
    assert client.post(f"/applications/{a.id}/screen", data={"action": "mark_eligible"}).status_code == 403


def test_drafts_stay_private(client, db, officer_world):
    call, _officer, _a = officer_world
    draft = af.application(call, factories.organization(name="草稿组织"), complete=False)
    db.session.commit()
    assert client.get(f"/applications/{draft.id}").status_code == 403
    assert "草稿组织" not in client.get(f"/calls/{call.id}/applications").get_data(as_text=True)


def test_filters(client, db, officer_world):
    call, _officer, _a = officer_world
    other = af.application(call, factories.organization(name="海门彩虹社工", district="海门区"),
                           status=ApplicationStatus.ELIGIBLE)
    other.category = call.categories[1]
    db.session.commit()
    url = f"/calls/{call.id}/applications"

    def names(**params):
        html = client.get(url, query_string=params).get_data(as_text=True)
        return {n for n in ("阳光为老服务中心", "海门彩虹社工") if n in html}

    assert names() == {"阳光为老服务中心", "海门彩虹社工"}
    assert names(district="海门区") == {"海门彩虹社工"}
    assert names(status="submitted") == {"阳光为老服务中心"}
    assert names(category=str(call.categories[1].id)) == {"海门彩虹社工"}
    assert names(q="阳光") == {"阳光为老服务中心"}
    assert names(q="%") == set(), "LIKE wildcards are matched literally"
    # the count is a query of its own (joining the organisations only for their filters): it agrees
    for params, n in (({}, 2), ({"district": "海门区"}, 1), ({"status": "submitted"}, 1), ({"q": "阳光"}, 1),
                      ({"q": "%"}, 0), ({"category": str(call.categories[1].id), "district": "崇川区"}, 0)):
        assert f"共 {n} 条" in client.get(url, query_string=params).get_data(as_text=True), params


def test_excel_export(client, db, officer_world):
    call, _officer, a = officer_world
    resp = client.get(f"/calls/{call.id}/applications.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.data)).active
    headers = [c.value for c in ws[2]]
    assert headers[:3] == ["申报编号", "项目名称", "申报单位"] and "申请资助金额（元）" in headers
    row = [c.value for c in ws[3]]
    assert row[0] == a.number and row[2] == "阳光为老服务中心" and row[8] == "已提交"
    assert float(row[headers.index("申请资助金额（元）")]) == 50000.00
    assert float(row[headers.index("自筹配套（元）")]) == 12500.00
    assert ws.cell(row=3, column=10).number_format == "#,##0.00"
    assert ws.max_row == 3


def _bulk_applications(db, call, n):
    """n submitted applications in one INSERT per table (organisations, applications)."""
    from grants.organizations.models import Organization

    start = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Organization.id), 0))) + 1
    db.session.execute(sa.insert(Organization), [
        dict(id=start + i, name=f"批量组织{start + i}", legal_form="service_institution", uscc=None,
             filing_number=f"B{start + i}", status="verified", district="崇川区" if i % 2 else "海门区",
             rating=3, blacklisted=False) for i in range(n)])
    db.session.execute(sa.insert(Application), [
        dict(call_id=call.id, organization_id=start + i, category_id=call.categories[i % 2].id,
             number=f"B-{start + i:06d}", project_name=f"批量项目{start + i}", status="submitted",
             requested_fen=5_000_000, own_funding_fen=1_000_000, total_budget_fen=6_000_000,
             submitted_at=IN_WINDOW) for i in range(n)])
    db.session.commit()


def _count_queries(db, client, url) -> tuple[int, int]:
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    # Start cold, as a real request does: the tests share one app context, so drop the session's
    # cached objects and Flask-Login's cached user.
    from flask import g

    db.session.remove()
    g.pop("_login_user", None)
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        resp = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert resp.status_code == 200
    import os
    if os.environ.get("SHOW_QUERIES"):
        print("\n---", url, len(statements))
        for st in statements:
            print("   ", " ".join(st.split())[:160])
    return len(statements), resp


def test_list_query_count_is_fixed(client, db, officer_world, capsys):
    """10 and 10,000 applications render with the same number of queries."""
    call, _officer, _a = officer_world
    _bulk_applications(db, call, 9)
    url = f"/calls/{call.id}/applications?category={call.categories[0].id}&district=崇川区"
    small, resp = _count_queries(db, client, f"/calls/{call.id}/applications")
    assert "批量项目" in resp.get_data(as_text=True)
    small_filtered, _ = _count_queries(db, client, url)
    _bulk_applications(db, call, 9_990)
    large, resp = _count_queries(db, client, f"/calls/{call.id}/applications")
    html = resp.get_data(as_text=True)
    assert "共 10000 条" in html and html.count("<tr>") == 51  # header + 50 rows
    large_filtered, _ = _count_queries(db, client, url)
    with capsys.disabled():
        print(f"\n[query count] screening list: 10 rows → {small} queries, 10,000 rows → {large} queries; "
              f"filtered: {small_filtered} → {large_filtered}")
    assert small == large and small_filtered == large_filtered
    # One checks that the log-in session is still live (accounts.sessions); two count the navigation's to-do
    # badges (grants/main/workbench.py), whatever the data size.
    assert large <= 14


def test_screening_panel_shows_the_rules_as_they_stand(client, db, officer_world):
    _call, _officer, a = officer_world
    assert "资格条件和申报数量均符合要求" in client.get(f"/applications/{a.id}").get_data(as_text=True)
    a.organization.blacklisted = True
    db.session.commit()
    html = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "严重违法失信名单" in html


@pytest.mark.parametrize("action,data,status", [
    ("mark_eligible", {"reason": ""}, "eligible"),
    ("mark_ineligible", {"reason": "登记未满一年"}, "ineligible"),
    ("return", {"reason": "请补充预算依据", "new_deadline": "2027-01-08T17:00"}, "returned"),
])
def test_every_screening_decision_is_audited(client, db, officer_world, action, data, status):
    _call, officer, a = officer_world
    client.post(f"/applications/{a.id}/screen", data={"action": action, **data})
    assert fresh(db, a).status == status
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == f"application.{action}",
                                                       AuditLog.object_id == str(a.id))).one()
    assert row.actor_id == officer.id and row.after["status"] == status and row.after["reason"] == data["reason"]
    if action == "return":
        assert row.after["return_deadline_at"].startswith("2027-01-08T09:00")
