import sqlalchemy as sa
import pytest

from grants.core.models import AuditLog
from grants.organizations.models import HostUnit, Organization, OrganizationMember
from grants.organizations.services import unit_subtree_ids
from tests import factories


def registration(**over):
    data = {
        "name": "南通市崇川区新希望社工服务中心", "legal_form": "service_institution", "uscc": factories.uscc(4242),
        "registered_on": "2019-05-20", "registration_authority": "崇川区民政局", "rating": "3",
        "annual_inspection": "qualified", "district": "崇川区", "street": "和平桥街道", "community": "桃坞路社区",
        "address": "人民路 1 号", "contact_name": "王五", "contact_phone": "0513-85000000",
        "bank_account_name": "新希望社工服务中心", "bank_name": "江苏银行", "bank_account_number": "6228 4800 1234 5678",
        "admin_name": "王五", "admin_username": "xinxiwang", "admin_mobile": "13900000042",
        "password": "Qinghe-Shuiyun-88", "confirm": "Qinghe-Shuiyun-88", "agree": "y",
        "host_unit_id": str(factories.host_unit(level="city").id),
    }
    data.update(over)
    return data


def test_registration_creates_pending_org_and_admin_member(client, db):
    resp = client.post("/register", data=registration())
    assert resp.status_code == 302, resp.get_data(as_text=True)
    org = db.session.scalar(sa.select(Organization))
    assert org.status == "pending" and org.bank_account_number == "6228480012345678"
    member = db.session.scalar(sa.select(OrganizationMember))
    assert member.is_admin and member.user.role_names == {"applicant"}
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "organization.register"))
    # Logged in straight away and sees its own organisation.
    assert "待审核" in client.get(f"/organizations/{org.id}").get_data(as_text=True)


@pytest.mark.parametrize("over,message", [
    ({"uscc": "91110000600037341X"}, "统一社会信用代码校验不通过"),
    ({"uscc": ""}, "必须填写统一社会信用代码"),
    ({"legal_form": "filed_community", "uscc": "", "filing_number": ""}, "须填写备案编号"),
    ({"legal_form": "filed_community", "uscc": "", "filing_number": "备123", "filing_office": ""}, "备案的街道"),
    ({"admin_mobile": "12345"}, "11 位手机号"),
    ({"confirm": "other"}, "两次输入的密码不一致"),
    ({"agree": ""}, "请勾选信息真实性承诺"),
    ({"password": "abcdefgh", "confirm": "abcdefgh"}, "密码至少 10 位"),
    ({"password": "password12", "confirm": "password12"}, "密码太容易被猜到"),
    ({"password": "13900000042", "confirm": "13900000042"}, "不能与用户名或手机号相同"),
])
def test_registration_errors_in_chinese_keep_input(client, db, over, message):
    page = client.post("/register", data=registration(**over)).get_data(as_text=True)
    assert message in page
    assert "南通市崇川区新希望社工服务中心" in page  # what the user typed is still in the form
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0


def test_filed_organisation_registers_without_credit_code(client, db):
    resp = client.post("/register", data=registration(legal_form="filed_community", uscc="", filing_number="备字001",
                                                      filing_office="和平桥街道"))
    assert resp.status_code == 302
    org = db.session.scalar(sa.select(Organization))
    assert org.uscc is None and org.is_filed


def test_duplicate_credit_code_refused(client, db):
    factories.organization(uscc=factories.uscc(4242))
    db.session.commit()
    page = client.post("/register", data=registration()).get_data(as_text=True)
    assert "已注册" in page


def test_officer_verifies_suspends_and_reinstates(client, login_as, db):
    org = factories.organization(status="pending")
    login_as(factories.user(roles=("officer",), unit=org.host_unit))  # an officer of its registration unit
    client.post(f"/organizations/{org.id}/status", data={"action": "verify"})
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == "verified"
    page = client.post(f"/organizations/{org.id}/status", data={"action": "suspend"}, follow_redirects=True)
    assert "请填写原因" in page.get_data(as_text=True)
    client.post(f"/organizations/{org.id}/status", data={"action": "suspend", "reason": "年检不合格"})
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == "suspended"
    page = client.post(f"/organizations/{org.id}/status", data={"action": "verify"}, follow_redirects=True)
    assert "不能执行" in page.get_data(as_text=True)
    client.post(f"/organizations/{org.id}/status", data={"action": "reinstate"})
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == "verified"
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.object_type == "organization",
                                                                  AuditLog.object_id == str(org.id))
                                 .order_by(AuditLog.id)).all()
    assert actions == ["organization.verify", "organization.suspend", "organization.reinstate"]


