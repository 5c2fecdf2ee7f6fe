"""Demo part: reminder settings seeded and a few inbox messages, so the bell and the inbox show something."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from grants.accounts.models import User
from grants.extensions import db
from grants.reminders.jobs import ensure_rule_rows
from grants.reminders.services import notify


def demo_notifications(units: dict) -> None:
    ensure_rule_rows()
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(
        User.username.in_(["applicant", "applicant2", "officer", "admin"])))}
    for name in ("applicant", "applicant2"):
        if name in users:
            notify(users[name], "欢迎使用公益创投管理平台",
                   "本组织的申报书临近截止、被退回修改等事项，系统会在此提醒您，并按“通知设置”发送邮件。",
                   link=url_for("reminders.preferences"))
    if "officer" in users:
        notify(users["officer"], "定时提醒已启用",
               "征集截止前 7、3、1 天，系统会提醒仍有未提交草稿的社会组织。可在“提醒设置”中按活动调整。",
               link=url_for("reminders.call_list"))
    if "admin" in users:
        notify(users["admin"], "请启动提醒调度器",
               "提醒由独立的调度进程发送：flask --app wsgi scheduler run。运行状态见“定时提醒”页面。",
               link=url_for("reminders.scheduler_status"))
    db.session.flush()
