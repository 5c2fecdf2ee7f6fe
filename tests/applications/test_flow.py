"""The applicant's pages: start, save drafts (never losing data), submit against the deadline to the
second, withdraw; uploads refused for type, size and traversal names."""
import datetime as dt
import io
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, ApplicationStatus
from grants.core.models import AuditLog, StoredFile
from grants.core.timeutil import UTC
from tests import factories
from tests.applications import factories as af
from tests.conftest import skip_or_fail

IN_WINDOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def form_data(call, **overrides) -> dict:
    """A complete application as the browser posts it."""
    data = {
        "project_name": "银龄互助·幸福邻里", "category_id": str(call.categories[0].id), "requested": "50000.00",
        "summary": "为独居老人提供探访服务", "need_analysis": "独居老人 180 人", "objectives": "覆盖 150 人",
        "target_groups": "独居老人", "activity_description": "每周探访",
        "area-0-street": "和平桥街道", "area-0-community": "桃坞路社区",
        "activity-0-title": "志愿者培训", "activity-0-start_on": "2027-01-10", "activity-0-end_on": "2027-02-28",
        "activity-0-description": "招募 30 名志愿者",
        "target-service_sessions": "3000", "target-beneficiaries": "150",
        "member-0-name": "吴佳", "member-0-role": "负责人", "member-0-is_social_worker": "y",
        "member-0-certificate_no": "SW2020001", "member-0-certificate_level": "social_worker",
        "budget-0-kind": "personnel", "budget-0-item": "社工补贴", "budget-0-unit_price": "1000.00",
        "budget-0-quantity": "10", "budget-0-funded_by": "grant",
        "budget-1-kind": "activity", "budget-1-item": "探访活动", "budget-1-unit_price": "400",
        "budget-1-quantity": "100", "budget-1-funded_by": "grant",
        "budget-2-kind": "materials", "budget-2-item": "慰问物资", "budget-2-unit_price": "125",
        "budget-2-quantity": "100", "budget-2-funded_by": "own",
        "declaration": "y", "action": "save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture()
def setup(app, db, client, login_as, clock):
    clock.set(IN_WINDOW)
    call = af.call()
    user = login_as("applicant")
    db.session.commit()
    return call, user


def start(client, call) -> Application:
    resp = client.post(f"/calls/{call.id}/apply")
    assert resp.status_code == 302, resp.status_code
    app_id = int(resp.headers["Location"].rstrip("/").split("/")[-2])
    from grants.extensions import db

    return db.session.get(Application, app_id)


def post(client, application, data, files=None):
    payload = dict(data)
    for key, (content, name) in (files or {}).items():
        payload[key] = (io.BytesIO(content), name)
    return client.post(f"/applications/{application.id}/edit", data=payload, content_type="multipart/form-data")


def fresh(db, application) -> Application:
    db.session.expire_all()
    return db.session.get(Application, application.id)


def test_start_save_and_submit(client, db, setup):
    call, user = setup
    application = start(client, call)
    assert application.status == "draft" and application.organization_id == user.organization.id
    assert client.get(f"/applications/{application.id}/edit").status_code == 200
    req = call.attachment_requirements[0]
    resp = post(client, application, form_data(call), {f"attachment-{req.id}": (af.PDF, "登记证书.pdf")})
    assert resp.status_code == 302
    a = fresh(db, application)
    assert a.requested_fen == 5_000_000 and a.own_funding_fen == 1_250_000 and a.total_budget_fen == 6_250_000
    assert [b.amount_fen for b in a.budget_lines] == [1_000_000, 4_000_000, 1_250_000]
    assert len(a.attachments) == 1 and a.attachments[0].stored_file.original_name == "登记证书.pdf"
    resp = post(client, a, form_data(call, action="submit"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    a = fresh(db, application)
    assert a.status == "submitted" and a.number == f"2026-{call.id:03d}-0001" and a.submitted_at == IN_WINDOW
    assert a.attachments, "the attachment survives a save without a new upload"
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.object_type == "application",
                                                                  AuditLog.object_id == str(a.id))).all()
    assert "application.submit" in actions and "application.attach" in actions
    page = client.get("/applications/mine").get_data(as_text=True)
    assert "已提交" in page and a.number in page


def test_invalid_input_is_saved_as_draft_with_messages(client, db, setup):
    call, _user = setup
    application = start(client, call)
    data = form_data(call, **{"budget-0-unit_price": "一千元", "activity-0-end_on": "2027-13-45",
                              "target-beneficiaries": "很多"})
    resp = post(client, application, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "第 1 行预算单价金额格式不正确：一千元" in html and "日期格式不正确" in html and "须为整数" in html
    assert 'value="一千元"' in html, "what was typed is shown again"
    a = fresh(db, application)
    assert a.project_name == "银龄互助·幸福邻里" and a.need_analysis == "独居老人 180 人"
    assert [b.item for b in a.budget_lines] == ["社工补贴", "探访活动", "慰问物资"]
    assert a.activities[0].title == "志愿者培训" and a.activities[0].end_on is None
    assert a.status == "draft"


def test_failed_submit_never_loses_the_draft(client, db, setup):
    call, _user = setup
    application = start(client, call)
    resp = post(client, application, form_data(call, action="submit", summary="", declaration=None))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "请填写项目简介" in html and "请阅读并勾选申报承诺" in html and "请上传“登记证书”" in html
    a = fresh(db, application)
    assert a.status == "draft" and a.number is None
    assert a.project_name == "银龄互助·幸福邻里" and len(a.budget_lines) == 3 and a.requested_fen == 5_000_000


def _ready(client, db, call):
    application = start(client, call)
    req = call.attachment_requirements[0]
    assert post(client, application, form_data(call), {f"attachment-{req.id}": (af.PDF, "a.pdf")}).status_code == 302
    return application


@pytest.mark.parametrize("offset,accepted", [(-1, True), (0, False), (1, False)])
def test_deadline_to_the_second(client, db, setup, clock, offset, accepted):
    call, _user = setup
    application = _ready(client, db, call)
    clock.set(af.CLOSE_AT + dt.timedelta(seconds=offset))
    resp = post(client, application, form_data(call, action="submit", project_name="截止时刻修改的名称"))
    a = fresh(db, application)
    if accepted:
        assert resp.status_code == 302 and a.status == "submitted"
    else:
        assert resp.status_code == 409
        assert "申报已于 2026-12-31 18:00:00（北京时间）截止" in resp.get_data(as_text=True)
        assert a.status == "draft" and a.project_name == "银龄互助·幸福邻里", "the saved draft is untouched"
        assert len(a.budget_lines) == 3


def test_returned_application_uses_its_new_deadline(client, db, setup, clock, ctx):
    call, user = setup
    org = user.organization
    returned = af.application(call, org, status=ApplicationStatus.RETURNED,
                              return_deadline_at=af.CLOSE_AT + dt.timedelta(days=7), screening_reason="预算不清")
    db.session.commit()
    clock.set(af.CLOSE_AT + dt.timedelta(days=7, seconds=-1))
    assert "预算不清" in client.get(f"/applications/{returned.id}/edit").get_data(as_text=True)
    resp = client.post(f"/applications/{returned.id}/edit", data=form_data(call, action="submit"))
    assert resp.status_code == 302
    a = fresh(db, returned)
    assert a.status == "submitted" and a.number.startswith("T"), "the number is kept on resubmission"


def test_returned_application_refused_at_its_new_deadline(client, db, setup, clock, ctx):
    call, user = setup
    returned = af.application(call, user.organization, status=ApplicationStatus.RETURNED,
                              return_deadline_at=af.CLOSE_AT + dt.timedelta(days=7))
    db.session.commit()
    clock.set(af.CLOSE_AT + dt.timedelta(days=7))
    resp = client.post(f"/applications/{returned.id}/edit", data=form_data(call, action="submit"))
    assert resp.status_code == 409 and fresh(db, returned).status == "returned"


def test_withdraw_before_the_deadline_only(client, db, setup, clock, ctx):
    call, user = setup
    a1 = af.application(call, user.organization, status=ApplicationStatus.SUBMITTED)
    a2 = af.application(call, user.organization, status=ApplicationStatus.SUBMITTED)
    db.session.commit()
    clock.set(af.CLOSE_AT - dt.timedelta(seconds=1))
    client.post(f"/applications/{a1.id}/withdraw")
    assert fresh(db, a1).status == "withdrawn" and fresh(db, a1).withdrawn_at is not None
    clock.set(af.CLOSE_AT)
    resp = client.post(f"/applications/{a2.id}/withdraw", follow_redirects=True)
    assert "截止" in resp.get_data(as_text=True) and fresh(db, a2).status == "submitted"


def test_closed_or_unpublished_call_cannot_be_applied_to(client, db, setup, clock):
    call, _user = setup
    clock.set(af.CLOSE_AT)
    assert client.post(f"/calls/{call.id}/apply").status_code == 403
    clock.set(IN_WINDOW)
    draft_call = af.call(status="draft")
    db.session.commit()
    assert client.get(f"/calls/{draft_call.id}/apply").status_code == 403


@pytest.mark.parametrize("content,name,message", [
    (b"MZ\x90\x00" + b"\x00" * 200, "证书.exe", "不支持的文件类型"),
    (af.PNG, "证书.pdf", "文件内容与扩展名"),
    (af.PDF, "../../etc/passwd.pdf", "文件名不合法"),
    (af.PDF, "..\\..\\boot.pdf", "文件名不合法"),
    (af.PDF, "预算.docx", "不支持的文件类型"),
])
def test_bad_uploads_are_refused_and_the_rest_is_saved(client, db, setup, content, name, message):
    call, _user = setup
    application = start(client, call)
    req = call.attachment_requirements[0]
    resp = post(client, application, form_data(call), {f"attachment-{req.id}": (content, name)})
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    a = fresh(db, application)
    assert a.attachments == [] and a.project_name == "银龄互助·幸福邻里"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0


def test_oversized_upload_is_refused(app, client, db, setup, monkeypatch):
    # A smaller limit keeps the request body in memory (the test client spills bodies over 500 KB to a
    # temporary file that it never closes).
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 100_000)
    call, _user = setup
    application = start(client, call)
    big = af.PDF + b"0" * (app.config["UPLOAD_MAX_BYTES"] + 1)
    req = call.attachment_requirements[0]
    resp = post(client, application, form_data(call), {f"attachment-{req.id}": (big, "big.pdf")})
    assert "文件超过大小上限" in resp.get_data(as_text=True)
    assert fresh(db, application).attachments == []


def test_attachment_removed_on_request(client, db, setup):
    call, _user = setup
    application = _ready(client, db, call)
    att_id = fresh(db, application).attachments[0].id
    assert post(client, application, form_data(call, remove_attachment=str(att_id))).status_code == 302
    assert fresh(db, application).attachments == []


def test_pdf_has_chinese_font_and_capitals(client, db, setup, ctx, tmp_path):
    call, user = setup
    a = af.application(call, user.organization, status=ApplicationStatus.SUBMITTED)
    db.session.commit()
    resp = client.get(f"/applications/{a.id}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    path = tmp_path / "application.pdf"
    path.write_bytes(resp.data)
    if not shutil.which("pdffonts"):
        skip_or_fail("poppler-utils not installed (make test installs it)")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), fonts
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "人民币伍万元整" in flat and "¥50,000.00" in flat and a.number in flat and "第1页/共" in flat


def test_huge_numbers_are_refused_not_crashing(client, db, setup):
    call, _user = setup
    application = start(client, call)
    resp = post(client, application, form_data(call, **{"budget-0-unit_price": "99999999999",
                                                         "budget-0-quantity": "99999999"}))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "第 1 行预算单价超出范围" in html and "第 1 行预算数量超出范围" in html
    assert fresh(db, application).budget_lines[0].item == "社工补贴"


def test_saving_after_the_deadline_is_refused_with_a_message(client, db, setup, clock):
    call, _user = setup
    application = start(client, call)
    clock.set(af.CLOSE_AT)
    resp = post(client, application, form_data(call))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "截止" in html and 'value="银龄互助·幸福邻里"' in html
    assert fresh(db, application).project_name == ""


def test_numbers_follow_the_submission_order(client, db, setup, clock, ctx):
    from grants.applications.services import submit_application

    call, user = setup
    call.max_applications_per_org = 3
    first = af.application(call, user.organization)
    second = af.application(call, user.organization)
    assert submit_application(second, user) == {} and submit_application(first, user) == {}
    assert (second.number, first.number) == (f"2026-{call.id:03d}-0001", f"2026-{call.id:03d}-0002")


def test_a_draft_is_deleted_with_a_confirmation_not_withdrawn(client, db, setup, ctx):
    call, user = setup
    draft = start(client, call)
    client.post(f"/applications/{draft.id}/edit", data=form_data(call))
    page = client.get(f"/applications/{draft.id}").get_data(as_text=True)
    assert "删除草稿" in page and 'id="delete-draft-modal"' in page and "不能恢复" in page
    assert "撤回申报" not in page
    submitted = af.application(call, user.organization, status=ApplicationStatus.SUBMITTED)
    db.session.commit()
    page = client.get(f"/applications/{submitted.id}").get_data(as_text=True)
    assert "撤回申报" in page and "删除草稿" not in page
    # a submitted application cannot be deleted, only withdrawn
    assert client.post(f"/applications/{submitted.id}/delete").status_code == 403
    draft_id = draft.id
    resp = client.post(f"/applications/{draft_id}/delete", follow_redirects=True)
    assert resp.status_code == 200 and "草稿已删除" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, draft_id) is None
    log = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "application.delete_draft"))
    assert log.object_id == str(draft_id) and log.before["project_name"] == "银龄互助·幸福邻里"