def test_blacklist_needs_reason(client, login_as, db):
    org = factories.organization()
    login_as(factories.user(roles=("officer",), unit=org.host_unit))
    page = client.post(f"/organizations/{org.id}/blacklist", data={"blacklisted": "1", "reason": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "须填写原因" in page
    client.post(f"/organizations/{org.id}/blacklist", data={"blacklisted": "1", "reason": "列入严重违法失信名单"})
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert org.blacklisted and org.blacklist_reason == "列入严重违法失信名单"


def test_applicant_sees_only_own_organisation(client, login_as, db):
    other = factories.organization(name="别人的组织", bank_account_number="999888777")
    db.session.commit()
    user = login_as("applicant")
    own = user.organization
    assert client.get(f"/organizations/{own.id}").status_code == 200
    assert client.get(f"/organizations/{other.id}").status_code == 403
    assert client.get("/organizations").status_code == 403
    assert client.get(f"/organizations/{other.id}/edit").status_code == 403


def test_profile_edit_of_identity_goes_to_a_change_request(client, db):
    org = factories.organization()
    admin = factories.member(org)
    db.session.commit()
    client.post("/login", data={"login": admin.username, "password": factories.PASSWORD})
    form = {k: getattr(org, k) or "" for k in ("legal_form", "filing_number", "filing_office", "registration_authority",
                                              "district", "street", "community", "address", "contact_name",
                                              "contact_phone", "bank_account_name", "bank_name")}
    old_uscc = org.uscc
    form.update(uscc=factories.uscc(777), registered_on="2018-01-01", rating="3", annual_inspection="qualified",
                bank_account_number="6228000000001", host_unit_id=str(org.host_unit_id))
    resp = client.post(f"/organizations/{org.id}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    # The verified code stays in force (and the organisation verified) until an officer approves the change.
    assert org.status == "verified" and org.uscc == old_uscc and org.bank_account_number == "6228000000001"
    from grants.organizations.models import OrganizationChangeRequest

    cr = db.session.scalars(sa.select(OrganizationChangeRequest)).one()
    assert cr.after == {"uscc": factories.uscc(777)}


def test_member_invitation_and_join(client, db):
    org = factories.organization()
    admin = factories.member(org)
    plain = factories.member(org, is_admin=False)
    db.session.commit()
    client.post("/login", data={"login": plain.username, "password": factories.PASSWORD})
    assert client.post(f"/organizations/{org.id}/invite", data={"invitee_name": "小李"}).status_code == 403
    client.post("/logout")
    client.post("/login", data={"login": admin.username, "password": factories.PASSWORD})
    page = client.post(f"/organizations/{org.id}/invite", data={"invitee_name": "小李"},
                       follow_redirects=True).get_data(as_text=True)
    assert "/join/" in page
    from grants.organizations.models import Invitation

    token = db.session.scalar(sa.select(Invitation.token))
    client.post("/logout")
    resp = client.post(f"/join/{token}", data={"display_name": "小李", "username": "xiaoli", "mobile": "13700000000",
                                               "password": "Xiaoli-joins-2026", "confirm": "Xiaoli-joins-2026"})
    assert resp.status_code == 302
    assert client.get(f"/organizations/{org.id}").status_code == 200
    client.post("/logout")
    assert client.get(f"/join/{token}").status_code == 404  # used once


def test_last_admin_cannot_be_demoted(client, db):
    org = factories.organization()
    admin = factories.member(org)
    other = factories.member(org, is_admin=False)
    db.session.commit()
    client.post("/login", data={"login": admin.username, "password": factories.PASSWORD})
    page = client.post(f"/organizations/{org.id}/members/{admin.membership.id}/admin", data={"is_admin": "0"},
                       follow_redirects=True).get_data(as_text=True)
    assert "至少需要保留一名管理员" in page
    client.post(f"/organizations/{org.id}/members/{other.membership.id}/admin", data={"is_admin": "1"})
    db.session.expire_all()
    assert db.session.get(OrganizationMember, other.membership.id).is_admin
    client.post(f"/organizations/{org.id}/members/{admin.membership.id}/admin", data={"is_admin": "0"})
    db.session.expire_all()
    assert not db.session.get(OrganizationMember, admin.membership.id).is_admin


def test_unit_subtree(db):
    city = factories.host_unit("市")
    d1 = factories.host_unit("区一", "district", city)
    d2 = factories.host_unit("区二", "district", city)
    s1 = factories.host_unit("街道一", "street", d1)
    assert unit_subtree_ids(city.id) == {city.id, d1.id, d2.id, s1.id}
    assert unit_subtree_ids(d1.id) == {d1.id, s1.id}
    assert d2.id not in unit_subtree_ids(d1.id)
    assert unit_subtree_ids(None) == set()


def test_admin_builds_unit_tree_with_level_checks(client, login_as, db):
    login_as("admin")
    db.session.commit()
    client.post("/admin/units", data={"name": "测试市民政局", "short_name": "市", "level": "city", "parent_id": 0})
    city = db.session.scalar(sa.select(HostUnit).where(HostUnit.name == "测试市民政局"))
    page = client.post("/admin/units", data={"name": "某街道", "level": "street", "parent_id": city.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "层级不匹配" in page
    client.post("/admin/units", data={"name": "某区民政局", "level": "district", "parent_id": city.id})
    assert db.session.scalar(sa.select(HostUnit).where(HostUnit.name == "某区民政局")).parent_id == city.id


def test_officer_list_filters(client, login_as, db):
    factories.organization(name="甲组织", status="pending")
    factories.organization(name="乙组织", status="verified", district="海门区")
    db.session.commit()
    login_as("officer")
    page = client.get("/organizations?status=pending").get_data(as_text=True)
    assert "甲组织" in page and "乙组织" not in page
    page = client.get("/organizations?district=海门区").get_data(as_text=True)
    assert "乙组织" in page and "甲组织" not in page
