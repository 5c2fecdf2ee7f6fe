"""Reminder rules and the pass step for progress reports (registered with the reminder engine when this
package loads):

- report_due      — a tranche's report is due in 14, 7 and 1 days, and 1 and 7 days overdue → the organisation;
- report_overdue  — the report is 1 day overdue → the call's officers (escalation);
- rectify_due     — the rectification deadline (整改期限) is in 3 and 1 days → the organisation; when it has
                    passed without a rectified report → the organisation and the call's officers;
- step rectify_lapsed — when that deadline has passed, the tranche is withheld (不予拨付) automatically, at the
                    start of the pass, so the same pass's rectify_due reminder tells that it was withheld.
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
from grants.reminders.registry import Due, RuleContext, Text, once, rule, step


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def _tranches(ctx: RuleContext, keys: tuple[str, ...], status: str, date_column, *, lapsed: bool = False):
    """Tranches in `status` of active contracts whose date lies in the window of any of the rules `keys`;
    with `lapsed`, also those withheld because their rectification deadline passed (the contract may have
    closed with it). Each rule then keeps the rows in its own window (_hits)."""
    from grants.calls.models import Call
    from grants.contracts.models import Contract, Tranche

    windows = [ctx.window(key) for key in keys]
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    which = sa.and_(Tranche.status == status, Contract.status == "active")
    if lapsed:
        which = sa.or_(which, sa.and_(Tranche.status == "withheld", Tranche.rectify_lapsed_at.is_not(None),
                                      Contract.status.in_(("active", "completed"))))
    return db.session.execute(
        sa.select(Tranche.id, Tranche.name, Tranche.status, Tranche.withheld_fen, date_column.label("due_on"),
                  Contract.id.label("contract_id"), Contract.project_name, Contract.organization_id,
                  Contract.call_id, Call.host_unit_id)
        .join(Contract, Contract.id == Tranche.contract_id).join(Call, Call.id == Contract.call_id)
        .where(which, date_column.is_not(None),
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


REPORT_RULES = ("report_due", "report_overdue")


def _reports_due(ctx: RuleContext):
    """Tranches whose report is still due, read once per pass for both report rules: the escalation's window
    lies inside the organisation reminder's, and reading 150,000 tranches twice doubled the pass's cost."""
    return ctx.shared("reports_due", lambda: _tranches(ctx, REPORT_RULES, "due", _due_on()))


@rule("report_due", label=_l("进度报告提醒"),
      description=_l("中期、结项报告截止前及逾期后提醒该社会组织（提前天数填负数表示逾期后几天）。"),
      offsets=(14, 7, 1, -1, -7), allow_overdue=True)
def report_due(ctx: RuleContext):
    hits = _hits(ctx, "report_due", _reports_due(ctx))
    members = ctx.organization_members(row.organization_id for row, _h in hits)
    for row, hit in hits:
        compose = once(_report_text, ctx, row, hit.offset)
        for user_id, is_admin in members.get(row.organization_id, ()):
            yield Due(user_id, "tranche", row.id, hit.occurrence, hit.due_at,
                      DEADLINE.key if is_admin else DEADLINE_CC.key, compose)


@rule("report_overdue", label=_l("进度报告逾期督办"),
      description=_l("进度报告逾期未提交时，提醒该活动所属单位的项目主管督办（填 -1 表示逾期 1 天后提醒）。"),
      offsets=(-1,), allow_overdue=True)
def report_overdue(ctx: RuleContext):
    hits = _hits(ctx, "report_overdue", _reports_due(ctx))
    officers = ctx.unit_officers(row.host_unit_id for row, _h in hits)
    for row, hit in hits:
        compose = once(_report_overdue_text, ctx, row)
        for user_id in officers.get(row.host_unit_id, ()):
            yield Due(user_id, "tranche", row.id, hit.occurrence, hit.due_at, ESCALATION.key, compose)


def _report_overdue_text(ctx: RuleContext, row) -> Text:
    return Text(_("进度报告逾期未交：%(p)s", p=row.project_name),
                _("项目“%(p)s”的%(t)s报告应于 %(d)s 前提交，社会组织至今尚未提交，请督促。", p=row.project_name,
                  t=row.name, d=row.due_on.isoformat()), f"/contracts/{row.contract_id}")


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

    hits = _hits(ctx, "rectify_due", _tranches(ctx, ("rectify_due",), "rectifying", Tranche.rectify_due_on, lapsed=True))
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
    from grants.core.money import yuan

    link = f"/contracts/{row.contract_id}"
    if row.status == "withheld":
        return Text(_("逾期未整改，该期资金不予拨付：%(p)s", p=row.project_name),
                    _("项目“%(p)s”%(t)s的整改期限 %(d)s 已过，未提交整改报告；该期资金 %(w)s 已按协议不予拨付。",
                      p=row.project_name, t=row.name, d=row.due_on.isoformat(), w=yuan(row.withheld_fen or 0)), link)
    if offset <= 0:
        return Text(_("整改期限已过：%(p)s", p=row.project_name),
                    _("项目“%(p)s”%(t)s的整改期限 %(d)s 已过，未提交整改报告；该期资金可作不予拨付处理。",
                      p=row.project_name, t=row.name, d=row.due_on.isoformat()), link)
    return Text(_("整改期限将至：%(p)s", p=row.project_name),
                _("项目“%(p)s”%(t)s评估不合格，须在 %(d)s 前完成整改并重新提交报告，逾期该期资金不予拨付。",
                  p=row.project_name, t=row.name, d=row.due_on.isoformat()), link)


@step("rectify_lapsed")
def rectify_lapsed(at: dt.datetime) -> int:
    """A missed rectification deadline withholds the tranche (see services.withhold_lapsed_rectifications)."""
    from grants.assessments.services import withhold_lapsed_rectifications

    return withhold_lapsed_rectifications(at)
