"""An audit log auditors can read and trust: units on every row, visibility by unit, signed checkpoints that
reveal deleted tails, rewritten chains and gaps, Chinese kept readable, and a page for people."""
from __future__ import annotations

import ast
import datetime as dt
import io
import json
import pathlib

import pytest
import sqlalchemy as sa

from grants.core.audit import GENESIS, _row_hash, record, verify_audit, write_checkpoint
from grants.core.models import AuditCheckpoint, AuditLog
from tests import factories

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _rows(db, n: int, unit=None):
    unit = unit or factories.host_unit()
    for i in range(n):
        record(None, f"test.step{i}", object_type="thing", object_id=i, host_unit_id=unit.id,
               before={"n": i}, after={"n": i + 1, "名称": "经核查"})
    db.session.commit()
    return unit


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def test_deleting_the_newest_rows_is_detected(app, db):
    """The reproduction: deleting the newest 10 rows used to leave `audit verify` saying the chain is intact."""
    _rows(db, 15)
    write_checkpoint()
    db.session.commit()
    with db.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM audit_log ORDER BY id DESC LIMIT 10"))]
        conn.execute(sa.text("DELETE FROM audit_log WHERE id IN (%s)" % ",".join(map(str, ids))))
    db.session.expire_all()
    report = verify_audit()
    assert not report.intact and report.first_bad is None  # what is left still chains
    assert any("末尾记录被删除" in p for p in report.problems)
    result = _cli(app, "verify")
    assert result.exit_code == 1 and "末尾记录被删除" in result.output


def test_a_recomputed_chain_is_detected(app, db):
    """Rewriting a row and recomputing every hash after it passes the chain check but not the checkpoint."""
    _rows(db, 5)
    write_checkpoint()
    db.session.commit()
    rows = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()
    prev = GENESIS
    new_hashes = []
    for row in rows:
        after = {"n": 999} if row is rows[1] else row.after
        fake = AuditLog(at=row.at, actor_id=row.actor_id, actor_name=row.actor_name, action=row.action,
                        object_type=row.object_type, object_id=row.object_id, host_unit_id=row.host_unit_id,
                        unit_id=row.unit_id, unit2_id=row.unit2_id, hash_version=row.hash_version,
                        before=row.before, after=after)
        h = _row_hash(prev, fake)
        new_hashes.append((row.id, prev, h, json.dumps(after)))
        prev = h
    db.session.rollback()
    with db.engine.begin() as conn:
        for row_id, p, h, after in new_hashes:
            conn.execute(sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h, after = :a WHERE id = :i"),
                         {"p": p, "h": "x" + h[1:], "a": after, "i": row_id})
        for row_id, p, h, after in new_hashes:
            conn.execute(sa.text("UPDATE audit_log SET hash = :h WHERE id = :i"), {"h": h, "i": row_id})
    db.session.expire_all()
    report = verify_audit()
    assert report.first_bad is None  # the chain itself is consistent again …
    assert not report.intact and any("重算改写" in p for p in report.problems)  # … the checkpoint is not


def test_a_deleted_middle_row_shows_as_a_gap(app, db):
    _rows(db, 6)
    write_checkpoint()
    db.session.commit()
    middle, seq = db.session.execute(sa.select(AuditLog.id, AuditLog.seal_seq).order_by(AuditLog.seal_seq)).all()[2]
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :i"), {"i": middle})
    db.session.expire_all()
    report = verify_audit()
    # The gap is in the chain's (seal) order.
    assert not report.intact and (seq, seq) in report.gaps
    result = _cli(app, "verify")
    assert result.exit_code == 1 and f"第 {seq}–{seq} 条" in result.output


def test_a_forged_checkpoint_is_detected(app, db):
    _rows(db, 3)
    cp = write_checkpoint()
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_checkpoint SET row_count = 2 WHERE id = :i"), {"i": cp.id})
    db.session.expire_all()
    report = verify_audit()
    assert not report.intact and any("签名无效" in p for p in report.problems)


def test_checkpoints_kept_in_a_file_catch_a_wiped_database_copy(app, db, tmp_path):
    _rows(db, 8)
    out = tmp_path / "checkpoints.jsonl"
    result = _cli(app, "checkpoint", "--out", str(out))
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").count("\n") == 1
    # The intruder deletes the tail and the checkpoints stored in the database too.
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_checkpoint"))
        last = conn.execute(sa.text("SELECT max(id) FROM audit_log")).scalar()
        conn.execute(sa.text("DELETE FROM audit_log WHERE id > :i"), {"i": last - 3})
    db.session.expire_all()
    assert _cli(app, "verify").exit_code == 0  # the database alone can no longer tell …
    result = _cli(app, "verify", "--checkpoints", str(out))
    assert result.exit_code == 1 and "末尾记录被删除" in result.output  # … the copy kept elsewhere can


