"""Editable notice templates: admins change a kind's title, body and SMS text in the sandboxed Jinja environment
with the kind's variables, preview with sample data and reset; the sandbox refuses internals; a template that
breaks when a notice is sent falls back to the default wording and is reported."""
from __future__ import annotations

import sqlalchemy as sa

from grants.reminders.models import NoticeTemplate, Notification, OutboxSms
from grants.reminders.notices import send_notice
from tests import factories

VARS = dict(project="银龄互助", organization="乐龄中心", call="测试大赛", number="2026-001-0001",
            amount="¥40,000.00", requested="¥50,000.00", reason="专家建议压缩设备采购", notice_from="2026-12-01",
            notice_to="2026-12-07", notice_url="/public/notices/1")


def _send(app, db, user):
    with app.test_request_context():
        send_notice("award_proposed", [user], **VARS)
        db.session.commit()
    return db.session.scalars(sa.select(Notification).order_by(Notification.id.desc())).first()


def test_admin_edits_previews_saves_and_resets(app, client, db, login_as):
    admin = login_as("admin")
    page = client.get("/admin/notice-templates/award_proposed").get_data(as_text=True)
    assert "{{ amount }}" in page and "拟资助金额" in page  # documented variables
    data = {"title": "【拟资助】{{ project }}：{{ amount }}", "body": "申请 {{ requested }}，拟资助 {{ amount }}。"
            "{% if reason %}调整理由：{{ reason }}{% endif %}", "sms": "{{ project }}拟资助{{ amount }}"}
    page = client.post("/admin/notice-templates/award_proposed", data={**data, "action": "preview"}).get_data(
        as_text=True)
    assert "【拟资助】银龄互助·幸福邻里：¥40,000.00" in page and "调整理由：专家建议压缩设备采购" in page
    assert db.session.scalar(sa.select(NoticeTemplate)) is None  # a preview saves nothing
    assert client.post("/admin/notice-templates/award_proposed", data={**data, "action": "save"}).status_code == 302
    member = factories.member(factories.organization(), mobile="13900000011")
    db.session.commit()
    n = _send(app, db, member)
    assert n.title == "【拟资助】银龄互助：¥40,000.00" and n.body == "申请 ¥50,000.00，拟资助 ¥40,000.00。调整理由：专家建议压缩设备采购"
    assert db.session.scalar(sa.select(OutboxSms.text)) == "银龄互助拟资助¥40,000.00"
    assert client.post("/admin/notice-templates/award_proposed", data={"action": "reset"}).status_code == 302
    assert _send(app, db, member).title == "拟资助：银龄互助 拟获资助 ¥40,000.00"
    assert admin.id


def test_the_sandbox_and_the_variables_are_enforced_on_save(app, client, db, login_as):
    login_as("admin")
    for source, reason in (("{{ project.__class__.__mro__ }}", "不允许的内部属性"),
                           ("{{ ''.__class__.__base__.__subclasses__() }}", "不允许的内部属性"),
                           ("{{ config }}", "未提供的变量"), ("{{ project ", "语法错误")):
        page = client.post("/admin/notice-templates/award_proposed",
                           data={"title": source, "body": "", "sms": "", "action": "save"}).get_data(as_text=True)
        assert reason in page, source
    assert db.session.scalar(sa.select(NoticeTemplate)) is None


def test_a_template_that_breaks_at_sending_falls_back_and_is_reported(app, client, db, login_as):
    login_as("admin")
    # Fine with the sample data (a reason is given), but divides by zero when a notice has no reason.
    client.post("/admin/notice-templates/award_proposed", data={
        "title": "{{ (reason|length) // (reason|length) }}", "body": "", "sms": "", "action": "save"})
    member = factories.member(factories.organization())
    db.session.commit()
    with app.test_request_context():
        send_notice("award_proposed", [member], **{**VARS, "reason": ""})
        db.session.commit()
    n = db.session.scalars(sa.select(Notification)).one()
    assert n.title == "拟资助：银龄互助 拟获资助 ¥40,000.00"  # the default went out
    row = db.session.scalar(sa.select(NoticeTemplate))
    assert "ZeroDivisionError" in row.last_error and row.last_error_at is not None
    page = client.get("/admin/notice-templates").get_data(as_text=True)
    assert "模板出错，已用默认内容" in page
    assert "ZeroDivisionError" in client.get("/admin/notice-templates/award_proposed").get_data(as_text=True)


def test_only_admins(client, login_as, db):
    login_as("officer")
    assert client.get("/admin/notice-templates").status_code == 403
    assert client.post("/admin/notice-templates/award_proposed", data={"action": "reset"}).status_code == 403
