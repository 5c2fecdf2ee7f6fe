"""组织履历: an organisation's applications, scores, awards, contracts with final grades and payments across
years, for staff of the unit subtree and for the organisation's own members; a fixed number of queries."""
from __future__ import annotations

import datetime as dt
import re

from grants.extensions import db
from tests import factories
from tests.finance import factories as ff


def _record(client, org_id: int) -> str:
    resp = client.get(f"/organizations/{org_id}/record")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_officer_sees_the_history(client, login_as, world):
    login_as(factories.user(roles=("officer",), unit=world.unit))
    html = _record(client, world.org_a.id)
    row = html.split(f'id="record-{world.contract_a.application_id}"')[1].split("</tr>")[0]
    for text in ("2025", "2025年南通市公益创投大赛", "银龄互助·幸福邻里", "85.50", "¥123,456.78", world.contract_a.number,
                 "优秀", "¥49,382.71", "¥1,000.00"):
        assert text in row, text
    payments = html.split('id="record-payments"')[1]
    assert "首期款" in payments and "2025-07-15" in payments and "已支付" in payments
    assert "草稿中的大赛" in html  # every call of the unit, not only disclosed ones


def test_history_shows_withheld_and_failed_grades(client, login_as, world):
    with client.application.test_request_context():
        contract = db.session.merge(world.contract_a)
        tranche = contract.tranches[1]
        ff.assess_tranche(tranche, payment_pct=80, grade="pass")
        contract.application.final_grade = "fail"
        db.session.commit()
    login_as(factories.user(roles=("auditor",), unit=world.unit))
    html = _record(client, world.org_a.id)
    row = html.split(f'id="record-{world.contract_a.application_id}"')[1].split("</tr>")[0]
    assert "不合格" in row and 'id="failed-badge"' in html
    planned = world.contract_a.tranches[1].planned_fen
    withheld = planned - (planned * 80 + 50) // 100
    assert f"¥{withheld // 100:,}.{withheld % 100:02d}" in row


def test_staff_see_only_their_unit_subtree(client, login_as, world):
    login_as(factories.user(roles=("officer",), unit=factories.host_unit(name="别处民政局")))
    html = _record(client, world.org_a.id)
    assert "暂无申报记录" in html and "2025年南通市公益创投大赛" not in html
    # a district below the call's unit does not see the city's calls either
    login_as(factories.user(roles=("finance",), unit=factories.host_unit(level="district", parent=world.unit)))
    assert "2025年南通市公益创投大赛" not in _record(client, world.org_a.id)


def test_finance_sees_money_but_no_scores(client, login_as, world):
    login_as(factories.user(roles=("finance",), unit=world.unit))
    html = _record(client, world.org_a.id)
    assert "¥49,382.71" in html and "85.50" not in html and "评审得分" not in html


def test_members_see_their_own_record_only(client, login_as, world):
    member = factories.member(world.org_b, is_admin=False)
    login_as(member)
    html = _record(client, world.org_b.id)
    assert "和平桥街道邻里互助会" in html and "¥30,000.00" in html
    assert client.get(f"/organizations/{world.org_a.id}/record").status_code == 403


def test_others_are_refused(client, login_as, world):
    assert client.get(f"/organizations/{world.org_a.id}/record").status_code in (302, 401)
    for role in ("expert", "evaluator", "admin"):
        login_as(role)
        assert client.get(f"/organizations/{world.org_a.id}/record").status_code == 403, role


def test_linked_from_screening_and_organisation_pages(client, login_as, world):
    login_as(factories.user(roles=("officer",), unit=world.unit))
    link = f'href="/organizations/{world.org_a.id}/record"'
    assert link in client.get(f"/calls/{world.call.id}/applications").get_data(as_text=True)
    assert link in client.get(f"/applications/{world.contract_a.application_id}").get_data(as_text=True)
    assert link in client.get(f"/organizations/{world.org_a.id}").get_data(as_text=True)


def test_query_count_does_not_grow_with_history(app, client, login_as, world, count_queries):
    login_as(factories.user(roles=("officer",), unit=world.unit))
    url = f"/organizations/{world.org_a.id}/record"
    client.get(url)
    db.session.expunge_all()
    with count_queries() as small:
        client.get(url)
    with app.test_request_context():
        from grants.finance import services as finance
        from grants.organizations.models import HostUnit, Organization

        org = db.session.get(Organization, world.org_a.id)
        unit = db.session.get(HostUnit, world.unit.id)
        for year in (2023, 2024):
            call = ff.funded_call(unit, title=f"{year}年大赛", year=year)
            contract = ff.active_contract(call, org=org, amount_fen=20_000_00)
            payment = ff.first_payment(contract)
            finance.approve_payment(payment, ff.finance_user(call))
            finance.release_payment(payment, ff.finance_user(call), f"REF-{year}", dt.date(year, 8, 1))
        db.session.commit()
    db.session.expunge_all()
    with count_queries() as large:
        html = client.get(url).get_data(as_text=True)
    assert len(re.findall(r'id="record-\d+"', html)) == 4
    assert large.count == small.count