def test_intact_log_with_checkpoints_verifies(app, db):
    _rows(db, 4)
    write_checkpoint()
    db.session.commit()
    _rows(db, 2)
    result = _cli(app, "verify")
    assert result.exit_code == 0 and "共 6 条" in result.output and "检查点 1 个" in result.output


def test_the_scheduler_writes_checkpoints(app, db, clock):
    from grants.reminders.jobs import run_pass

    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc))
    _rows(db, 2)
    run_pass()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) == 1
    run_pass()  # nothing new: no second checkpoint
    _rows(db, 1)
    clock.advance(dt.timedelta(hours=2))
    run_pass()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) == 2
    assert verify_audit().intact


def test_rows_from_before_the_unit_columns_still_verify(db):
    """A version 1 row (hashed without unit columns) keeps verifying after the migration fills its units."""
    unit = factories.host_unit()
    row = AuditLog(at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), actor_id=None,
                   actor_name="系统", action="call.publish", object_type="call", object_id="1", host_unit_id=None,
                   before=None, after={"status": "published"}, hash_version=1, prev_hash=GENESIS,
                   seal_seq=1)  # as revision 0012 gives the rows chained before it
    row.hash = _row_hash(GENESIS, row)
    db.session.add(row)
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET unit_id = :u"), {"u": unit.id})
    db.session.expire_all()
    assert verify_audit().intact
    # … and a version 2 row moved to another unit does not.
    record(None, "test.v2", object_type="thing", object_id=1, host_unit_id=unit.id)
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET unit_id = NULL WHERE hash_version = 2"))
    db.session.expire_all()
    assert not verify_audit().intact


def test_chinese_is_stored_as_it_is(db):
    _rows(db, 1)
    raw = db.session.execute(sa.text("SELECT CAST(after AS VARCHAR(500)) FROM audit_log")).scalar()
    assert "经核查" in raw and "\\u7ecf" not in raw


# --- who reads which rows ------------------------------------------------------------------------------

def test_district_auditor_no_longer_reads_city_work_or_unit_less_rows(client, login_as, db):
    """The reproduction: rows without a unit (conflicts, tranches …) were shown to every unit."""
    from tests.reviews.factories import review_call

    city = factories.host_unit(name="审计市", level="city")
    district = factories.host_unit(name="审计区", level="district", parent=city)
    city_call = review_call(city)
    record(None, "conflict.declare", city_call, after={"reason": "市级专家的回避理由"})
    record(None, "mail.resend", object_type="outbox_mail", object_id=1, after={"to": "平台邮件"})
    record(None, "call.update", review_call(district), after={"title": "区级活动修改"})
    db.session.commit()

    def page(user) -> str:
        login_as(user)
        resp = client.get("/audit")
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    district_auditor = page(factories.user(roles=("auditor",), unit=district))
    assert "区级活动修改" in district_auditor
    assert "市级专家的回避理由" not in district_auditor and "平台邮件" not in district_auditor
    city_officer = page(factories.user(roles=("officer",), unit=city))
    assert "市级专家的回避理由" in city_officer and "区级活动修改" in city_officer and "平台邮件" not in city_officer
    city_auditor = page(factories.user(roles=("auditor",), unit=city))
    assert "市级专家的回避理由" in city_auditor and "平台邮件" in city_auditor
    admin = page(factories.user(roles=("admin",)))
    assert "平台邮件" in admin and "区级活动修改" in admin


def test_units_come_from_the_object(db):
    """units_of walks from any audited object to its call's unit (tranche, payment, objection …)."""
    from grants.core.audit import units_of
    from tests.finance.factories import active_contract, first_payment, funded_call

    unit = factories.host_unit()
    call_ = funded_call(unit)
    contract = active_contract(call_)
    payment = first_payment(contract)
    for obj in (call_, contract, contract.tranches[0], payment):
        assert units_of(obj)[0] == unit.id, obj
    org = contract.organization
    assert units_of(org) == (org.host_unit_id, None)
    child = factories.host_unit(level="district", parent=unit)
    assert units_of(child) == (unit.id, child.id)


