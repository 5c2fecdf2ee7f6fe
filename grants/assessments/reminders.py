"""Reminder rules for progress reports (registered with the reminder engine when this package loads):

- report_due   — a tranche's report is due in 14, 7 and 1 days, and 1 and 7 days overdue → the organisation;
- rectify_due  — the rectification deadline (整改期限) is in 3 and 1 days → the organisation; when it has
                 passed without a rectified report → the organisation and the call's officers.
Deadlines are the end of the due day in Beijing time.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.core.timeutil import SHANGHAI
from grants.extensions import db
from grants.reminders.kinds import DEADLINE, DEADLINE_CC, ESCALATION
from grants.reminders.registry import Due, RuleContext, Text, once, rule


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def _tranches(ctx: RuleContext, key: str, status: str, date_column):
    from grants.calls.models import Call
    from grants.contracts.models import Contract, Tranche

    start, end = ctx.window(key)
    return db.session.execute(
        sa.select(Tranche.id, Tranche.name, date_column.label("due_on"), Contract.id.label("contract_id"),
                  Contract.project_name, Contract.organization_id, Contract.call_id, Call.host_unit_id)
        .join(Contract, Contract.id == Tranche.contract_id).join(Call, Call.id == Contract.call_id)
        .where(Tranche.status == status, Contract.status == "active", date_column.is_not(None),
               date_column >= (start - dt.timedelta(days=1)).date(), date_column <= (end + dt.timedelta(days=1)).date())
    ).all()


def _hits(ctx: RuleContext, key: str, rows):
    out = []
    start, end = ctx.window(key)
    for row in rows:
        deadline = end_of_day(row.due_on)
        if start < deadline <= end:
            hit = ctx.latest_due(key, deadline, call_id=row.call_id)
            if hit:
                out.append((row, hit))
    return out


@rule("report_due", label=_l("进度报告提醒"),
      description=_l("中期、结项报告截止前及逾期后提醒该社会组织（提前天数填负数表示逾期后几天）。"),
      offsets=(14, 7, 1, -1, -7), allow_overdue=True)
def report_due(ctx: RuleContext):
    hits = _hits(ctx, "report_due", _tranches(ctx, "report_due", "due", _due_on()))
    members = ctx.organization_members(row.organization_id for row, _h in hits)
    for row, hit in hits:
        compose = once(_report_text, ctx, row, hit.offset)
        for user_id, is_admin in members.get(row.organization_id, ()):
            yield Due(user_id, "tranche", row.id, hit.occurrence, hit.due_at,
                      DEADLINE.key if is_admin else DEADLINE_CC.key, compose)


def _due_on():
    from grants.contracts.models import Tranche

    return Tranche.due_on


def _report_text(ctx: RuleContext, row, offset: int) -> Text:
    link = f"/contracts/{row.contract_id}"
    if offset <= 0:
        return Text(_("进度报告已逾期：%(p)s", p=row.project_name),
                    _("项目“%(p)s”的%(t)s报告应于 %(d)s 前提交，至今尚未提交，请尽快提交。", p=row.project_name,
                      t=row.name, d=row.due_on.isoformat()), link)
    return Text(_("进度报告即将截止：%(p)s", p=row.project_name),
                _("项目“%(p)s”的%(t)s报告须在 %(d)s 前提交，评估通过后方可拨付该期资金。", p=row.project_name,
                  t=row.name, d=row.due_on.isoformat()), link)


@rule("rectify_due", label=_l("整改期限提醒"),
      description=_l("整改期限前提醒该社会组织；逾期未提交整改报告时同时提醒项目主管。"),
      offsets=(3, 1, 0), allow_overdue=True)
def rectify_due(ctx: RuleContext):
    from grants.contracts.models import Tranche

    hits = _hits(ctx, "rectify_due", _tranches(ctx, "rectify_due", "rectifying", Tranche.rectify_due_on))
    members = ctx.organization_members(row.organization_id for row, _h in hits)
    officers = ctx.unit_officers(row.host_unit_id for row, hit in hits if hit.offset <= 0)
    for row, hit in hits:
        compose = once(_rectify_text, ctx, row, hit.offset)
        for user_id, is_admin in members.get(row.organization_id, ()):
            yield Due(user_id, "tranche", row.id, hit.occurrence, hit.due_at,
                      DEADLINE.key if is_admin else DEADLINE_CC.key, compose)
        if hit.offset <= 0:
            for user_id in officers.get(row.host_unit_id, ()):
                yield Due(user_id, "tranche", row.id, hit.occurrence, hit.due_at, ESCALATION.key, compose)


def _rectify_text(ctx: RuleContext, row, offset: int) -> Text:
    link = f"/contracts/{row.contract_id}"
    if offset <= 0:
        return Text(_("整改期限已过：%(p)s", p=row.project_name),
                    _("项目“%(p)s”%(t)s的整改期限 %(d)s 已过，未提交整改报告；该期资金可作不予拨付处理。",
                      p=row.project_name, t=row.name, d=row.due_on.isoformat()), link)
    return Text(_("整改期限将至：%(p)s", p=row.project_name),
                _("项目“%(p)s”%(t)s评估不合格，须在 %(d)s 前完成整改并重新提交报告，逾期该期资金不予拨付。",
                  p=row.project_name, t=row.name, d=row.due_on.isoformat()), link)
