"""Officers' per-call reminder settings, the admin's outbox and scheduler pages."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.reminders.models import CallReminderSetting, OutboxMail, ReminderRule, SchedulerInstance
from grants.reminders.services import notify
from tests import factories
from tests.reminders import factories as rf

CLOSE = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)


def test_officer_switches_a_rule_off_and_changes_offsets(client, login_as, db, clock):
    officer = login_as("officer")
    c = rf.call(close_at=CLOSE, unit=officer.host_unit)
    db.session.commit()
    listing = client.get("/reminders/calls").get_data(as_text=True)
    assert c.title in listing and f"/calls/{c.id}/reminders" in listing
    page = client.get(f"/calls/{c.id}/reminders").get_data(as_text=True)
    assert "申报截止提醒" in page and "7, 3, 1" in page
    resp = client.post(f"/calls/{c.id}/reminders", data={"rule": "call_closing", "call_closing-offsets": "5，2"})
    assert resp.status_code == 302
    s = db.session.scalar(sa.select(CallReminderSetting).where(CallReminderSetting.call_id == c.id))
    assert (s.rule, s.enabled, s.offsets) == ("call_closing", False, [5, 2])  # unticked box = off
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "reminder.call_setting"))
    client.post(f"/calls/{c.id}/reminders", data={"rule": "call_closing", "call_closing-enabled": "y",
                                                   "call_closing-offsets": "10, 4"})
    db.session.refresh(s)
    assert (s.enabled, s.offsets) == (True, [10, 4])
    # Back to the platform default.
    client.post(f"/calls/{c.id}/reminders", data={"rule": "call_closing", "reset": "1"})
    assert db.session.scalar(sa.select(CallReminderSetting).where(CallReminderSetting.call_id == c.id)) is None


def test_bad_offsets_are_refused_with_a_message_next_to_the_field(client, login_as, db):
    officer = login_as("officer")
    c = rf.call(close_at=CLOSE, unit=officer.host_unit)
    db.session.commit()
    for bad, message in [("七天", "整数"), ("0", "大于 0"), ("400", "之间"), ("", "请填写")]:
        resp = client.post(f"/calls/{c.id}/reminders", data={"rule": "call_closing", "call_closing-enabled": "y",
                                                              "call_closing-offsets": bad})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and message in html and "is-invalid" in html, bad
        assert bad in html  # what was typed stays in the field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallReminderSetting)) == 0


def test_officer_of_another_unit_cannot_change_a_call(client, login_as, db):
    login_as("officer")
    c = rf.call(close_at=CLOSE, unit=factories.host_unit())
    db.session.commit()
    assert client.get(f"/calls/{c.id}/reminders").status_code == 403
    assert client.post(f"/calls/{c.id}/reminders", data={"rule": "call_closing",
                                                          "call_closing-offsets": "1"}).status_code == 403
    assert c.title not in client.get("/reminders/calls").get_data(as_text=True)


def test_admin_reads_the_outbox(client, login_as, db, clock):
    user = factories.user(email="someone@example.org")
    notify(user, "您的申报书已受理", "正文内容")
    db.session.add(OutboxMail(to_address="x@example.org", subject="失败的邮件", status="failed", attempts=5,
                              last_error="SMTPConnectError: 421"))
    db.session.commit()
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert "someone@example.org" in html and "您的申报书已受理" in html and "SMTPConnectError" in html
    assert "未配置邮件服务器" in html
    failed_only = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "失败的邮件" in failed_only and "someone@example.org" not in failed_only
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.to_address == "someone@example.org"))
    assert "正文内容" in client.get(f"/admin/outbox/{mail.id}").get_data(as_text=True)


def test_admin_scheduler_page_shows_instances_and_edits_platform_rules(client, login_as, db, clock):
    clock.set(CLOSE)
    db.session.add(SchedulerInstance(instance_key="host:1:abc", hostname="host", pid=1, lock_kind="postgresql",
                                     is_active=True, heartbeat_at=CLOSE, last_pass_at=CLOSE, last_pass_ms=12,
                                     last_pass_delivered=3, next_pass_at=CLOSE + dt.timedelta(minutes=1)))
    db.session.commit()
    login_as("admin")
    html = client.get("/admin/scheduler").get_data(as_text=True)
    assert "活动" in html and "PID 1" in html and "PostgreSQL 咨询锁" in html and "申报截止提醒" in html
    resp = client.post("/admin/scheduler", data={"rule": "return_deadline", "return_deadline-offsets": "5,2,1"})
    assert resp.status_code == 302
    row = db.session.scalar(sa.select(ReminderRule).where(ReminderRule.rule == "return_deadline"))
    assert (row.enabled, row.offsets) == (False, [5, 2, 1])
    clock.set(CLOSE + dt.timedelta(minutes=30))  # its next pass is long overdue: the process is gone
    assert "无心跳" in client.get("/admin/scheduler").get_data(as_text=True)


def test_scheduler_page_names_recipients_and_the_last_pass(client, login_as, db, clock):
    from grants.reminders.jobs import run_pass

    org = factories.organization()
    boss = factories.member(org)
    rf.application(rf.call(close_at=CLOSE), org)
    db.session.commit()
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    login_as("admin")
    html = client.get("/admin/scheduler").get_data(as_text=True)
    assert boss.display_name in html and "2026-12-09 17:00" in html and "从未运行" not in html


def test_no_scheduler_running_is_shown(client, login_as, db):
    login_as("admin")
    html = client.get("/admin/scheduler").get_data(as_text=True)
    assert "没有正在运行的调度实例" in html and "从未运行" in html