def _record_calls():
    """Every record(...) call in grants/: (file, line, action expression, has object)."""
    calls = []
    for path in sorted((ROOT / "grants").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
                action = node.args[1] if len(node.args) > 1 else None
                has_obj = len(node.args) > 2 or any(k.arg in ("host_unit_id",) for k in node.keywords)
                object_type = next((k.value for k in node.keywords if k.arg == "object_type"), None)
                calls.append((path.relative_to(ROOT), node.lineno, action, has_obj, object_type))
    return calls


def test_every_record_call_site_names_a_unit_and_a_chinese_action():
    """Walks every record() call site: each passes the object its unit is derived from (or a platform-wide
    type), and each action has a Chinese name for the audit page. At run time record() itself refuses a row
    without a unit in every test (AUDIT_REQUIRE_UNIT), so every call site the suite reaches asserts one."""
    from grants.core.audit import PLATFORM_OBJECT_TYPES
    from grants.core.auditview import action_label

    calls = _record_calls()
    assert len(calls) > 60
    for path, line, action, has_obj, object_type in calls:
        if str(path) == "grants/core/audit.py":
            continue
        where = f"{path}:{line}"
        if not has_obj:
            assert isinstance(object_type, ast.Constant) and object_type.value in PLATFORM_OBJECT_TYPES | {"holiday"}, \
                f"{where}: record() without an object must name a platform-wide object type"
        if isinstance(action, ast.Constant):
            assert action_label(action.value) != action.value, f"{where}: no Chinese name for {action.value}"
        elif isinstance(action, ast.JoinedStr) and str(path) != "grants/core/states.py":
            prefix = action.values[0].value if isinstance(action.values[0], ast.Constant) else ""
            assert prefix, f"{where}: action has no fixed prefix"
    # Workflow transitions (states.py records "<workflow>.<action>") are named from their tables.
    from grants.core.auditview import _workflows

    for name, workflow in _workflows().items():
        for (_state, verb) in workflow.table:
            assert action_label(f"{name}.{verb}") != f"{name}.{verb}", f"{name}.{verb} has no Chinese name"


def test_record_refuses_unit_work_without_a_unit(db):
    from grants.core.audit import AuditUnitMissing

    org = factories.organization()
    org.host_unit_id = None
    with pytest.raises(AuditUnitMissing):
        record(None, "organization.update", org)
    db.session.rollback()


# --- the page ------------------------------------------------------------------------------------------

def test_audit_page_reads_as_chinese_with_links_money_and_filters(client, login_as, db):
    from tests.finance.factories import active_contract, first_payment, funded_call

    unit = factories.host_unit(name="页面单位")
    call_ = funded_call(unit)
    payment = first_payment(active_contract(call_))
    # An old row stored with \\u escapes inside its text.
    record(None, "objection.reject", object_type="thing", object_id=1, host_unit_id=unit.id,
           after={"reason": "\\u7ecf\\u6838\\u67e5"})
    db.session.commit()
    login_as(factories.user(roles=("auditor",), unit=unit))
    html = client.get("/audit").get_data(as_text=True)
    assert "系统生成拨款申请" in html and "payment.request" not in html.split("<tbody>")[1].split("</tbody>")[0]
    assert f'href="/finance/payments/{payment.id}"' in html or f"/payments/{payment.id}" in html
    assert "¥" in html  # amount_fen shown as money
    assert "经核查" in html and "\\u7ecf" not in html  # old escaped text readable
    assert "异议不成立" in html
    # Filters: action picker, date range, unit picker.
    only = client.get("/audit?action=objection.reject").get_data(as_text=True)
    assert "异议不成立" in only and "系统生成拨款申请" not in only.split("<tbody>")[1]
    future = client.get("/audit?date_from=2999-01-01").get_data(as_text=True)
    assert "暂无记录" in future
    assert client.get("/audit?date_from=0001-01-01&unit_id=99999999999999").status_code == 200
    assert client.get(f"/audit?unit_id={unit.id}").status_code == 200


def test_audit_page_pages_by_id(client, login_as, db):
    unit = _rows(db, 60)
    login_as(factories.user(roles=("auditor",), unit=unit))
    first = client.get("/audit?object_type=thing").get_data(as_text=True)
    assert 'id="audit-older"' in first
    oldest_on_first = max(r for r in db.session.scalars(sa.select(AuditLog.id).where(AuditLog.object_type == "thing"))) - 49
    assert "test.step10<" in first and "test.step9<" not in first
    second = client.get(f"/audit?object_type=thing&before={oldest_on_first}").get_data(as_text=True)
    assert "test.step9<" in second and "test.step10<" not in second and 'id="audit-older"' not in second


def test_audit_export_is_an_excel_of_readable_rows(client, login_as, db):
    from openpyxl import load_workbook

    unit = _rows(db, 3)
    login_as(factories.user(roles=("auditor",), unit=unit))
    resp = client.get("/audit.xlsx?object_type=thing")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws.cell(1, 5).value == "操作"
    assert "经核查" in ws.cell(2, 9).value
    assert ws.max_row == 4


def test_applicants_and_unitless_staff_cannot_browse(client, login_as, db):
    login_as("applicant")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.xlsx").status_code == 403
    login_as("evaluator")
    assert client.get("/audit").status_code == 403
