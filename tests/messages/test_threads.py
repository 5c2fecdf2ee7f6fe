"""Message threads on applications and contracts: the organisation and the officers write to each other (with
attachments through the upload checks), officers keep internal notes on the same page, the other side is told,
everything is audited and listed in the organisation record; other organisations and other units see nothing."""
from __future__ import annotations

import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.core.models import AuditLog
from grants.messages.models import Message
from grants.reminders.models import Notification
from tests import factories
from tests.applications import factories as af

PDF = af.PDF


def _world(app, db):
    with app.test_request_context():
        unit = factories.host_unit()
        officer, colleague = factories.user(unit=unit), factories.user(unit=unit)
        call = af.call(unit)
        application = af.application(call, status="submitted")
        member = factories.member(application.organization)
        db.session.commit()
    return unit, officer, colleague, application, member


def _post(client, path, **data):
    files = data.pop("files", None)
    form = dict(data)
    if files:
        form["attachment"] = files
    return client.post(path, data=form, content_type="multipart/form-data")


def _kinds(db, user):
    return [n.kind for n in db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id))]


def test_organisation_and_officers_write_to_each_other(app, client, db, login_as):
    unit, officer, colleague, application, member = _world(app, db)
    path = f"/applications/{application.id}/messages"
    login_as(member)
    resp = _post(client, path, body="请问预算表需要盖章吗？")
    assert resp.status_code == 302
    assert "message_to_staff" in _kinds(db, officer) and "message_to_staff" in _kinds(db, colleague)
    login_as(officer)
    page = client.get(path).get_data(as_text=True)
    assert "请问预算表需要盖章吗？" in page
    resp = _post(client, path, body="需要，模板见附件。", files=(io.BytesIO(PDF), "预算表模板.pdf"))
    assert resp.status_code == 302
    assert "message_to_organization" in _kinds(db, member)
    reply = db.session.scalar(sa.select(Message).where(Message.from_staff.is_(True)))
    assert reply.attachment.original_name == "预算表模板.pdf"
    login_as(member)
    page = client.get(path).get_data(as_text=True)
    assert "需要，模板见附件。" in page and "预算表模板.pdf" in page
    resp = client.get(f"/messages/{reply.id}/attachment")
    assert resp.status_code == 200 and resp.data == PDF
    resp.close()
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.action == "message.post")).all()
    assert len(actions) == 2


def test_internal_notes_are_marked_and_never_reach_the_organisation(app, client, db, login_as):
    unit, officer, colleague, application, member = _world(app, db)
    path = f"/applications/{application.id}/messages"
    login_as(officer)
    resp = _post(client, path, body="该组织去年结项评估为合格，注意预算。", internal="y",
                 files=(io.BytesIO(PDF), "内部核查.pdf"))
    assert resp.status_code == 302
    note = db.session.scalar(sa.select(Message))
    assert note.internal and note.from_staff
    assert _kinds(db, member) == [] and "message_to_staff" not in _kinds(db, colleague)
    page = client.get(path).get_data(as_text=True)
    assert "内部备注 · 申报组织不可见" in page and "该组织去年结项评估为合格" in page
    auditor = factories.user(roles=("auditor",), unit=unit)
    login_as(auditor)
    assert "该组织去年结项评估为合格" in client.get(path).get_data(as_text=True)
    assert _post(client, path, body="审计员不能留言").status_code == 403
    login_as(member)
    page = client.get(path).get_data(as_text=True)
    assert "该组织去年结项评估为合格" not in page and "内部核查.pdf" not in page
    assert client.get(f"/messages/{note.id}/attachment").status_code == 403
    # A member cannot write an internal note by posting the box anyway: it becomes an ordinary message.
    _post(client, path, body="我们想补充材料", internal="y")
    assert db.session.scalar(sa.select(Message).where(Message.body == "我们想补充材料")).internal is False


def test_other_organisations_and_other_units_are_refused(app, client, db, login_as):
    unit, officer, _colleague, application, member = _world(app, db)
    path = f"/applications/{application.id}/messages"
    login_as(member)
    _post(client, path, body="第一条消息")
    message = db.session.scalar(sa.select(Message))
    with app.test_request_context():
        stranger = factories.member(factories.organization())
        elsewhere = factories.user(unit=factories.host_unit())
        above = factories.user(unit=factories.host_unit())
        unit.parent_id = above.host_unit_id
        db.session.commit()
    for user in (stranger, elsewhere):
        login_as(user)
        assert client.get(path).status_code == 403
        assert _post(client, path, body="越权留言").status_code == 403
        assert client.get(f"/messages/{message.id}/attachment").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 1
    login_as(above)  # the parent unit sees its subtree's threads
    assert client.get(path).status_code == 200


def test_bad_input_gets_a_clear_message_and_keeps_the_text(app, client, db, login_as):
    _unit, _officer, _colleague, application, member = _world(app, db)
    path = f"/applications/{application.id}/messages"
    login_as(member)
    page = _post(client, path, body="   ").get_data(as_text=True)
    assert "请填写消息内容或添加附件" in page
    page = _post(client, path, body="附件是假的", files=(io.BytesIO(b"MZ\x90\x00not a pdf"), "证明.pdf")).get_data(
        as_text=True)
    assert "文件内容与扩展名" in page and "附件是假的" in page
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0
    assert _post(client, path, body="含\x00控制\x07字符").status_code == 302
    assert db.session.scalar(sa.select(Message.body)) == "含控制字符"
    assert "消息不超过" in _post(client, path, body="长" * 5001).get_data(as_text=True)


def test_contract_threads_open_once_issued_and_show_in_the_record(app, client, db, login_as):
    from tests.contracts import factories as cf

    with app.test_request_context():
        contract = cf.contract(status="draft")
        member = factories.member(contract.organization)
        officer = factories.user(unit=contract.call.host_unit)
        db.session.commit()
    path = f"/contracts/{contract.id}/messages"
    login_as(officer)
    assert client.get(path).status_code == 403  # a draft is internal
    with app.test_request_context():
        from grants.contracts.services import issue_contract

        issue_contract(contract, officer)
        db.session.commit()
    assert _post(client, path, body="请于本周内签署协议。").status_code == 302
    _post(client, path, body="乙方联系人已更换", internal="y")
    login_as(member)
    assert "请于本周内签署协议。" in client.get(path).get_data(as_text=True)
    record = client.get(f"/organizations/{contract.organization_id}/record").get_data(as_text=True)
    assert "请于本周内签署协议" not in record and contract.number in record and "1 条" in record
    login_as(officer)
    record = client.get(f"/organizations/{contract.organization_id}/record").get_data(as_text=True)
    assert contract.number in record and "2 条" in record
