"""Excel download of the dashboard (统计报表): one sheet per table of the page, amounts in yuan as
Decimal cells with two decimals."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from grants.core.excel import YUAN_FORMAT, new_workbook, workbook_bytes
from grants.core.timeutil import format_local, now

HEAD_FILL = PatternFill("solid", fgColor="DDE6F2")


def yuan(fen: int | None) -> Decimal:
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def filter_text(board, calls) -> str:
    f = board.filters
    parts = []
    if f.call_id:
        parts += [c.title for c in calls if c.id == f.call_id]
    if f.single_year:
        parts.append(_("%(y)s 年", y=f.single_year))
    elif f.year_from or f.year_to:
        parts.append(_("%(a)s–%(b)s 年", a=f.year_from or "", b=f.year_to or ""))
    if f.level:
        parts.append({"city": _("市级"), "district": _("区县级"), "street": _("街道级")}[f.level])
    return "、".join(parts) or _("全部年度")


def _sheet(wb, title: str, heading: str, headers: list[tuple[str, int]], rows: list[list], money_cols=()):
    ws = wb.create_sheet(title)
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=13)
    for col, (name, width) in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    for row in rows:
        ws.append(row)
        for col in money_cols:
            ws.cell(row=ws.max_row, column=col).number_format = YUAN_FORMAT
    ws.freeze_panes = "A3"
    return ws


def _figure_rows(groups: dict, label) -> list[list]:
    return [[label(key), g.received, g.eligible, g.funded, yuan(g.requested_fen), yuan(g.awarded_fen),
             yuan(g.paid_fen), yuan(g.withheld_fen), yuan(g.reclaimed_fen), yuan(g.net_paid_fen)]
            for key, g in groups.items()]


def dashboard_workbook(board, calls) -> bytes:
    wb = new_workbook()
    summary = wb.active
    summary.title = _("总览")
    scope = filter_text(board, calls)
    summary.append([_("公益创投统计报表（%(scope)s）", scope=scope)])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([_("导出时间：%(t)s（金额单位：元）", t=format_local(now(), "%Y-%m-%d %H:%M"))])
    t = board.total
    for name, value in (
            (_("收到申报（个）"), t.received), (_("形式审查通过（个）"), t.eligible), (_("获资助项目（个）"), t.funded),
            (_("申请资助金额"), yuan(t.requested_fen)), (_("立项资助金额"), yuan(t.awarded_fen)),
            (_("已拨付金额"), yuan(t.paid_fen)), (_("评估扣减金额"), yuan(t.withheld_fen)),
            (_("已追回金额"), yuan(t.reclaimed_fen)), (_("实际拨付净额"), yuan(t.net_paid_fen)),
            (_("申报组织（家）"), t.orgs_applied), (_("获资助组织（家）"), t.orgs_funded),
            (_("覆盖街道（个）"), t.streets), (_("覆盖社区（个）"), t.communities)):
        summary.append([name, value])
        if isinstance(value, Decimal):
            summary.cell(row=summary.max_row, column=2).number_format = YUAN_FORMAT
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 18

    headers = [(_("分组"), 20), (_("收到申报"), 10), (_("审查通过"), 10), (_("获资助"), 10), (_("申请金额（元）"), 16),
               (_("立项金额（元）"), 16), (_("已拨付（元）"), 16), (_("评估扣减（元）"), 16), (_("已追回（元）"), 16),
               (_("拨付净额（元）"), 16)]
    money = range(5, 11)
    _sheet(wb, _("按类别"), _("按项目类别（%(s)s）", s=scope), headers,
           _figure_rows(board.by_category, lambda k: k or _("未分类")), money)
    _sheet(wb, _("按区县"), _("按申报组织所在区县（%(s)s）", s=scope), headers,
           _figure_rows(board.by_district, lambda k: k or _("未填写区县")), money)
    yoy_headers = headers + [(_("申报组织（家）"), 12), (_("获资助组织（家）"), 12), (_("覆盖街道"), 10),
                             (_("覆盖社区"), 10)]
    _sheet(wb, _("逐年对比"), _("逐年对比（%(s)s）", s=scope), yoy_headers,
           [row + [g.orgs_applied, g.orgs_funded, g.streets, g.communities]
            for row, g in zip(_figure_rows(board.by_year, str), board.by_year.values())], money)
    _sheet(wb, _("按资金来源"), _("按资金来源（%(s)s）", s=scope),
           [(_("资金来源"), 18), (_("预算（元）"), 16), (_("立项（元）"), 16), (_("已拨付（元）"), 16),
            (_("评估扣减（元）"), 16), (_("已追回（元）"), 16), (_("拨付净额（元）"), 16)],
           [[s.label, yuan(s.budget_fen), yuan(s.awarded_fen), yuan(s.paid_fen), yuan(s.withheld_fen),
             yuan(s.reclaimed_fen), yuan(s.net_paid_fen)] for s in board.by_source], range(2, 8))
    _sheet(wb, _("绩效产出"), _("绩效目标与完成情况（%(s)s）", s=scope),
           [(_("指标"), 22), (_("承诺"), 14), (_("完成"), 14), (_("完成率（%）"), 12)],
           [[o.label, o.promised, o.achieved, o.pct] for o in board.outputs])
    _sheet(wb, _("结项等级"), _("已结项项目等级分布（%(s)s）", s=scope), [(_("等级"), 14), (_("项目数"), 10)],
           [[str(label), n] for _g, label, n in board.grade_rows])
    _sheet(wb, _("覆盖率"), _("%(y)s 年自办创投活动的下级单位", y=board.coverage_year),
           [(_("层级"), 10), (_("单位"), 28), (_("是否自办"), 10)],
           [[line.label, name, _("是") if ran else _("否")] for line in board.coverage for name, ran in line.units]
           + [[line.label, _("合计：%(c)s / %(t)s（目标 %(p)s%%）", c=line.covered, t=line.total, p=line.target_pct), ""]
              for line in board.coverage])
    return workbook_bytes(wb)
