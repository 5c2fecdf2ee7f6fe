"""The read resources answer what the pages show, to the same people: public notices and calls, contracts
(and the organisation's signature), organisations, the caller's own notifications."""
from __future__ import annotations

import sqlalchemy as sa

from grants.contracts.models import Contract
from grants.reminders.models import Notification
from tests import factories
from tests.awards.factories import world_objects as award_world
from tests.contracts import factories as contract_factories


def test_public_notices_and_calls_need_no_token(db, api):
    unit = factories.host_unit()
    org = factories.organization(name="公示的组织")
    world = award_world(org, unit.id)
    draft_call = contract_factories.call(unit, status="draft")
    db.session.commit()
    notices = api(None).get("/api/v1/notices").get_json()["items"]
    assert len(notices) == 1
    notice = api(None).get(f"/api/v1/notices/{notices[0]['call_id']}").get_json()
    assert [(a["id"], a["organization_name"], a["amount"]["fen"]) for a in notice["awards"]] == [
        (world["award_id"], "公示的组织", 5_000_000)]
    assert "contact" not in str(notice) and "13900000000" not in str(notice)
    assert api(None).get(f"/api/v1/calls/{draft_call.id}").status_code == 404
    assert api(None).get("/api/v1/notices/999999").status_code == 404


def test_contracts_read_and_signed_by_the_organisation(db, api, make_token):
    award = contract_factories.award()
    officer = factories.user(roles=("officer",), unit=award.call.host_unit)
    contract = contract_factories.contract(award, status="issued", officer=officer)
    admin = factories.member(award.organization)
    plain = factories.member(award.organization, is_admin=False)
    stranger = factories.user_with_role("applicant")
    db.session.commit()
    mine = api(make_token(admin)).get("/api/v1/contracts").get_json()["items"]
    assert [c["id"] for c in mine] == [contract.id] and len(mine[0]["tranches"]) == 3
    assert sum(t["planned"]["fen"] for t in mine[0]["tranches"]) == mine[0]["amount"]["fen"]
    assert api(make_token(officer)).get(f"/api/v1/contracts/{contract.id}").status_code == 200
    assert api(make_token(stranger)).get(f"/api/v1/contracts/{contract.id}").status_code == 404
    assert api(make_token(stranger)).get("/api/v1/contracts").get_json()["items"] == []
    resp = api(make_token(plain)).post(f"/api/v1/contracts/{contract.id}/sign",
                                       json={"signer_name": "张三", "signer_title": "理事长"})
    assert resp.status_code == 403
    resp = api(make_token(admin)).post(f"/api/v1/contracts/{contract.id}/sign", json={"signer_name": "", "signer_title": "理事长"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "signer_name"
    resp = api(make_token(admin)).post(f"/api/v1/contracts/{contract.id}/sign",
                                       json={"signer_name": "张三", "signer_title": "理事长"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "signed_by_org"
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).signed_by_id == admin.id


def test_organizations(db, api, make_token):
    member = factories.user_with_role("applicant")
    other = factories.organization(name="别家")
    finance = factories.user_with_role("finance")
    expert = factories.user_with_role("expert")
    db.session.commit()
    own = api(make_token(member)).get("/api/v1/organizations").get_json()["items"]
    assert [o["id"] for o in own] == [member.organization.id]
    assert api(make_token(member)).get(f"/api/v1/organizations/{other.id}").status_code == 404
    staff = api(make_token(finance)).get("/api/v1/organizations?q=别家").get_json()["items"]
    assert [o["id"] for o in staff] == [other.id]
    detail = api(make_token(finance)).get(f"/api/v1/organizations/{other.id}").get_json()
    assert detail["bank_account_number"] == other.bank_account_number
    assert api(make_token(expert)).get("/api/v1/organizations").status_code == 403


def test_notifications_are_the_callers_own(db, api, make_token):
    me = factories.user_with_role("officer")
    other = factories.user_with_role("officer")
    db.session.add_all([Notification(user_id=me.id, kind="general", title="我的", link="/"),
                        Notification(user_id=other.id, kind="general", title="别人的", link="/")])
    db.session.commit()
    mine = make_token(me, scopes=["notifications:write"])
    items = api(mine).get("/api/v1/notifications?unread=true").get_json()["items"]
    assert [n["title"] for n in items] == ["我的"]
    theirs = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == other.id))
    assert api(mine).post(f"/api/v1/notifications/{theirs}/read").status_code == 404
    resp = api(mine).post(f"/api/v1/notifications/{items[0]['id']}/read")
    assert resp.status_code == 200 and resp.get_json()["read_at"]
    assert api(mine).get("/api/v1/notifications?unread=true").get_json()["items"] == []
