"""Excel export of the staff list of progress reports (进度报告一览)."""
from __future__ import annotations

from grants.core.excel import list_workbook, yuan_cell
from grants.core.timeutil import format_local, now

HEADERS = [("协议编号", 18), ("项目名称", 30), ("社会组织", 28), ("拨付节点", 12), ("计划金额（元）", 14),
           ("报告截止日", 12), ("逾期天数", 8), ("节点状态", 10), ("报告状态", 10), ("报告提交时间", 18),
           ("整改期限", 12)]


def reports_workbook(tranches, latest: dict, today) -> bytes:
    def rows():
        for t in tranches:
            c, r = t.contract, latest.get(t.id)
            overdue = (today - t.due_on).days if t.due_on and t.status == "due" and t.due_on < today else ""
            yield [c.number, c.project_name, c.party_b_name, t.name, yuan_cell(t.planned_fen),
                   t.due_on.isoformat() if t.due_on else "", overdue, str(t.status_label),
                   str(r.status_label) if r else "",
                   format_local(r.submitted_at, "%Y-%m-%d %H:%M") if r and r.submitted_at else "",
                   t.rectify_due_on.isoformat() if t.rectify_due_on else ""]

    return list_workbook("进度报告", f"进度报告一览（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", HEADERS, rows(),
                         money_columns=(5,))
