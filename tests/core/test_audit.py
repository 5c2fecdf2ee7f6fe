import sqlalchemy as sa
import pytest

from grants.core.audit import GENESIS, record, seal_and_commit, verify_chain
from grants.core.models import AuditLog


def _three_rows(db):
    for i in range(3):
        record(None, f"test.step{i}", object_type="thing", object_id=i, before={"n": i}, after={"n": i + 1})
    db.session.commit()
    seal_and_commit()


def test_chain_links_rows(db):
    _three_rows(db)
    rows = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert verify_chain() == (True, None, 3)


def test_chain_continues_across_transactions(db):
    _three_rows(db)
    record(None, "test.later", object_type="thing", object_id=9)
    db.session.commit()
    intact, bad, checked = verify_chain()
    assert intact and checked == 4


def test_append_only_in_the_orm(db):
    _three_rows(db)
    row = db.session.scalars(sa.select(AuditLog)).first()
    row.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_hand_edit_is_detected_by_cli(app, db):
    _three_rows(db)
    second = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()[1]
    second_id = second.id
    # Edited by hand in the database, bypassing the application.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET after = :a WHERE id = :i"), {"a": '{"n": 999}', "i": second_id})
    db.session.expire_all()
    intact, bad, checked = verify_chain()
    assert not intact and bad.id == second_id and checked == 1
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={second_id}" in result.output


def test_cli_reports_intact(app, db):
    _three_rows(db)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "哈希链校验通过" in result.output and "共 3 条" in result.output


def test_deleted_row_is_detected(db):
    _three_rows(db)
    first_id = db.session.scalar(sa.select(sa.func.min(AuditLog.id)))
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :i"), {"i": first_id})
    db.session.expire_all()
    intact, bad, _ = verify_chain()
    assert not intact and bad.id == first_id + 1


def test_officer_and_auditor_browse_applicant_cannot(client, login_as, db):
    _three_rows(db)
    login_as("auditor")
    page = client.get("/audit?object_type=thing")
    assert page.status_code == 200 and "test.step2" in page.get_data(as_text=True)
    login_as("applicant")
    assert client.get("/audit").status_code == 403


def test_unit_staff_never_see_a_sibling_units_rows(client, db):
    from tests import factories

    city = factories.host_unit("审计测试市")
    east = factories.host_unit("东区", "district", city)
    west = factories.host_unit("西区", "district", city)
    record(None, "test.east", object_type="thing", object_id=1, host_unit_id=east.id)
    record(None, "test.west", object_type="thing", object_id=2, host_unit_id=west.id)
    record(None, "test.platform", object_type="thing", object_id=3)
    auditor = factories.user(roles=("auditor",), unit=east)
    city_officer = factories.user(roles=("officer",), unit=city)
    db.session.commit()
    client.post("/login", data={"login": auditor.username, "password": factories.PASSWORD})
    page = client.get("/audit?object_type=thing").get_data(as_text=True)
    # Rows of no unit are for admins and city-level auditors only.
    assert "test.east" in page and "test.platform" not in page and "test.west" not in page
    client.post("/logout")
    client.post("/login", data={"login": city_officer.username, "password": factories.PASSWORD})
    page = client.get("/audit?object_type=thing").get_data(as_text=True)
    assert "test.east" in page and "test.west" in page and "test.platform" not in page
