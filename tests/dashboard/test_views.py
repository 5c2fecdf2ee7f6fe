"""Dashboard pages: who may see them, what they show, the Excel download, the drill-down list, and a
fixed number of queries whatever the size of the programme."""
from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import load_workbook

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.timeutil import UTC
from grants.finance import services as fin
from tests import factories
from tests.finance import factories as ff


def _programme(db, n_contracts: int = 1, call=None):
    """A finalized call with `n_contracts` active contracts whose first payment is released, one reclaim and
    one mid-term tranche assessed at 80 % (so something is withheld)."""
    call = call or ff.funded_call()
    approver, releaser = ff.finance_user(call), ff.finance_user(call)
    contracts = []
    for i in range(n_contracts):
        org = factories.organization(district="甲区" if i % 2 else "乙区")
        c = ff.active_contract(call, org=org, amount_fen=5_000_000 + i)
        payment = ff.first_payment(c)
        fin.approve_payment(payment, approver)
        fin.release_payment(payment, releaser, f"REF-{call.id}-{i}", dt.date(2026, 5, 1))
        contracts.append(c)
    fin.record_reclaim(ff.first_payment(contracts[0]), approver, 100_000, "多报人次，追回部分资金")
    ff.assess_tranche(contracts[0].tranches[1], payment_pct=80, grade="pass", score=65)
    db.session.commit()
    return call, contracts


def _bulk_applications(db, call, n: int, start: int):
    orgs = [dict(name=f"批量组织{start + i}", legal_form="service_institution", uscc=None, filing_number=f"B{start + i}",
                 district="丙区", status="verified") for i in range(n)]
    db.session.execute(sa.insert(factories.Organization), orgs)
    ids = db.session.scalars(sa.select(factories.Organization.id).where(
        factories.Organization.name.in_([o["name"] for o in orgs]))).all()
    db.session.execute(sa.insert(Application), [
        dict(call_id=call.id, organization_id=oid, category_id=call.categories[0].id, number=f"BULK-{oid:07d}",
             project_name=f"批量项目{oid}", status="submitted", requested_fen=3_000_000, own_funding_fen=0,
             total_budget_fen=3_000_000, submitted_at=dt.datetime(2026, 3, 20, tzinfo=UTC)) for oid in ids])
    db.session.commit()


def test_officer_sees_figures_charts_tables_and_drill_links(client, db, login_as):
    call, contracts = _programme(db, 2)
    login_as(ff.officer(call))
    html = client.get("/dashboard/").get_data(as_text=True)
    for chart in ("chart-flow", "chart-category", "chart-district", "chart-years", "chart-grades"):
        assert f'id="{chart}"' in html
    assert "<svg" in html and "cdn" not in html.lower() and "<script" not in html.split("<main")[1].split("</main>")[0]
    # The money table beside the flow chart, in yuan: 2 awards of ¥50,000.00 and ¥50,000.01.
    assert "¥100,000.01" in html
    assert 'id="table-category"' in html and 'id="table-district"' in html and 'id="table-years"' in html
    links = set(re.findall(r'href="(/dashboard/items\?[^"]+)"', html))
    assert any("set=funded" in link for link in links) and any("set=reclaimed" in link for link in links)
    for link in sorted(links)[:40]:  # every kind of drill-down link answers
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_drill_down_lists_the_projects_with_their_money(client, db, login_as):
    call, contracts = _programme(db, 3)
    login_as(ff.officer(call))
    html = client.get("/dashboard/items?set=reclaimed").get_data(as_text=True)
    assert "共 1 条" in html and "¥1,000.00" in html  # the reclaim of ¥1,000.00
    html = client.get("/dashboard/items?set=funded&district=甲区").get_data(as_text=True)
    assert "共 1 条" in html
    html = client.get(f"/dashboard/items?set=withheld&year={call.year}").get_data(as_text=True)
    assert "共 1 条" in html and "¥3,000.00" in html  # 20 % of the ¥15,000.00 mid-term tranche
    assert "共 0 条" in client.get("/dashboard/items?set=withheld&year=2019").get_data(as_text=True)


def _d(cell) -> Decimal:
    """A yuan cell as read back (openpyxl returns numbers as int or float) to the fen."""
    return Decimal(str(cell)).quantize(Decimal("0.01"))


