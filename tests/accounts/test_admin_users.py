import sqlalchemy as sa

from grants.accounts.models import User
from tests import factories


def test_admin_creates_staff_with_several_roles(client, login_as, db):
    login_as("admin")
    unit = factories.host_unit()
    db.session.commit()
    resp = client.post("/admin/users/new", data={
        "username": "zhang", "display_name": "张三", "mobile": "13800000001", "host_unit_id": unit.id,
        "roles": ["officer", "auditor"], "password": "Temp-2026-haimen", "is_active": "y"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.username == "zhang"))
    assert user.role_names == {"officer", "auditor"} and user.host_unit_id == unit.id
    assert user.must_change_password


def test_unit_roles_require_a_host_unit(client, login_as, db):
    login_as("admin")
    resp = client.post("/admin/users/new", data={
        "username": "li", "display_name": "李四", "mobile": "13800000001", "host_unit_id": 0,
        "roles": ["finance"],
        "password": "Temp-2026-haimen", "is_active": "y"})
    assert "必须隶属于一个主办单位" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "li")) is None


def test_duplicate_username_refused_in_chinese(client, login_as, db):
    login_as("admin")
    existing = factories.user(roles=("expert",))
    db.session.commit()
    resp = client.post("/admin/users/new", data={
        "username": existing.username, "display_name": "重复", "mobile": "13800000002", "host_unit_id": 0,
        "roles": ["expert"],
        "password": "Temp-2026-haimen", "is_active": "y"})
    assert "已被使用" in resp.get_data(as_text=True)


def test_admin_edits_roles_and_cannot_drop_own_admin(client, login_as, db):
    admin = login_as("admin")
    expert = factories.user(roles=("expert",))
    db.session.commit()
    resp = client.post(f"/admin/users/{expert.id}", data={
        "display_name": "专家", "mobile": "13800000003", "host_unit_id": 0, "roles": ["expert", "evaluator"],
        "is_active": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, expert.id).role_names == {"expert", "evaluator"}
    resp = client.post(f"/admin/users/{admin.id}", data={
        "display_name": "管理员", "mobile": "13800000004", "host_unit_id": 0, "roles": ["expert"], "is_active": "y"})
    assert "不能撤销自己的管理员角色" in resp.get_data(as_text=True)


def test_applicant_role_kept_for_members(client, login_as, db):
    login_as("admin")
    org = factories.organization()
    member = factories.member(org)
    db.session.commit()
    client.post(f"/admin/users/{member.id}", data={"display_name": "成员", "mobile": "13800000005",
                                                   "host_unit_id": 0,
                                                   "roles": ["expert"], "is_active": "y"})
    db.session.expire_all()
    assert db.session.get(User, member.id).role_names == {"applicant", "expert"}


def test_reset_password_unlocks(client, login_as, db):
    import datetime as dt

    from grants.core.timeutil import now

    login_as("admin")
    target = factories.user(roles=("expert",))
    target.locked_until = now() + dt.timedelta(minutes=10)
    db.session.commit()
    resp = client.post(f"/admin/users/{target.id}/reset-password", data={"new_password": "Reset-2026-qidong"})
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.locked_until is None and user.must_change_password


def test_admin_user_list_filters_by_role(client, login_as, db):
    login_as("admin")
    factories.user(roles=("expert",), username="expert_x")
    factories.user(roles=("finance",), username="finance_x")
    db.session.commit()
    page = client.get("/admin/users?role=expert").get_data(as_text=True)
    assert "expert_x" in page and "finance_x" not in page
