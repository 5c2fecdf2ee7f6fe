"""History import: a 5-year, 3-source programme built as an Excel file, imported, and every dashboard figure
compared per source with the file's sums to the fen; a second import changes nothing. Also the template, the
validation preview (every problem by sheet / row / column), the admin page, the command line, the
organisations-only import, and imported records in eligibility, the organisation record and disclosure."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.extensions import db as _db
from grants.history.services import import_history, read_history
from tests import factories
from tests.history.programme import KINDS, programme

UNIT = "南通市民政局"


@pytest.fixture()
def ctx(app, db):
    with app.test_request_context():
        yield


def _counts(db) -> dict:
    from grants.accounts.models import User
    from grants.applications.models import Application
    from grants.awards.models import AwardAllocation
    from grants.contracts.models import Contract, Tranche
    from grants.core.models import AuditLog
    from grants.dashboard.models import ProjectSourceSummary
    from grants.finance.models import Payment, SourceCharge
    from grants.organizations.models import Organization
    from grants.reminders.models import Notification

    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (
        Application, AwardAllocation, Contract, Tranche, Payment, SourceCharge, ProjectSourceSummary, Organization,
        User, AuditLog, Notification)}


def test_a_five_year_three_source_programme_imports_to_the_fen(ctx, db):
    from grants.dashboard import services as dash
    from grants.disclosure.services import project_page
    from grants.finance.ledger import call_ledger
    from grants.calls.models import Call

    unit = factories.host_unit(name=UNIT)
    db.session.commit()
    data, want = programme(UNIT)
    plan = read_history(data)
    assert plan.problems == []
    assert (len(plan.calls), len(plan.projects), plan.new_payments) == (5, 40, want["payments"])
    result = import_history(plan, None)
    db.session.commit()
    assert (result.calls, result.projects, result.payments) == (5, 40, want["payments"])

    board, _calls = dash.dashboard_for(unit.id, dash.Filters())
    t = board.total
    assert (t.funded, t.awarded_fen, t.paid_fen, t.withheld_fen, t.reclaimed_fen) == (
        40, sum(want["awarded"].values()), want["paid"], want["withheld"], 0)
    assert t.orgs_funded == len(want["orgs"])
    for year, figures in want["by_year"].items():
        got = board.by_year[year]
        assert (got.awarded_fen, got.paid_fen, got.withheld_fen) == (
            figures["awarded"], figures["paid"], figures["withheld"]), year
    by_kind = {s.kind: s for s in board.by_source}
    assert set(by_kind) == set(KINDS)
    for kind in KINDS:
        assert by_kind[kind].budget_fen == want["budget"][kind], kind
        assert by_kind[kind].awarded_fen == want["awarded"][kind], kind
    assert sum(s.paid_fen for s in board.by_source) == want["paid"]
    assert sum(s.withheld_fen for s in board.by_source) == want["withheld"]
    # The four settled years: per source, paid + withheld is exactly what the file awarded from it.
    settled, _calls = dash.dashboard_for(unit.id, dash.Filters(year_from=2018, year_to=2021))
    for s in settled.by_source:
        assert s.paid_fen + s.withheld_fen == s.awarded_fen, s.kind
    # Ledger = dashboard, per call and source; the disclosure pages show every call's projects.
    for call in _db.session.scalars(sa.select(Call).where(Call.import_ref.is_not(None))):
        ledger = call_ledger(call)
        one, _calls = dash.dashboard_for(unit.id, dash.Filters(call_id=call.id))
        kind_of = {s.id: s.kind for s in call.funding_sources}
        assert {kind_of[line.source_id]: (line.committed_fen, line.paid_fen, line.withheld_fen)
                for line in ledger.sources} == {s.kind: (s.awarded_fen, s.paid_fen, s.withheld_fen)
                                                 for s in one.by_source}
        page = project_page(call)
        assert page.total == 8 and page.total_awarded_fen == ledger.total.committed_fen
        assert page.total_paid_fen == ledger.total.net_paid_fen

    # Nothing was sent and no organisation got a log-in; the system users cannot log in.
    counts = _counts(db)
    assert counts["Notification"] == 0
    assert counts["User"] == 2
    from grants.accounts.models import User

    assert not any(u.is_active_account for u in _db.session.scalars(sa.select(User)))

    # The same file again: nothing changes.
    again = read_history(data)
    assert (len(again.calls), len(again.projects), len(again.orgs)) == (0, 0, 0)
    assert (again.existing_calls, again.existing_projects) == (5, 40)
    import_history(again, None)
    db.session.commit()
    assert _counts(db) == counts
    board2, _calls = dash.dashboard_for(unit.id, dash.Filters())
    assert board2.total == board.total and board2.by_source == board.by_source


def test_imported_records_feed_eligibility_the_record_and_disclosure(ctx, client, db):
    from grants.applications.models import Application
    from grants.applications.services import eligibility_problems
    from grants.calls.models import Call
    from grants.organizations.models import Organization
    from grants.organizations.record import organization_record

    factories.host_unit(name=UNIT)
    db.session.commit()
    data, _want = programme(UNIT, years=range(2020, 2022), projects_per_year=6, orgs=6, seed=7)
    import_history(read_history(data), None)
    db.session.commit()
    previous = _db.session.scalar(sa.select(Call).where(Call.import_ref == "NT-2020"))
    failed = _db.session.scalar(sa.select(Application).where(Application.call_id == previous.id,
                                                             Application.final_grade.is_not(None)))
    failed.final_grade = "fail"
    db.session.commit()
    # 上一届结项不合格: this year's call excludes the organisation.
    from tests.awards import factories as af

    new_call = af.scored_call(unit=previous.host_unit)
    new_call.previous_call_id, new_call.exclude_failed_previous = previous.id, True
    app = af.scored_application(new_call, org=failed.organization)
    assert any("不合格" in p for p in eligibility_problems(app))
    # The organisation record lists the imported projects.
    org = _db.session.get(Organization, failed.organization_id)
    officer = factories.user(roles=("officer",), unit=previous.host_unit)
    rec = organization_record(org, officer)
    row = next(r for r in rec.rows if r.project_name == failed.project_name)
    assert row.final_grade == "fail" and row.contract_number and row.released_fen > 0
    db.session.commit()
    r = client.get(f"/disclosure/{previous.id}")
    assert r.status_code == 200 and failed.project_name in r.text


def _broken_file() -> bytes:
    data, _want = programme(UNIT, years=range(2019, 2020), projects_per_year=3, orgs=3, seed=1)
    wb = load_workbook(io.BytesIO(data))
    ws = wb["项目"]
    ws["A3"] = "NT2019-001"  # a project number twice
    ws.cell(row=2, column=6).value = "2019-02-30"  # 立项日期 that does not exist
    ws.cell(row=4, column=11).value = "12,3.4.5"  # 福彩公益金 that is not an amount
    wb["拨付"]["E2"] = "99999999"  # paid more than planned
    wb["组织"]["C2"] = "91320600MA1X00000²"  # a bad credit code
    wb["活动"]["D2"] = "不存在的民政局"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_problem_is_listed_by_sheet_row_and_column(ctx, db):
    factories.host_unit(name=UNIT)
    db.session.commit()
    plan = read_history(_broken_file())
    found = {(p.sheet, p.row, p.column) for p in plan.problems}
    assert ("活动", 2, "主办单位") in found
    assert ("组织", 2, "统一社会信用代码") in found
    assert ("项目", 3, "项目编号") in found
    assert ("项目", 2, "立项日期") in found
    assert ("项目", 4, "福彩公益金（元）") in found
    assert ("拨付", 2, "实付金额（元）") in found
    assert all(p.message for p in plan.problems)
    with pytest.raises(Exception):
        import_history(plan, None)


def test_admin_page_template_preview_and_confirm(client, db, login_as, app):
    factories.host_unit(name=UNIT)
    admin = login_as("admin")
    r = client.get("/admin/history")
    assert r.status_code == 200 and "历史数据导入" in r.text
    r = client.get("/admin/history/template.xlsx")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["填写说明", "活动", "组织", "项目", "拨付"]
    assert wb["项目"]["A1"].value == "项目编号 *" and "再次导入" in "".join(
        str(c.value) for c in wb["填写说明"]["A"])
    r = client.post("/admin/history/preview", data={"kind": "history",
                                                    "file": (io.BytesIO(_broken_file()), "历史.xlsx")})
    assert r.status_code == 422 and 'id="import-problems"' in r.text and "不存在的民政局" in r.text
    r = client.post("/admin/history/preview", data={"kind": "history", "file": (io.BytesIO(b"not excel"), "x.xlsx")},
                    follow_redirects=True)
    assert "无法读取该文件" in r.text
    data, want = programme(UNIT, years=range(2019, 2021), projects_per_year=3, orgs=4, seed=3)
    r = client.post("/admin/history/preview", data={"kind": "history", "file": (io.BytesIO(data), "历史.xlsx")})
    assert r.status_code == 200 and "校验通过" in r.text
    token = r.text.split('name="token" value="')[1].split('"')[0]
    r = client.post("/admin/history/confirm", data={"token": "../../etc/passwd", "kind": "history"},
                    follow_redirects=True)
    assert "预览已失效" in r.text
    r = client.post("/admin/history/confirm", data={"token": token, "kind": "history"}, follow_redirects=True)
    assert "已导入：组织 4 个，活动 2 届，项目 6 个" in r.text
    from grants.core.models import AuditLog

    rows = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "history.import")).all()
    assert len(rows) == 4 + 2 + 6 and all(r.after["imported"] is True for r in rows)
    assert {r.actor_id for r in rows} == {admin.id}
    # The confirmed file is gone: confirming again is refused.
    r = client.post("/admin/history/confirm", data={"token": token, "kind": "history"}, follow_redirects=True)
    assert "预览已失效" in r.text


def test_organisations_only_import(ctx, db):
    from grants.organizations.models import Organization

    data, _want = programme(UNIT, years=range(2019, 2020), projects_per_year=1, orgs=5)
    # Organisations are registered with the top of the host-unit tree, which must exist first.
    assert any("尚未建立主办单位" in p.message for p in read_history(data, organizations_only=True).problems)
    top = factories.host_unit(name="某市民政局", level="city")
    db.session.commit()
    plan = read_history(data, organizations_only=True)  # the 活动/项目 sheets are not read
    assert plan.problems == [] and len(plan.orgs) == 5
    import_history(plan, None)
    db.session.commit()
    orgs = _db.session.scalars(sa.select(Organization)).all()
    assert len(orgs) == 5 and all(o.status == "verified" and not o.members and o.host_unit_id == top.id for o in orgs)
    assert len(read_history(data, organizations_only=True).orgs) == 0


def test_command_line_import(app, db):
    import tempfile

    with app.app_context():
        factories.host_unit(name=UNIT)
        _db.session.commit()
    data, want = programme(UNIT, years=range(2019, 2021), projects_per_year=2, orgs=3, seed=5)
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        f.write(data)
        f.flush()
        runner = app.test_cli_runner()
        out = runner.invoke(args=["import", "history", f.name, "--dry-run"])
        assert out.exit_code == 0 and "未写入" in out.output
        out = runner.invoke(args=["import", "history", f.name])
        assert out.exit_code == 0 and "项目 4" in out.output, out.output
        out = runner.invoke(args=["import", "history", f.name])
        assert out.exit_code == 0 and "项目 0" in out.output
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        f.write(_broken_file())
        f.flush()
        out = app.test_cli_runner().invoke(args=["import", "history", f.name])
        assert out.exit_code != 0 and "不存在的民政局" in out.output