def test_excel_download_has_the_tables(client, db, login_as):
    call, _contracts = _programme(db, 2)
    login_as(ff.officer(call))
    resp = client.get(f"/dashboard/export.xlsx?year={call.year}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["总览", "按类别", "按区县", "逐年对比", "按资金来源", "绩效产出", "结项等级", "覆盖率"]
    summary = {row[0]: row[1] for row in wb["总览"].iter_rows(min_row=3, values_only=True)}
    assert summary["获资助项目（个）"] == 2 and _d(summary["立项资助金额"]) == Decimal("100000.01")
    assert _d(summary["已追回金额"]) == Decimal("1000.00")
    sources = {row[0]: row for row in wb["按资金来源"].iter_rows(min_row=3, values_only=True)}
    assert _d(sources["福彩公益金"][2]) + _d(sources["财政配套"][2]) == Decimal("100000.01")


def test_who_may_see_the_dashboard(client, db, login_as):
    call, _contracts = _programme(db, 1)
    assert client.get("/dashboard/").status_code == 302  # anonymous: to the log-in page
    for role, code in (("auditor", 200), ("officer", 200), ("finance", 403), ("applicant", 403), ("expert", 403),
                       ("evaluator", 403), ("admin", 403)):
        login_as(role)
        for url in ("/dashboard/", "/dashboard/items?set=funded", "/dashboard/export.xlsx"):
            assert client.get(url).status_code == code, (role, url)


def test_other_units_figures_stay_hidden(client, db, login_as):
    call, _contracts = _programme(db, 1)
    other = ff.funded_call(factories.host_unit(name="别处民政局"))
    ff.active_contract(other)
    db.session.commit()
    login_as(ff.officer(call))
    assert client.get(f"/dashboard/?call={other.id}").status_code == 404
    assert client.get(f"/dashboard/export.xlsx?call={other.id}").status_code == 404
    assert "共 0 条" in client.get(f"/dashboard/items?set=funded&call={other.id}").get_data(as_text=True)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "别处民政局" not in html and ">1</div>" in html  # one funded project: its own


def _count_queries(db, client, url) -> int:
    from flask import g

    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.remove()
    g.pop("_login_user", None)
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        resp = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert resp.status_code == 200
    if os.environ.get("SHOW_QUERIES"):
        print("\n---", url, len(statements))
        for st in statements:
            print("   ", " ".join(st.split())[:200])
    return len(statements)


def test_query_count_is_fixed(client, db, login_as, capsys):
    """A small and a larger programme are answered with the same number of queries."""
    call, _contracts = _programme(db, 1)
    login_as(ff.officer(call))
    urls = ["/dashboard/", f"/dashboard/?year={call.year}&level=city", "/dashboard/items?set=funded",
            "/dashboard/items?set=received&category=为老服务", "/dashboard/export.xlsx"]
    call_id = call.id
    small = [_count_queries(db, client, u) for u in urls]
    call = db.session.get(Call, call_id)
    _programme(db, 6, call=ff.funded_call(call.host_unit, year=2025))
    _bulk_applications(db, call, 400, start=1)
    large = [_count_queries(db, client, u) for u in urls]
    with capsys.disabled():
        print(f"\n[query count] dashboard pages, small → large programme: {small} → {large}")
    assert small == large
    assert max(large) <= 20


def test_money_by_source_is_split_as_the_ledger_splits_it(db):
    """Odd amounts charged 60/40 to two sources: each payment, reclaim and withheld part rounds as in the ledger."""
    from collections import Counter

    from grants.dashboard import services as svc
    from grants.finance.ledger import call_ledger

    call, contracts = _programme(db, 5)
    fin.record_reclaim(ff.first_payment(contracts[3]), ff.finance_user(call), 33_333, "追回")
    ff.assess_tranche(contracts[1].tranches[1], payment_pct=80, grade="pass", score=61)
    want = Counter()
    for line in call_ledger(call).sources:
        kind = next((s.kind for s in call.funding_sources if s.id == line.source_id), "")
        for what in ("committed", "paid", "withheld", "reclaimed"):
            want[(kind, what)] += getattr(line, f"{what}_fen")
    board, _calls = svc.dashboard_for(call.host_unit_id, svc.Filters())
    got = Counter()
    for s in board.by_source:
        for what, attr in (("committed", "awarded_fen"), ("paid", "paid_fen"), ("withheld", "withheld_fen"),
                           ("reclaimed", "reclaimed_fen")):
            got[(s.kind, what)] += getattr(s, attr)
    assert +got == +want
