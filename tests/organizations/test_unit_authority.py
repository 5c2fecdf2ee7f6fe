"""Who may change what: organisations belong to the unit they are registered with, experts to the unit that
recruited them, bank details only to those who fund or audit; verified facts change through a change request.
Each test reproduces a report of the issue (it failed before the unit checks existed)."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from grants.organizations.models import ChangeRequestStatus, OrganizationChangeRequest, OrgStatus
from tests import factories


def _tree():
    city = factories.host_unit(name="测试市民政局", level="city")
    cc = factories.host_unit(name="测试崇川区", level="district", parent=city)
    hm = factories.host_unit(name="测试海门区", level="district", parent=city)
    street = factories.host_unit(name="测试和平桥街道", level="street", parent=cc)
    return city, cc, hm, street


def test_other_district_officer_cannot_suspend_verify_or_blacklist(client, login_as, db):
    city, cc, hm, _street = _tree()
    running = factories.organization(unit=cc)
    pending = factories.organization(unit=cc, status=OrgStatus.PENDING)
    login_as(factories.user(roles=("officer",), unit=hm))
    assert client.post(f"/organizations/{running.id}/status", data={"action": "suspend", "reason": "x"}).status_code == 403
    assert client.post(f"/organizations/{pending.id}/status", data={"action": "verify"}).status_code == 403
    assert client.post(f"/organizations/{running.id}/blacklist",
                       data={"blacklisted": "1", "reason": "x"}).status_code == 403
    db.session.expire_all()
    assert running.status == OrgStatus.VERIFIED and not running.blacklisted
    assert pending.status == OrgStatus.PENDING


def test_own_unit_and_city_officers_act(client, login_as, db):
    city, cc, _hm, _street = _tree()
    org = factories.organization(unit=cc)
    pending = factories.organization(unit=cc, status=OrgStatus.PENDING)
    login_as(factories.user(roles=("officer",), unit=cc))
    assert client.post(f"/organizations/{pending.id}/status", data={"action": "verify"}).status_code == 302
    login_as(factories.user(roles=("officer",), unit=city))
    assert client.post(f"/organizations/{org.id}/status", data={"action": "suspend", "reason": "违规"}).status_code == 302
    db.session.expire_all()
    assert pending.status == OrgStatus.VERIFIED and org.status == OrgStatus.SUSPENDED


def test_street_officer_cannot_edit_a_city_expert(client, login_as, db):
    from grants.reviews.models import ExpertProfile
    from tests.reviews.factories import expert

    city, _cc, _hm, street = _tree()
    user = expert(employer="南通大学", recruited_by=city)
    profile = db.session.scalar(sa.select(ExpertProfile).where(ExpertProfile.user_id == user.id))
    db.session.commit()
    name = user.display_name
    login_as(factories.user(roles=("officer",), unit=street))
    form = {"display_name": "改过的名字", "employer": "某社会组织", "specialties": "", "phone": "", "title": ""}
    assert client.get(f"/reviews/experts/{profile.id}/edit").status_code == 403
    assert client.post(f"/reviews/experts/{profile.id}/edit", data=form).status_code == 403
    db.session.expire_all()
    assert user.display_name == name and profile.employer == "南通大学"
    # Read-only in the pool: listed, without an edit link.
    page = client.get("/reviews/experts").get_data(as_text=True)
    assert name in page and f"/reviews/experts/{profile.id}/edit" not in page
    # The city (the recruiting unit) edits.
    login_as(factories.user(roles=("officer",), unit=city))
    assert client.post(f"/reviews/experts/{profile.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert user.display_name == "改过的名字"


def test_experts_an_officer_creates_belong_to_the_officers_unit(client, login_as, db):
    from grants.reviews.models import ExpertProfile

    _city, _cc, hm, _street = _tree()
    login_as(factories.user(roles=("officer",), unit=hm))
    resp = client.post("/reviews/experts/new", data={
        "username": "new_expert", "display_name": "新专家", "password": "Str0ng!Passw0rd#", "specialties": "为老服务",
        "employer": "", "phone": "", "title": "", "mobile": "", "email": ""})
    assert resp.status_code == 302
    profile = db.session.scalars(sa.select(ExpertProfile).join(ExpertProfile.user)
                                 .where(sa.text("\"user\".username = 'new_expert'"))).one()
    assert profile.host_unit_id == hm.id


def test_bank_details_only_for_the_org_funders_and_auditors_in_scope(client, login_as, db):
    from tests.finance.factories import active_contract, funded_call

    city, cc, hm, _street = _tree()
    org = factories.organization(unit=cc, bank_account_number="6228000011112222")
    call_ = funded_call(cc)
    active_contract(call_, org=org)
    db.session.commit()
    number = "6228000011112222"

    def sees(user) -> bool:
        login_as(user)
        resp = client.get(f"/organizations/{org.id}")
        assert resp.status_code == 200
        return number in resp.get_data(as_text=True)

    assert sees(factories.member(org))
    assert sees(factories.user(roles=("finance",), unit=cc))  # the funding unit
    assert sees(factories.user(roles=("officer",), unit=city))  # above the funding unit
    assert sees(factories.user(roles=("auditor",), unit=cc))
    assert not sees(factories.user(roles=("finance",), unit=hm))
    assert not sees(factories.user(roles=("officer",), unit=hm))
    assert not sees(factories.user(roles=("auditor",), unit=hm))
    assert not sees(factories.user(roles=("officer",)))  # another tree altogether


def _profile_form(org, **changes) -> dict:
    data = {k: getattr(org, k) or "" for k in (
        "legal_form", "uscc", "filing_number", "filing_office", "registration_authority", "legal_representative",
        "annual_inspection", "district", "street", "community", "address", "business_scope", "contact_name",
        "contact_phone", "contact_email", "bank_account_name", "bank_name", "bank_account_number")}
    data.update(registered_on=org.registered_on.isoformat(), rating=str(org.rating), host_unit_id=str(org.host_unit_id))
    data.update(changes)
    return data


def test_verified_facts_change_only_through_an_approved_change_request(client, login_as, db):
    from grants.calls.models import Call  # noqa: F401  (eligibility reads the organisation's columns)

    _city, cc, hm, _street = _tree()
    org = factories.organization(unit=cc, rating=3, registered_on=dt.date(2018, 1, 1))
    admin = factories.member(org)
    cc_officer = factories.user(roles=("officer",), unit=cc)
    login_as(admin)
    # The reported edit: 5A and registered in 2000, without a certificate → refused, nothing changes.
    resp = client.post(f"/organizations/{org.id}/edit", data=_profile_form(org, rating="5", registered_on="2000-01-01"))
    assert resp.status_code == 200 and "评估等级证书" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert org.rating == 3 and org.registered_on == dt.date(2018, 1, 1)
    # With the certificate: a change request; the verified values stay in force, the status too.
    data = _profile_form(org, rating="5", registered_on="2000-01-01", contact_phone="0513-12345678")
    data["rating_certificate"] = (io.BytesIO(b"%PDF-1.4 certificate"), "证书.pdf")
    resp = client.post(f"/organizations/{org.id}/edit", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    assert org.rating == 3 and org.registered_on == dt.date(2018, 1, 1) and org.status == OrgStatus.VERIFIED
    assert org.contact_phone == "0513-12345678"  # contact details change freely
    cr = db.session.scalars(sa.select(OrganizationChangeRequest)).one()
    assert cr.status == ChangeRequestStatus.PENDING and cr.certificate_id is not None
    assert cr.before == {"rating": 3, "registered_on": "2018-01-01"}
    assert cr.after == {"rating": 5, "registered_on": "2000-01-01"}
    # The unit's officers are told; officers of another district may not decide it.
    from grants.reminders.models import Notification

    told = db.session.scalars(sa.select(Notification.title).where(Notification.user_id == cc_officer.id)).all()
    assert any("变更申请待审核" in t for t in told)
    login_as(factories.user(roles=("officer",), unit=hm))
    assert client.post(f"/organizations/change-requests/{cr.id}", data={"decision": "approve"}).status_code == 403
    login_as(cc_officer)
    page = client.get(f"/organizations/change-requests/{cr.id}").get_data(as_text=True)
    assert "评估等级" in page and "3A" in page and "5A" in page and "2000-01-01" in page
    cert = client.get(f"/organizations/change-requests/{cr.id}/certificate")
    cert.close()
    assert cert.status_code == 200
    assert "证书.pdf" in page
    listing = client.get("/organizations/change-requests").get_data(as_text=True)
    assert org.name in listing and "/organizations/change-requests.xlsx?status=pending" in listing
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get("/organizations/change-requests.xlsx").data)).active
    assert [c.value for c in sheet[2]][:4] == ["组织", "变更事项", "变更前", "变更后"]
    assert {(r[0], r[2], r[3]) for r in sheet.iter_rows(min_row=3, values_only=True)} == {
        (org.name, "3", "5"), (org.name, "2018-01-01", "2000-01-01")}
    login_as(factories.user(roles=("officer",), unit=hm))  # another district: none of its rows
    sheet = load_workbook(io.BytesIO(client.get("/organizations/change-requests.xlsx").data)).active
    assert list(sheet.iter_rows(min_row=3, values_only=True)) == []
    login_as(cc_officer)
    assert client.post(f"/organizations/change-requests/{cr.id}", data={"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert org.rating == 5 and org.registered_on == dt.date(2000, 1, 1)
    assert cr.status == ChangeRequestStatus.APPROVED
    told = db.session.scalars(sa.select(Notification.title).where(Notification.user_id == admin.id)).all()
    assert any("变更申请已批准" in t for t in told)


def test_rejecting_needs_a_reason_and_keeps_the_facts(client, login_as, db):
    _city, cc, _hm, _street = _tree()
    org = factories.organization(unit=cc, legal_representative="张三")
    login_as(factories.member(org))
    assert client.post(f"/organizations/{org.id}/edit",
                       data=_profile_form(org, legal_representative="李四")).status_code == 302
    cr = db.session.scalars(sa.select(OrganizationChangeRequest)).one()
    login_as(factories.user(roles=("officer",), unit=cc))
    client.post(f"/organizations/change-requests/{cr.id}", data={"decision": "reject"})
    db.session.expire_all()
    assert cr.status == ChangeRequestStatus.PENDING
    client.post(f"/organizations/change-requests/{cr.id}", data={"decision": "reject", "note": "无任免文件"})
    db.session.expire_all()
    assert cr.status == ChangeRequestStatus.REJECTED and org.legal_representative == "张三"


def test_a_pending_organisation_edits_everything_directly(client, login_as, db):
    _city, cc, _hm, _street = _tree()
    org = factories.organization(unit=cc, status=OrgStatus.PENDING, rating=0)
    login_as(factories.member(org))
    assert client.post(f"/organizations/{org.id}/edit",
                       data=_profile_form(org, registered_on="2015-05-05")).status_code == 302
    db.session.expire_all()
    assert org.registered_on == dt.date(2015, 5, 5)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrganizationChangeRequest)) == 0
